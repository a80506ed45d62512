"""
The embedding-size sweep
========================

How the held-out kNN accuracy and silhouette of the contrastive embedding change with
``n_components``, measured with ``sk_embed.metrics.embedding_scores``.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_embed import EmbeddingClassifier
from sk_embed.metrics import embedding_scores

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

sizes = [1, 2, 4, 8, 32]
rows = []
for size in sizes:
    clf = EmbeddingClassifier("contrastive", n_components=size, random_state=0)
    clf.fit(X_train, y_train)
    rows.append(embedding_scores(clf, X_train, y_train, X_test, y_test))

fig, ax = plt.subplots(figsize=(5, 3.5))
for name in ("knn_accuracy", "silhouette"):
    ax.plot(sizes, [row[name] for row in rows], marker="o", label=name)
ax.set_xscale("log", base=2)
ax.set_xlabel("n_components")
ax.set_ylabel("held-out score")
ax.legend()
fig.tight_layout()

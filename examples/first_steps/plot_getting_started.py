"""
A first embedding
=================

The code of the getting-started page: ``contrastive`` with a 2-D embedding, fitted on
70% of scikit-learn's digits and drawn on the other 30%, with its held-out accuracy.
Each point is a held-out digit, coloured by its class; the large circles are the class
centers and the shaded regions show where each class is predicted.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_embed import EmbeddingClassifier
from sk_embed.plotting import plot_embedding

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
clf = EmbeddingClassifier("contrastive", n_components=2, random_state=0)
clf.fit(X_train, y_train)
print(f"held-out accuracy: {clf.score(X_test, y_test):.3f}")

fig, ax = plt.subplots(figsize=(4.5, 4.5), layout="constrained")
plot_embedding(clf, X_test, y_test, ax=ax, title="contrastive, held-out digits", fontsize=12)
plt.show()

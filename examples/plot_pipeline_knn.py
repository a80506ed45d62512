"""
An embedding as a Pipeline step
===============================

``EmbeddingClassifier`` is also a transformer: in a ``Pipeline`` it maps the inputs to
the embedded space, and the next step (here a k-nearest-neighbours classifier) works
there. Compared by 5-fold cross-validation with the same kNN on the pixels and on PCA.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_embed import EmbeddingClassifier

X, y = load_digits(return_X_y=True)
knn = KNeighborsClassifier(n_neighbors=5)
candidates = {
    "pixels (64-D)": knn,
    "PCA (10-D)": make_pipeline(StandardScaler(), PCA(10), knn),
    "contrastive (10-D)": make_pipeline(
        EmbeddingClassifier("contrastive", n_components=10, random_state=0), knn
    ),
}
scores = {name: cross_val_score(model, X, y, cv=5) for name, model in candidates.items()}

fig, ax = plt.subplots(figsize=(5, 3))
names = list(scores)
ax.barh(names, [scores[n].mean() for n in names], xerr=[scores[n].std() for n in names])
ax.set_xlim(0.85, 1.0)
ax.set_xlabel("5-NN accuracy, 5-fold mean")
fig.tight_layout()

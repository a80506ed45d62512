"""
Decision regions and class densities
====================================

``score_embedding`` gives the class scores of any point of the embedded space, which is
how the regions and, for techniques whose scores are log-densities (``soc``), the
density contours are drawn. Here by hand for one class, next to ``plot_embedding``.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sk_embed import EmbeddingClassifier
from sk_embed.plotting import plot_embedding

X, y = load_digits(return_X_y=True)
clf = EmbeddingClassifier("soc", n_components=2, random_state=0).fit(X, y)

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.5))
plot_embedding(clf, X, y, ax=left, title="soc: regions, centers, densities", fontsize=12)

Z = clf.transform(X)
xs, ys = (np.linspace(Z[:, i].min() - 1, Z[:, i].max() + 1, 150) for i in (0, 1))
grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
log_density = clf.score_embedding(grid)[:, 3].reshape(len(ys), len(xs))
right.contourf(xs, ys, log_density, levels=20, cmap="viridis")
right.scatter(*Z[y == 3].T, s=4, c="w")
right.set_title("log-density of class 3 (score_embedding)", fontsize=12)
for ax in (left, right):
    ax.set_xlabel("embedding dimension 1", fontsize=11)
    ax.set_ylabel("embedding dimension 2", fontsize=11)
    ax.tick_params(labelsize=10)
fig.tight_layout()

"""
Retrieval: the nearest labelled examples
========================================

In a designed embedded space, the nearest labelled examples of a new sample are
evidence for its class. ``kneighbors(X, reference)`` embeds both with ``transform`` and
returns, as scikit-learn does, the distances and the rows of ``reference`` nearest to
each sample. ``sk_embed.metrics.retrieval_scores`` scores the search with recall@k,
precision@1, R-precision and MAP@R, the scores of metric-learning benchmarks.

Here ``soc`` at 8-D is fitted on the training digits. Each row shows one held-out
digit, then its five nearest training digits; a red frame marks a neighbour of another
class. The first three rows are typical queries, the last three are queries whose
nearest neighbour has another class, the search's mistakes. One run (seed 0).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_embed import EmbeddingClassifier
from sk_embed.metrics import retrieval_scores

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
clf = EmbeddingClassifier("soc", n_components=8, random_state=0).fit(X_train, y_train)

scores = retrieval_scores(clf.transform(X_test), y_test, clf.transform(X_train), y_train)
print(
    "held-out digits against the training digits: "
    + ", ".join(f"recall@{k} {v:.3f}" for k, v in scores.recall_at_k.items())
    + f", MAP@R {scores.map_at_r:.3f}"
)

# Six queries: the first held-out digit of three classes, and the first three whose
# nearest training digit is of another class (the search's mistakes).
nearest = clf.kneighbors(X_test, X_train, n_neighbors=1, return_distance=False)[:, 0]
mistakes = np.flatnonzero(y_train[nearest] != y_test)
typical = [int(np.flatnonzero(y_test == digit)[0]) for digit in (0, 3, 5)]
queries = typical + [int(i) for i in mistakes[: 6 - len(typical)]]
distances, indices = clf.kneighbors(X_test[queries], X_train, n_neighbors=5)

fig, axes = plt.subplots(len(queries), 6, figsize=(7, 8.2))
for row, (query, found, far) in enumerate(zip(queries, indices, distances)):
    axes[row, 0].imshow(X_test[query].reshape(8, 8), cmap="gray_r")
    axes[row, 0].set_title(f"query: {y_test[query]}", fontsize=11)
    for col, (i, d) in enumerate(zip(found, far), start=1):
        ax = axes[row, col]
        ax.imshow(X_train[i].reshape(8, 8), cmap="gray_r")
        ax.set_title(f"{y_train[i]} ({d:.1f})", fontsize=10)
        if y_train[i] != y_test[query]:
            for side in ax.spines.values():
                side.set_color("red")
                side.set_linewidth(3)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Held-out digits and their 5 nearest training digits (label, distance)")
fig.tight_layout()
plt.show()

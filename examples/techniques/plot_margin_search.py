"""
The effect of the margin
========================

A ``GridSearchCV`` over ``loss__margin`` of the contrastive loss, scored twice: the
classifier's accuracy and the silhouette of the held-out embedding, both from the same
cross-validation folds. ``refit=False``: the search only compares the margins here,
so no model is fitted again on all the digits.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sk_embed import EmbeddingClassifier
from sk_embed.metrics import silhouette

X, y = load_digits(return_X_y=True)


def embedding_silhouette(estimator, X, y):
    """Silhouette of the embedded held-out fold (higher: tighter, better separated)."""
    return silhouette(estimator.transform(X), y)


margins = [0.25, 1.0, 4.0]
search = GridSearchCV(
    EmbeddingClassifier("contrastive", n_components=2, random_state=0),
    {"loss__margin": margins},
    scoring={"accuracy": "accuracy", "silhouette": embedding_silhouette},
    refit=False,
    cv=3,
).fit(X, y)

fig, ax = plt.subplots(figsize=(5, 3.5))
for name in ("accuracy", "silhouette"):
    ax.errorbar(
        margins,
        search.cv_results_[f"mean_test_{name}"],
        yerr=search.cv_results_[f"std_test_{name}"],
        marker="o",
        capsize=3,
        label=name,
    )
ax.set_xscale("log", base=2)
ax.set_xlabel("loss__margin")
ax.set_ylabel("3-fold mean")
best = margins[search.cv_results_["rank_test_accuracy"].argmin()]
ax.set_title(f"contrastive, 2-D; most accurate margin: {best}")
ax.legend()
fig.tight_layout()

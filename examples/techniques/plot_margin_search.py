"""
The effect of the margin
========================

A ``GridSearchCV`` over ``loss__margin`` of the contrastive loss, scored twice: the
classifier's accuracy and the silhouette of the held-out embedding, both from the same
cross-validation folds.
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


margins = [0.25, 0.5, 1.0, 2.0]
search = GridSearchCV(
    EmbeddingClassifier("contrastive", n_components=2, random_state=0),
    {"loss__margin": margins},
    scoring={"accuracy": "accuracy", "silhouette": embedding_silhouette},
    refit="accuracy",
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
ax.set_title(f"contrastive, 2-D; best margin {search.best_params_['loss__margin']}")
ax.legend()
fig.tight_layout()

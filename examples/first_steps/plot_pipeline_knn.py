"""
An embedding as a Pipeline step
===============================

``EmbeddingClassifier`` is also a transformer: in a ``Pipeline`` it maps the inputs to
the embedded space, and the next step (here a k-nearest-neighbours classifier) works
there. Compared by 3-fold cross-validation with the same kNN on the 64 pixels, and on
PCA and the embedding at the same sizes, 10-D and 2-D.

What to expect on these digits: 5-NN on the raw pixels is already about 0.96, since the
classes of 8x8 digits lie well apart in pixel space, and no 10-D space beats it here.
What the embedding gives is the same neighbours in far fewer dimensions: at 10-D it
stays within one or two points of the pixels where PCA loses several, and at 2-D, where
PCA keeps little, it still classifies most digits. That is what makes it useful for
a fast neighbour search, a plot, or a model downstream that needs few features.
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
candidates = {"pixels (64-D)": knn}
for dim in (10, 2):
    candidates[f"PCA ({dim}-D)"] = make_pipeline(StandardScaler(), PCA(dim), knn)
    candidates[f"contrastive ({dim}-D)"] = make_pipeline(
        EmbeddingClassifier("contrastive", n_components=dim, random_state=0), knn
    )
scores = {name: cross_val_score(model, X, y, cv=3) for name, model in candidates.items()}
for name, score in scores.items():
    print(f"{name:18s} {score.mean():.3f} ± {score.std():.3f}")

# %%
# The bars are the 3-fold means, the lines their standard deviation; the axis starts at
# 0, so the lengths compare.

fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
names = list(scores)[::-1]
ax.barh(names, [scores[n].mean() for n in names], xerr=[scores[n].std() for n in names])
ax.set_xlim(0, 1)
ax.set_xlabel("5-NN accuracy, 3-fold mean")
plt.show()

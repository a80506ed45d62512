"""
Where new classes land: forward-compatible training
===================================================

``soc`` at 2-D, fitted on digits 0-5 of the training split (the protocol of
``benchmarks/new_classes.py``), then grown with ``add_classes`` from five training
samples of each of 6-9 (the encoder stays frozen). Each panel draws the held-out
samples of all ten digits in the embedding after ``add_classes``, with the grown
model's decision regions and SOC's density contours.

With the defaults the six known classes fill the plane and the new digits fall between
and onto them. With ``reserve_classes=15`` (virtual classes trained on mixes of two
known classes, dropped after training) the known classes sit further out and apart, the
middle is left to the mixes, and 6-9 take it. At 2-D ``reconstruction`` does not help:
two dimensions cannot keep what the decoder asks for, and the known classes loosen so
much that the new classes would take a large share of their training samples.
``add_classes`` then lowers the new classes' scores and says so (printed below): the
known digits keep most of their accuracy, and 6-9 are rarely predicted (their regions
shrink); ``add_classes(..., on_damage="ignore")`` would add them at full strength. The
panels' titles give this run's accuracy on the new and on the known digits.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from sk_embed import EmbeddingClassifier, datasets
from sk_embed.plotting import plot_embedding

KNOWN = 6  # digits 0-5 are trained on, 6-9 are added
VARIANTS = {
    "defaults": {},
    "reserve_classes=15": {"reserve_classes": 15},
    "both options": {"reserve_classes": 15, "reconstruction": 10.0},
}

d = datasets.digits()  # make demo's 70/30 stratified split, seed 0
X_train, X_test = d.X_train.reshape(len(d.X_train), -1), d.X_test.reshape(len(d.X_test), -1)
y_train, y_test = d.y_train, d.y_test
known, new = y_train < KNOWN, y_test >= KNOWN
rng = np.random.default_rng(0)
few = np.concatenate([rng.choice(np.flatnonzero(y_train == c), 5, False) for c in range(6, 10)])

# Text at 13 pt and the legend at 14.5 stay readable when the 11-inch figure is shrunk
# to the page's column (the legend at 9 pt or more).
fig, axes = plt.subplots(1, len(VARIANTS), figsize=(3.6 * len(VARIANTS), 4.4))
for ax, (name, options) in zip(axes, VARIANTS.items()):
    clf = EmbeddingClassifier("soc", n_components=2, random_state=0, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning would say nothing new here
        clf.fit(X_train[known], y_train[known])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.add_classes(X_train[few], y_train[few])
    for warning in caught:  # what add_classes says, in its first sentence
        print(f"{name}: {str(warning.message).split('. ')[0]}.")
    title = (
        f"soc, {name}\nnew 6-9: {clf.score(X_test[new], y_test[new]):.2f}, "
        f"known 0-5: {clf.score(X_test[~new], y_test[~new]):.2f}"
    )
    plot_embedding(clf, X_test, y_test, ax=ax, title=title, fontsize=13)

colours = plt.get_cmap("tab10")  # plot_embedding's colours, in the order of classes_
handles = [
    Line2D([], [], ls="", marker="o", color=colours(c), label=f"{c}" + " (new)" * (c >= KNOWN))
    for c in range(10)
]
axes[-1].legend(
    handles=handles,
    title="digit",
    loc="center left",
    bbox_to_anchor=(1.0, 0.5),
    fontsize=14.5,
    title_fontsize=14.5,
)
fig.tight_layout()

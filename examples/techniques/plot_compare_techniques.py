"""
Comparing techniques in 2-D
===========================

One technique of each family shapes the embedded space of the same network: the
softmax classifier, an angular margin (``cosface``), the center loss, two metric losses
(``contrastive``, ``triplet``), fixed targets (``regression``) and self-organizing
Gaussian classes (``soc``). Each is fitted on the digits training split of ``make demo``
(70/30, stratified, seed 0) and drawn on the held-out split: the decision regions, the
class centers and, for ``soc``, the class densities. The table is one run (seed 0) of
the code of ``make demo`` (:func:`sk_embed.benchmark.run`); the benchmarks page gives
the mean and spread over three seeds, and a single run of some techniques at 2-D moves
by a few points with the seed or the machine. The other four techniques are in
:ref:`the angular-margin example
<sphx_glr_auto_examples_techniques_plot_angular_margins.py>`.
"""

import matplotlib.pyplot as plt

from sk_embed import benchmark
from sk_embed.plotting import plot_comparison, plot_embedding

losses = ["softmax", "cosface", "center", "contrastive", "triplet", "regression", "soc"]
rows, models = benchmark.run(losses=losses, dims=[2], baselines=False, keep_models=True)
# Held-out scores of this run: the technique's own accuracy, the 5-NN accuracy and the
# silhouette of the embedding, and MAP@R (retrieval against the training digits).
print(f"{'technique':<20}{'accuracy':>9}{'5-NN':>7}{'silhouette':>11}{'MAP@R':>7}")
for row in rows:
    scores = [row[c] for c in ("accuracy", "knn_accuracy", "silhouette", "map_at_r")]
    print(f"{row['method']:<20}" + "".join(f"{v:>{w}.3f}" for v, w in zip(scores, (9, 7, 11, 7))))

# %%
# One panel per technique, held-out samples coloured by class; each title carries the
# technique's held-out accuracy. The 10-inch figure is shown shrunk to the page's
# column: text at 16 pt keeps the legend at 9 pt or more there.
accuracy = {row["method"]: row["accuracy"] for row in rows}
panels = {
    ("digits", f"{method}\n{accuracy[method]:.3f}"): model
    for (_, method, _, _), model in models.items()
}
fig = plot_comparison(panels, ncols=3, fontsize=16)

# %%
# The families one by one
# -----------------------
#
# The same fitted models, one family at a time.
fitted = {method: model for (_, method, _, _), model in models.items()}


def draw(*methods):
    """The held-out digits in the 2-D space of each technique named, side by side."""
    fig, axes = plt.subplots(
        1, len(methods), figsize=(4.4 * len(methods), 4.6), layout="constrained", squeeze=False
    )
    for ax, method in zip(axes[0], methods):
        model, X, y = fitted[method]
        title = f"{method}, accuracy {accuracy[method]:.3f}"
        plot_embedding(model, X, y, ax=ax, title=title, fontsize=13)


# %%
# **The softmax classifier** scores a sample by its dot product with each class's weight
# vector, so a class is a direction: the classes fan out as rays from the origin, and a
# sample sits further out the surer the classifier is. Nothing asks a class to be
# compact, hence its low silhouette.
draw("softmax")

# %%
# **An angular margin** (``cosface``; ``arcface`` and ``sphereface`` alike) normalizes
# the embedding and the class weights: every sample lies on the unit circle, where it
# is scored by its angle to each class direction, and training asks a sample's own
# class to beat the others by a margin. The classes become arcs with gaps between them.
draw("cosface")

# %%
# **The center loss** adds to softmax a pull of each sample toward a learned center of
# its class: the classes keep softmax's directions but contract into clusters around
# their centers.
draw("center")

# %%
# **The metric losses** have no classifier while they train. ``contrastive`` pulls
# pairs of the same class together and pushes pairs of different classes at least a
# margin apart; ``triplet`` asks an anchor to be nearer a sample of its class than one
# of another class, by a margin. The classes become round, separate clusters; a
# class's center is its mean training embedding, and ``predict`` takes the nearest.
draw("contrastive", "triplet")

# %%
# **Fixed targets** (``regression``) place one point per class before training (spread
# evenly, on a circle in 2-D) and regress each sample's embedding onto its class's
# point: the classes sit where they were put.
draw("regression")

# %%
# **Self-organizing class embeddings** (``soc``) make each class a Gaussian whose mean
# is learned: the class scores are log-densities (the contours), and the means arrange
# themselves during training. The density also says how much a sample looks like any
# known class, the open-set score.
draw("soc")

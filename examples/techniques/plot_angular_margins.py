"""
Softmax variants and angular margins in 2-D
===========================================

The softmax family on the digits split of ``make demo``: the plain softmax classifier,
its normalized form (``||W_j|| = 1, b_j = 0``: classes are directions), the three
angular margins (``cosface``, ``arcface``, ``sphereface``: embeddings on the unit
circle, each class an arc kept apart from its neighbours by the margin) and
``virtual_softmax`` (a virtual negative class that pushes the real ones apart). The
margin is ``loss__margin``; :ref:`the margin example
<sphx_glr_auto_examples_techniques_plot_margin_search.py>` searches it.
"""

from sk_embed import benchmark
from sk_embed.plotting import plot_comparison

losses = ["softmax", "normalized_softmax", "cosface", "arcface", "sphereface", "virtual_softmax"]
rows, models = benchmark.run(losses=losses, dims=[2], baselines=False, keep_models=True)
# Held-out scores of this run: the technique's own accuracy, the 5-NN accuracy and the
# silhouette of the embedding, and MAP@R (retrieval against the training digits).
print(f"{'technique':<20}{'accuracy':>9}{'5-NN':>7}{'silhouette':>11}{'MAP@R':>7}")
for row in rows:
    scores = [row[c] for c in ("accuracy", "knn_accuracy", "silhouette", "map_at_r")]
    print(f"{row['method']:<20}" + "".join(f"{v:>{w}.3f}" for v, w in zip(scores, (9, 7, 11, 7))))

# %%
# Softmax and virtual softmax spread the classes as rays from the origin; the angular
# techniques put every sample on the circle (drawn), where the arcs are the classes.
accuracy = {row["method"]: row["accuracy"] for row in rows}
panels = {
    ("digits", f"{method}\n{accuracy[method]:.3f}"): model
    for (_, method, _, _), model in models.items()
}
# Text at 16 pt keeps the legend at 9 pt or more when the figure is shrunk to the page.
fig = plot_comparison(panels, ncols=3, fontsize=16)

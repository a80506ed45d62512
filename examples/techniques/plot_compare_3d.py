"""
Techniques in 3-D
=================

Six techniques with a third embedding dimension, on the digits split of ``make demo``.
With the room of a third axis, the angular techniques (``cosface``) spread the classes
over the sphere, and the metric and fixed-target techniques pull each class into a
tight cluster. Drag-rotating needs an interactive backend: ``plt.show()`` at the end.
"""

from sk_embed import benchmark
from sk_embed.plotting import plot_comparison

losses = ["softmax", "cosface", "center", "contrastive", "regression", "soc"]
rows, models = benchmark.run(losses=losses, dims=[3], baselines=False, keep_models=True)
# Held-out scores of this run: the technique's own accuracy, the 5-NN accuracy and the
# silhouette of the embedding, and MAP@R (retrieval against the training digits).
print(f"{'technique':<20}{'accuracy':>9}{'5-NN':>7}{'silhouette':>11}{'MAP@R':>7}")
for row in rows:
    scores = [row[c] for c in ("accuracy", "knn_accuracy", "silhouette", "map_at_r")]
    print(f"{row['method']:<20}" + "".join(f"{v:>{w}.3f}" for v, w in zip(scores, (9, 7, 11, 7))))

# %%
accuracy = {row["method"]: row["accuracy"] for row in rows}
panels = {
    ("digits", f"{method}\n{accuracy[method]:.3f}"): model
    for (_, method, _, _), model in models.items()
}
# Two panels a line, and text at 14 pt: the legend stays at 9 pt or more when the figure
# is shrunk to the page's column.
fig = plot_comparison(panels, ncols=2, fontsize=14)

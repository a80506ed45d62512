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
columns = ["method", "accuracy", "knn_accuracy", "silhouette", "map_at_r"]
print(benchmark.to_markdown(rows, columns))

# %%
accuracy = {row["method"]: row["accuracy"] for row in rows}
panels = {
    ("digits", f"{method}, {accuracy[method]:.3f}"): model
    for (_, method, _, _), model in models.items()
}
fig = plot_comparison(panels, ncols=3)

"""
What a practitioner would try instead: PCA, LDA and NCA
=======================================================

The 2-D projections of labelled data that scikit-learn gives, fitted on standardized
rows of the same digits split as ``make demo`` and scored by the same code
(:func:`sk_embed.benchmark.run`, one seed; the benchmarks page has three); sk-embed's
``contrastive`` technique is drawn next to them. UMAP has :ref:`its own example
<sphx_glr_auto_examples_techniques_plot_umap.py>`.
"""

from sk_embed import benchmark
from sk_embed.plotting import plot_comparison

rows, models = benchmark.run(
    losses=["contrastive"], dims=[2], baselines=["PCA", "LDA", "NCA"], keep_models=True
)
columns = ["method", "knn_accuracy", "silhouette", "map_at_r", "fit_seconds"]
print(benchmark.to_markdown(rows, columns))

# %%
# The baselines have no class centers of their own: each drawn center is the mean of a
# class's held-out samples, and there are no decision regions. NCA's panel is stretched
# by one far sample.
panels = {("digits", method): model for (_, method, _, _), model in models.items()}
fig = plot_comparison(panels, ncols=2)

"""
What a practitioner would try instead
=====================================

The 2-D pictures of labelled data that scikit-learn and umap-learn give: PCA, LDA,
NCA and supervised UMAP, fitted on the same digits split as ``make demo`` and scored
by the same code (:func:`sk_embed.benchmark.run`), so the numbers are the demo's.
Compare them with the techniques' table in :ref:`the 2-D comparison
<sphx_glr_auto_examples_plot_compare_techniques.py>`: ``contrastive`` reaches 0.976
kNN accuracy and a silhouette of 0.760 there. UMAP needs ``pip install
'sk-embed[umap]'`` (the ``dev`` extra has it); without it its row is left out.
"""

from sk_embed import benchmark
from sk_embed.plotting import plot_comparison

names = [name for name in ("PCA", "LDA", "NCA", "UMAP") if name in benchmark.BASELINES]
rows, models = benchmark.run(losses=[], dims=[2], baselines=names, keep_models=True)
columns = ["method", "knn_accuracy", "silhouette", "map_at_r", "fit_seconds"]
print(benchmark.to_markdown(rows, columns))

# %%
# The baselines have no class centers of their own: each drawn center is the mean of a
# class's held-out samples, and there are no decision regions.
panels = {("digits", method): model for (_, method, _, _), model in models.items()}
fig = plot_comparison(panels, ncols=2)

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
# Held-out scores of this run: 5-NN accuracy, silhouette and MAP@R.
print(f"{'method':<14}{'5-NN':>7}{'silhouette':>11}{'MAP@R':>7}")
for row in rows:
    scores = [row[c] for c in ("knn_accuracy", "silhouette", "map_at_r")]
    print(f"{row['method']:<14}" + "".join(f"{v:>{w}.3f}" for v, w in zip(scores, (7, 11, 7))))

# %%
# The baselines have no class centers of their own: each drawn center is the mean of a
# class's held-out samples, and there are no decision regions. NCA's panel is stretched
# by one far sample.
panels = {("digits", method): model for (_, method, _, _), model in models.items()}
fig = plot_comparison(panels, ncols=2, fontsize=11)  # the legend at 9 pt or more

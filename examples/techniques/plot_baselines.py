"""
What a practitioner would try instead: PCA, LDA, NCA and UMAP
=============================================================

The 2-D projections of labelled data that scikit-learn gives (PCA, LDA and NCA, fitted
on standardized rows) and supervised UMAP (umap-learn, given the labels, on the rows as
they are), fitted on the digits split of ``make demo`` and scored by the same code
(:func:`sk_embed.benchmark.run`, one seed; the benchmarks page has three); sk-embed's
``contrastive`` technique is drawn next to them. Over the demo's three seeds supervised
UMAP reaches 0.973 ± 0.001 kNN accuracy and a silhouette of 0.767 ± 0.028,
``contrastive`` 0.973 ± 0.003 and 0.768 ± 0.005; and ``contrastive`` also classifies,
gives open-set scores and takes new classes. UMAP needs the ``umap`` extra
(``pip install -e ".[umap]"`` in a clone; the ``dev`` extra has it).
"""

from sk_embed import benchmark
from sk_embed.plotting import plot_comparison

rows, models = benchmark.run(
    losses=["contrastive"], dims=[2], baselines=["PCA", "LDA", "NCA", "UMAP"], keep_models=True
)
# Held-out scores of this run: 5-NN accuracy, silhouette and MAP@R.
print(f"{'method':<14}{'5-NN':>7}{'silhouette':>11}{'MAP@R':>7}")
for row in rows:
    scores = [row[c] for c in ("knn_accuracy", "silhouette", "map_at_r")]
    print(f"{row['method']:<14}" + "".join(f"{v:>{w}.3f}" for v, w in zip(scores, (7, 11, 7))))

# %%
# Only ``contrastive`` has class centers and decision regions of its own; each center
# drawn for the others is the mean of a class's held-out samples. PCA keeps little of
# the classes in two dimensions, LDA and NCA separate some of them, and UMAP and
# ``contrastive`` draw tight, separate clusters. NCA's panel is stretched by one far
# sample.
panels = {("digits", method): model for (_, method, _, _), model in models.items()}
# Text at 15 pt keeps the legend at 9 pt or more when the figure is shrunk to the page.
fig = plot_comparison(panels, ncols=3, fontsize=15)

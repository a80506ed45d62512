"""
Against UMAP
============

UMAP (umap-learn) is what many reach for to draw labelled data in 2-D. Supervised UMAP
(given the labels) on the digits split of ``make demo``, scored by the same code
(:func:`sk_embed.benchmark.run`, one seed), next to sk-embed's ``contrastive``. Over
the demo's three seeds supervised UMAP reaches 0.973 ± 0.001 kNN accuracy and a
silhouette of 0.767 ± 0.028, ``contrastive`` 0.973 ± 0.003 and 0.768 ± 0.005; and
``contrastive`` also classifies, gives open-set scores and takes new classes. UMAP
needs ``pip install 'sk-embed[umap]'`` (the ``dev`` extra has it).
"""

from sk_embed import benchmark
from sk_embed.plotting import plot_comparison

rows, models = benchmark.run(losses=["contrastive"], dims=[2], baselines=["UMAP"], keep_models=True)
# Held-out scores of this run: 5-NN accuracy, silhouette and MAP@R.
print(f"{'method':<14}{'5-NN':>7}{'silhouette':>11}{'MAP@R':>7}")
for row in rows:
    scores = [row[c] for c in ("knn_accuracy", "silhouette", "map_at_r")]
    print(f"{row['method']:<14}" + "".join(f"{v:>{w}.3f}" for v, w in zip(scores, (7, 11, 7))))

# %%
# Both draw tight, separate clusters. UMAP has no classifier and no class centers: its
# drawn centers are the class means of the drawn samples, and it has no regions.
panels = {("digits", method): model for (_, method, _, _), model in models.items()}
fig = plot_comparison(panels, ncols=2, fontsize=11)  # the legend at 9 pt or more

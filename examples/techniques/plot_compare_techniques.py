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
:ref:`the angular-margin example <sphx_glr_auto_examples_techniques_plot_angular_margins.py>`.
"""

from sk_embed import benchmark
from sk_embed.plotting import plot_comparison

losses = ["softmax", "cosface", "center", "contrastive", "triplet", "regression", "soc"]
rows, models = benchmark.run(losses=losses, dims=[2], baselines=False, keep_models=True)
columns = ["method", "accuracy", "knn_accuracy", "silhouette", "map_at_r"]
print(benchmark.to_markdown(rows, columns))

# %%
# One panel per technique, held-out samples coloured by class; each title carries the
# technique's held-out accuracy.
accuracy = {row["method"]: row["accuracy"] for row in rows}
panels = {
    ("digits", f"{method}, {accuracy[method]:.3f}"): model
    for (_, method, _, _), model in models.items()
}
fig = plot_comparison(panels)

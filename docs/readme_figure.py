"""Draw the README's figure, the one image committed to the repository.

The README is read where the site is not built (the repository page, the package
index), so its figure cannot come from the gallery like every other one. Four
techniques at 2-D on the digits split of ``make demo`` (seed 0), drawn on the held-out
part. Run it after a change that moves these embeddings::

    .venv/bin/python docs/readme_figure.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from sk_embed import benchmark  # noqa: E402
from sk_embed.plotting import plot_comparison  # noqa: E402

OUT = Path(__file__).parent / "_static" / "readme_embeddings.png"
LOSSES = ["softmax", "cosface", "contrastive", "soc"]


def main():
    rows, models = benchmark.run(losses=LOSSES, dims=[2], baselines=False, keep_models=True)
    accuracy = {row["method"]: row["accuracy"] for row in rows}
    panels = {
        ("digits", f"{method}, {accuracy[method]:.3f}"): model
        for (_, method, _, _), model in models.items()
    }
    fig = plot_comparison(panels, ncols=4, panel_size=2.4, resolution=120)
    fig.savefig(OUT, dpi=80)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()

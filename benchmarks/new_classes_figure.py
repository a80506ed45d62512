"""Where new classes land in a 2-D embedding, with and without forward-compatible
training: docs/figures/new_classes_2d.png.

Digits, the protocol of benchmarks/new_classes.py (fit on classes 0-5 of the training
split, ``add_classes`` with 5 training samples of each of 6-9, draw 0), seed 0; each
panel draws the test samples of all ten classes in the embedding after ``add_classes``,
with the decision regions of the grown model.

    python benchmarks/new_classes_figure.py [--loss contrastive] [--out docs/figures]
"""

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from new_classes import KNOWN, VARIANTS, _draws, _split  # noqa: E402

from sk_embed import EmbeddingClassifier  # noqa: E402
from sk_embed.plotting import plot_embedding  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loss", default="contrastive")
    parser.add_argument("--variants", nargs="+", default=["defaults", "both"])
    parser.add_argument("--out", default="docs/figures")
    args = parser.parse_args()
    X_train, X_test, y_train, y_test = _split()
    known = y_train < KNOWN
    few = next(_draws(y_train, 5, 1))
    fig, axes = plt.subplots(1, len(args.variants), figsize=(5.2 * len(args.variants), 5))
    for ax, variant in zip(axes, args.variants):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = EmbeddingClassifier(args.loss, 2, random_state=0, **VARIANTS[variant])
            clf.fit(X_train[known], y_train[known])
        clf.add_classes(X_train[few], y_train[few])
        new = y_test >= KNOWN
        options = ", ".join(f"{k}={v}" for k, v in VARIANTS[variant].items()) or "defaults"
        plot_embedding(clf, X_test, y_test, ax=ax, title=(
            f"{args.loss}, {options}\nnew classes 6-9: {clf.score(X_test[new], y_test[new]):.2f}"
            f", known 0-5: {clf.score(X_test[~new], y_test[~new]):.2f}"))  # fmt: skip
        ax.set_xlabel("embedding dimension 1")
        ax.set_ylabel("embedding dimension 2")
    colours = plt.get_cmap("tab10")  # plot_embedding's colours, in the order of classes_
    handles = [
        Line2D([], [], ls="", marker="o", color=colours(c), label=f"{c}" + " (new)" * (c >= KNOWN))
        for c in range(10)
    ]
    axes[-1].legend(handles=handles, title="digit", loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "new_classes_2d.png", dpi=110)
    print(f"wrote {out / 'new_classes_2d.png'}")


if __name__ == "__main__":
    main()

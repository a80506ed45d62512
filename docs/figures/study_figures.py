"""Draw the figures of the benchmark and study pages from the pages' own tables.

Each figure is drawn from a Markdown table of docs/<page>.md, read when this script
runs, so a figure shows exactly the numbers of the table beside it. The numbers were
measured by the scripts in benchmarks/ that each page names (each function below says
which command); measuring them again takes minutes to hours on two cores, drawing them
takes seconds:

    python docs/figures/study_figures.py          # writes docs/figures/*.png
    python docs/figures/study_figures.py --out DIR

After a page's table is measured again, run this script and commit the figures.
"""

import argparse
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

DOCS = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

#: Width of a figure in inches, and its type sizes. A page's column is about 720 pixels
#: wide at 1400: an 8-inch figure shown there keeps its legends (12 pt) at about 11 pt
#: and its other text larger, 9 pt or more for the widest figure (9.5 inches).
WIDTH = 8.0
plt.rcParams.update(
    {
        "font.size": 13,
        "axes.titlesize": 14,
        "axes.labelsize": 13,
        "xtick.labelsize": 12,
        "ytick.labelsize": 12,
        "legend.fontsize": 12,
        "legend.title_fontsize": 12,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "savefig.dpi": 160,
    }
)

#: The techniques in their registration order, each with one colour on every figure.
TECHNIQUES = [
    "softmax",
    "normalized_softmax",
    "cosface",
    "arcface",
    "sphereface",
    "virtual_softmax",
    "center",
    "contrastive",
    "triplet",
    "regression",
    "soc",
]
COLOURS = dict(zip(TECHNIQUES, [f"C{i}" for i in range(10)] + ["#393b79"]))  # indigo
BASELINE_COLOUR = "0.2"
#: The reference methods (scikit-learn's and UMAP), grey, one open marker each.
BASELINE_MARKERS = {"PCA": "s", "LDA": "v", "NCA": "P", "UMAP": "X", "UMAP (unsupervised)": "D"}


# --------------------------------------------------------------------------------------
# Reading a page's tables


def tables(page, heading):
    """Every Markdown table in the section of docs/<page>.md under ``heading`` (up to
    the next heading of the same or a higher level), each a list of ``{column: cell}``
    rows, in the order they appear."""
    lines = (DOCS / f"{page}.md").read_text().splitlines()
    start = next(
        i for i, line in enumerate(lines) if re.fullmatch(r"#+ " + re.escape(heading), line)
    )
    level = len(lines[start].split()[0])
    found, current = [], None
    for line in lines[start + 1 :]:
        head = re.match(r"(#+) ", line)
        if head and len(head.group(1)) <= level:
            break
        if not line.startswith("|"):
            current = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if current is None:
            current = {"header": cells, "rows": []}
            found.append(current)
        elif not set("".join(cells)) <= set("-: "):
            current["rows"].append(dict(zip(current["header"], cells)))
    if not found:
        raise ValueError(f"docs/{page}.md: no table under {heading!r}")
    return [table["rows"] for table in found]


def number(cell):
    """The first number of a cell (``"0.948 ± 0.004"`` -> 0.948), or None (``"–"``)."""
    match = re.search(r"-?\d[\d,]*\.?\d*(?:e-?\d+)?", cell)
    return float(match.group().replace(",", "")) if match else None


def mean_sd(cell):
    """``"0.948 ± 0.004"`` -> ``(0.948, 0.004)``; a cell without a spread has sd 0."""
    mean, _, sd = cell.partition("±")
    return number(mean), (number(sd) if sd else 0.0)


def save(fig, path):
    """Write ``fig`` as a PNG of 256 colours: a third of the size, no visible change."""
    fig.savefig(path)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)


def name_of(cell):
    return cell.replace("`", "").strip()


# --------------------------------------------------------------------------------------
# The figures, one function each: (page, file name, function)


def benchmarks_accuracy_silhouette(path):
    """docs/benchmarks.md's table (``sk-embed bench --dataset digits --losses all
    --dims 2 3 --seeds 0 1 2``): held-out 5-NN accuracy against silhouette, at 2-D and
    3-D, every technique and the baselines, mean ± sd over three seeds."""
    rows = tables("benchmarks", "Benchmarks")[0]
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 4.6), sharey=True, layout="constrained")
    for ax, dim in zip(axes, ("2", "3")):
        for row in (r for r in rows if r["dim"] == dim):
            name = row["method"]
            x, dx = mean_sd(row["silhouette"])
            y, dy = mean_sd(row["knn_accuracy"])
            ours = name in COLOURS
            ax.errorbar(
                x, y, xerr=dx, yerr=dy, fmt="o" if ours else BASELINE_MARKERS.get(name, "s"),
                ms=7 if ours else 8, color=COLOURS.get(name, BASELINE_COLOUR),
                mfc=None if ours else "white", capsize=2, label=name,
            )  # fmt: skip
        ax.set_title(f"{dim}-D embedding")
        ax.set_xlabel("silhouette (held out)")
        ax.set_ylim(0.5, 1.0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("5-NN accuracy (held out)")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    save(fig, path)


def robustness_scalings(path):
    """docs/robustness.md, "Four scalings of the same pixels" (``benchmarks/
    robustness.py --jobs 2 --parts scalings tabular sizes mechanism``): each method's
    held-out 5-NN accuracy on the same digits given as raw pixels, divided by 16,
    standardized, and times 100 plus 5, at 2-D and 10-D (means of 3 seeds)."""
    two, ten = tables("robustness", "Four scalings of the same pixels")[:2]
    scalings = {"raw": "o", "/16": "^", "standardized": "s", "x100+5": "D"}
    names = list(dict.fromkeys(r["method"] for r in two + ten))
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 5.6), sharey=True, layout="constrained")
    for ax, rows, dim in zip(axes, (two, ten), ("2-D", "10-D")):
        for row in rows:
            y = names.index(row["method"])
            values = [number(row[s].split("/")[1]) for s in scalings]
            ax.plot([min(values), max(values)], [y, y], color="0.8", lw=4, zorder=1)
            for (scaling, marker), value in zip(scalings.items(), values):
                ax.scatter(
                    value, y, marker=marker, s=36, zorder=2, label=scaling,
                    color=COLOURS.get(row["method"], BASELINE_COLOUR), edgecolor="k", lw=0.4,
                )  # fmt: skip
        ax.set_yticks(range(len(names)), names)
        ax.set_title(f"{dim} embedding")
        ax.set_xlabel("5-NN accuracy (held out)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()
    handles = [
        plt.Line2D([], [], ls="", marker=m, color="0.5", markeredgecolor="k", label=s)
        for s, m in scalings.items()
    ]
    fig.legend(handles=handles, title="input", loc="outside lower center", ncols=4)
    save(fig, path)


def robustness_rows(path):
    """docs/robustness.md, "Rows: time and accuracy against MLPClassifier"
    (``benchmarks/robustness.py --parts speed --repeats 2``, and at 10-D ``--parts
    speed --speed-sizes 5000 20000 --set n_components=10``): held-out accuracy and fit
    seconds against the training rows, the defaults at 2-D and 10-D next to
    scikit-learn's MLPClassifier on the same split."""
    two, ten = tables("robustness", "Rows: time and accuracy against `MLPClassifier`")[:2]
    fig, (acc, time) = plt.subplots(1, 2, figsize=(WIDTH, 4.2), layout="constrained")
    curves = [
        ("sk-embed, 2-D", two, "accuracy", "fit s", "C0", "o"),
        ("sk-embed, 10-D", ten, "accuracy", "fit s", "C2", "s"),
        ("MLPClassifier", two, "`MLPClassifier`", "`MLPClassifier` s", "k", "^"),
    ]
    for label, rows, score, seconds, colour, marker in curves:
        n = [number(r["n train"]) for r in rows]
        means, sds = zip(*(mean_sd(r[score]) for r in rows))
        acc.errorbar(n, means, yerr=sds, marker=marker, color=colour, capsize=2, label=label)
        time.plot(n, [number(r[seconds]) for r in rows], marker=marker, color=colour)
    sizes = [number(r["n train"]) for r in two]
    for ax in (acc, time):
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{int(n):,}" for n in sizes])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel("training rows")
        ax.grid(alpha=0.3)
    acc.set_ylabel("held-out accuracy")
    time.set_ylabel("fit seconds (2 cores)")
    time.set_yscale("log")
    time.set_yticks([1, 2, 5, 10, 20], ["1", "2", "5", "10", "20"])
    time.yaxis.set_minor_locator(plt.NullLocator())
    acc.legend(loc="lower right")
    save(fig, path)


def robustness_training_curve(path):
    """docs/robustness.md, the epoch table of the same section (``benchmarks/
    robustness.py --parts curve --speed-sizes 20000``, and ``--set
    lr_schedule=plateau``): held-out accuracy and learning rate every 5 epochs of one
    2-D fit on 14,000 rows, with the default schedule and with "plateau"."""
    rows = tables("robustness", "Rows: time and accuracy against `MLPClassifier`")[2]
    fig, (acc, lr) = plt.subplots(1, 2, figsize=(WIDTH, 3.8), layout="constrained")
    # the two runs are the same fit until epoch 20: "anneal" on top, larger, so both show
    styles = {"anneal": ("C0", "-", 9, 3), "plateau": ("C1", "--", 5, 2)}
    for schedule, (colour, line, size, order) in styles.items():
        kept = [r for r in rows if r[f"lr, {schedule}"]]
        epochs = [number(r["epoch"]) for r in kept]
        style = dict(marker="o", ms=size, color=colour, ls=line, zorder=order)
        acc.plot(
            epochs, [number(r[f"held-out accuracy, {schedule}"]) for r in kept],
            label=f'lr_schedule="{schedule}"', **style,
        )  # fmt: skip
        lr.plot(epochs, [float(r[f"lr, {schedule}"]) for r in kept], **style)
    acc.set_ylabel("held-out accuracy")
    lr.set_ylabel("learning rate")
    lr.set_yscale("log")
    for ax in (acc, lr):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    acc.legend(loc="lower right")
    save(fig, path)


def robustness_real_digits(path):
    """docs/robustness.md, "Real handwritten digits, and the cnn's dropout"
    (``benchmarks/robustness.py --parts augment --dims 2 --image-sets "mnist 5k"
    --image-max-epochs 0``, and ``--set backbone__dropout=0`` for the last column):
    every technique's held-out accuracy on 1,500 real 28x28 digits at 2-D, with and
    without shift augmentation, and without the cnn's dropout where measured (3 seeds)."""
    rows = tables("robustness", "Real handwritten digits, and the cnn's dropout")[0]
    columns = {
        "none": ("defaults", "C0", "o"),
        '`augment="shift"`': ('defaults, augment="shift"', "C1", "s"),
        "`backbone__dropout=0`, none": ("without dropout (backbone__dropout=0)", "0.45", "D"),
    }
    names = [name_of(r["technique"]) for r in rows]
    fig, ax = plt.subplots(figsize=(WIDTH, 5.2), layout="constrained")
    for offset, (column, (label, colour, marker)) in zip((-0.2, 0, 0.2), columns.items()):
        points = [
            (i + offset, *mean_sd(r[column].split("/")[0]))
            for i, r in enumerate(rows)
            if number(r[column]) is not None
        ]
        y, x, dx = zip(*points)
        ax.errorbar(
            x, y, xerr=dx, fmt=marker, color=colour, ms=7, capsize=2, label=label,
            mfc="white" if colour == "0.45" else colour,
        )  # fmt: skip
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("held-out accuracy, 2-D (mean ± sd over 3 seeds)")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, frameon=False)
    save(fig, path)


def open_set_tradeoff(path):
    """docs/open_set_study.md, "Training for new classes" (``benchmarks/new_classes.py
    --on-damage ignore --dims 64 --losses contrastive center soc cosface softmax
    regression --variants defaults reserve both``) and "How far new classes get without
    training for them" (``benchmarks/new_classes.py --on-damage ignore --dims 256
    --losses cosface ...``): the accuracy of new classes added from 5 samples each
    against the points of known-class accuracy they cost."""
    section = "Training for new classes: `reserve_classes` and `reconstruction`"
    rows = tables("open_set_study", section)[0]
    frontier = tables("open_set_study", "How far new classes get without training for them")[0]
    fig, ax = plt.subplots(figsize=(WIDTH, 6.2), layout="constrained")
    markers = {"defaults": "o", "reserve": "s", "both": "D"}
    by_technique = {}
    for row in rows:
        name, _, variant = row["loss"].partition(", ")
        if name.startswith("pixels"):
            continue
        by_technique.setdefault(name, []).append(
            (variant or "defaults", number(row["known drop, points (worst)"]),
             number(row["new-class acc. (worst)"]))
        )  # fmt: skip
    for name, points in by_technique.items():
        xs, ys = [p[1] for p in points], [p[2] for p in points]
        ax.plot(xs, ys, color=COLOURS[name], lw=1.5, alpha=0.6)
        for variant, x, y in points:
            ax.scatter(x, y, marker=markers[variant], s=60, color=COLOURS[name], zorder=3,
                       edgecolor="k", lw=0.4)  # fmt: skip
        left = name in ("soc", "center")  # clear of the pixels' star and of each other
        ax.annotate(
            name, (xs[-1], ys[-1]), xytext=(-8 if left else 7, 3), textcoords="offset points",
            ha="right" if left else "left",
        )  # fmt: skip
    cosface = [r for r in frontier if r["embedding"].startswith(("`cosface`, 256", "same"))]
    ax.plot(
        [number(r["known drop, points"]) for r in cosface],
        [number(r["new-class acc."]) for r in cosface],
        ls="--", color="0.5", marker=".", label="cosface 256-D: scale and margin varied",
    )  # fmt: skip
    pixels = frontier[0]
    ax.scatter(
        number(pixels["known drop, points"]), number(pixels["new-class acc."]),
        marker="*", s=260, color="k", zorder=4, label="raw pixels, nearest mean",
    )  # fmt: skip
    handles = [
        plt.Line2D([], [], ls="", marker=m, color="0.6", markeredgecolor="k", label=v)
        for v, m in markers.items()
    ]
    fig.legend(
        handles=handles + ax.get_legend_handles_labels()[0], loc="outside lower center",
        ncols=2, title="64-D: defaults, reserve_classes=15, both (+ reconstruction=10)",
    )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xticks([1, 2, 5, 10, 20, 50], ["1", "2", "5", "10", "20", "50"])
    ax.set_xlabel("known-class accuracy lost, points (log scale; left is better)")
    ax.set_ylabel("new-class accuracy, 5 samples each")
    ax.grid(alpha=0.3)
    save(fig, path)


def open_set_shots(path):
    """docs/open_set_study.md, "Shots curve, every technique" (``benchmarks/
    new_classes.py --curve --dims 32 --shots 1 5 20 --variants defaults reserve
    --jobs 2 --on-damage ignore``, then ``--variants both``): the accuracy of new
    classes against the samples given of each, every technique at 32-D with its
    defaults and with both options, next to nearest class mean on the pixels."""
    rows = tables("open_set_study", "Shots curve, every technique")[0]
    shots = [1, 5, 20]
    columns = ["1 shot", "5 shots", "20 shots"]
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH + 1.5, 4.6), sharey=True, layout="constrained")
    variants = {"defaults": "defaults", "reserve": "reserve_classes=15",
                "both": "+ reconstruction=10"}  # fmt: skip
    for ax, (variant, title) in zip(axes, variants.items()):
        for row in rows:
            label = name_of(row["embedding (32-D)"])
            name, _, kind = label.partition(", ")
            values = [number(row[c]) for c in columns]
            if label.startswith("raw pixels"):
                ax.plot(shots, values, color="k", lw=2.5, ls="--", label="raw pixels")
            elif name in COLOURS and (kind or "defaults") == variant:
                ax.plot(shots, values, marker="o", color=COLOURS[name], label=name)
        ax.set_title(title, fontsize=13)
        ax.set_xscale("log")
        ax.set_xticks(shots, [str(s) for s in shots])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel("samples per new class")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("new-class accuracy")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    save(fig, path)


def open_set_soc_size(path):
    """docs/open_set_study.md, "SOC: accuracy against the embedding size"
    (``benchmarks/soc_sweep.py``): held-out accuracy of soc and softmax against
    n_components, mean ± sd over three seeds."""
    rows = tables("open_set_study", "SOC: accuracy against the embedding size")[0]
    sizes = [number(r["n_components"]) for r in rows]
    fig, ax = plt.subplots(figsize=(WIDTH * 0.62, 3.8), layout="constrained")
    for name in ("soc", "softmax"):
        means, sds = zip(*(mean_sd(r[name]) for r in rows))
        ax.errorbar(sizes, means, yerr=sds, marker="o", capsize=3, color=COLOURS[name],
                    label=name)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(int(s)) for s in sizes])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_xlabel("n_components")
    ax.set_ylabel("held-out accuracy")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    save(fig, path)


def performance_loss_speed(path):
    """docs/performance.md, "Loss speed against pytorch-metric-learning"
    (``benchmarks/loss_speed.py``): milliseconds of one forward and backward pass of
    each loss, sk-embed's and pytorch-metric-learning's, on the same batch."""
    text = (DOCS / "performance.md").read_text()
    block = text.split("$ .venv/bin/python benchmarks/loss_speed.py", 1)[1].split("```")[0]
    rows = [
        re.match(r"(.+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", line.strip())
        for line in block.splitlines()
    ]
    rows = [m.groups() for m in rows if m]
    names = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(WIDTH * 0.8, 3.8), layout="constrained")
    y = range(len(rows))
    ax.barh([i - 0.2 for i in y], [float(r[1]) for r in rows], 0.4, label="sk-embed")
    ax.barh([i + 0.2 for i in y], [float(r[2]) for r in rows], 0.4, label="pytorch-metric-learning")
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ms per forward + backward\n(CPU, batch 256, 128-D, 100 classes)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper right")
    save(fig, path)


#: Every figure: its file name (docs/figures/<name>.png) and the function that draws it.
FIGURES = {
    "benchmarks_accuracy_silhouette": benchmarks_accuracy_silhouette,
    "robustness_scalings": robustness_scalings,
    "robustness_rows": robustness_rows,
    "robustness_training_curve": robustness_training_curve,
    "robustness_real_digits": robustness_real_digits,
    "open_set_tradeoff": open_set_tradeoff,
    "open_set_shots": open_set_shots,
    "open_set_soc_size": open_set_soc_size,
    "performance_loss_speed": performance_loss_speed,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the PNG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        draw(args.out / f"{name}.png")
        plt.close("all")
        print(args.out / f"{name}.png")


if __name__ == "__main__":
    main()

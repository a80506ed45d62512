"""The ``sk-embed`` command (also ``python -m sk_embed``)."""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path


def _write_rows(path, rows, columns):
    """``rows``' ``columns``, in order, as ``path``.csv and ``path``.json (NaN as null)."""
    rows = [{c: row[c] for c in columns} for row in rows]
    with open(f"{path}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    clean = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in rows
    ]
    Path(f"{path}.json").write_text(json.dumps(clean, indent=2) + "\n")


def _bench(args):
    from . import benchmark
    from .plotting import plot_comparison

    start = time.perf_counter()
    runs, models = benchmark.run(
        datasets=args.dataset,
        losses="all" if args.losses == ["all"] else args.losses,
        dims=args.dims,
        seeds=args.seeds,
        baselines=not args.no_baselines,
        backbone=args.backbone,
        max_epochs=args.max_epochs,
        data_dir=args.data_dir,
        progress=not args.quiet,
        keep_models="first_seed",
        n_jobs=args.jobs,
        threads=args.threads,
        retrieval=args.retrieval,
    )
    extra = benchmark.RETRIEVAL_SCORES if args.retrieval else []
    rows = benchmark.summarize(runs, columns=[*benchmark.SCORES, *extra])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = [*benchmark.SUMMARY_COLUMNS, *extra]
    columns = [c for name in summary for c in (name, f"{name}_std")]
    columns = [c for c in columns if c in rows[0]] if rows else summary
    _write_rows(out / "results", rows, columns)
    _write_rows(out / "runs", runs, [*benchmark.COLUMNS, *extra])
    table = benchmark.to_markdown(rows, summary)
    note = "" if args.no_baselines else benchmark.BASELINES_SKIPPED
    figures = []
    for dim in args.dims:
        panels = {
            (dataset, method): model
            for (dataset, method, d, seed), model in models.items()
            if d == dim
        }
        if panels and dim in (1, 2, 3):
            fig = plot_comparison(panels)
            name = f"comparison_{dim}d.png"
            fig.savefig(out / name, dpi=args.dpi)
            figures.append(name)
    spread = (
        f"mean ± standard deviation over the {len(args.seeds)} seeds"
        if len(args.seeds) > 1
        else "one seed, so no spread"
    )
    md = [
        "# sk-embed benchmark",
        "",
        f"datasets: {', '.join(args.dataset)}; dims: {', '.join(map(str, args.dims))}; "
        f"seeds: {', '.join(map(str, args.seeds))}; backbone: {args.backbone}; "
        f"max_epochs: {args.max_epochs or 'default'}. Scores on the held-out split, "
        f"{spread} (each seed's row is in runs.csv); `accuracy` is the technique's own "
        "prediction (LDA's classifier for LDA; the other baselines do not classify), the "
        "others score the embedding (kNN with k=5, retrieval against the training "
        f"embeddings). Figures: seed {args.seeds[0]}."
        + (
            " The query_ columns score retrieval among held-out samples: half of the "
            "test split (stratified, fixed) queries the other half."
            if args.retrieval
            else ""
        ),
        "",
        table,
        "",
        *([note, ""] if note else []),
        *[f"![{name}]({name})" for name in figures],
    ]
    (out / "results.md").write_text("\n".join(md) + "\n")
    print(table)
    if note:
        print(note)
    print(
        f"\nwrote {out}/results.csv, results.json, results.md, runs.csv, runs.json"
        + "".join(f", {f}" for f in figures)
        + f" in {time.perf_counter() - start:.0f} s"
    )


def _int_at_least(low):
    """An argparse type: an integer >= ``low``, or argparse's usage error."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below {low}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _backbone_name(text):
    """An argparse type: a backbone's name (a table entry, or timm:/torchvision:)."""
    from .backbones import BACKBONES, is_backbone_name

    if not is_backbone_name(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a backbone: one of {', '.join(BACKBONES)}, or "
            "timm:<model> / torchvision:<model>"
        )
    return text


def build_parser():
    """The command-line parser (``sk-embed --help``); its lists come from the tables of
    datasets, backbones, baselines and metrics.

    Returns
    -------
    argparse.ArgumentParser
    """
    from .backbones import BACKBONES
    from .benchmark import BASELINES
    from .datasets import LOADERS
    from .losses import available_losses
    from .metrics import METRICS

    parser = argparse.ArgumentParser(
        prog="sk-embed",
        description="Design, compare and use embedded spaces of deep classifiers.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser(
        "bench",
        help=f"fit every technique (and {', '.join(BASELINES)}) and score the embedded spaces",
        description="Fit techniques on datasets, score their held-out embeddings and write "
        "results.csv, results.json, results.md and comparison figures.\n\nscores: "
        "accuracy (the technique's own), "
        + "; ".join(f"{name} ({metric.summary})" for name, metric in METRICS.items())
        + "; fit and transform seconds.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument(
        "--dataset",
        nargs="+",
        default=["digits"],
        choices=list(LOADERS),
        metavar="DATASET",
        help=f"datasets: {', '.join(LOADERS)} (default: digits, no download)",
    )
    bench.add_argument(
        "--losses",
        nargs="+",
        default=["all"],
        choices=["all", *available_losses()],
        metavar="LOSS",
        help="techniques to compare, or 'all' (default: every registered one)",
    )
    bench.add_argument(
        "--dims",
        nargs="+",
        type=_int_at_least(1),
        default=[2, 3],
        help="embedding dimensions (default: 2 3)",
    )
    bench.add_argument(
        "--seeds",
        nargs="+",
        type=_int_at_least(0),
        default=[0, 1, 2],
        help="training seeds: results.csv gives each score's mean and standard deviation "
        "over them, runs.csv one row per seed (default: 0 1 2)",
    )
    bench.add_argument(
        "--jobs",
        type=_int_at_least(1),
        default=os.cpu_count() or 1,
        help="runs fitted at a time, each in its own process (default: one per core)",
    )
    bench.add_argument(
        "--max-epochs",
        type=_int_at_least(0),
        default=None,
        help="bound on the epochs of a fit (default: the estimator's, 200); "
        "training stops earlier when the loss stops improving",
    )
    bench.add_argument(
        "--backbone",
        default="mlp",
        type=_backbone_name,
        help="; ".join(f"{name}: {spec.summary}" for name, spec in BACKBONES.items())
        + "; timm:<model> or torchvision:<model> with those libraries (default: mlp)",
    )
    bench.add_argument(
        "--no-baselines",
        action="store_true",
        help=f"skip the reference rows ({', '.join(BASELINES)})",
    )
    bench.add_argument(
        "--data-dir",
        default=None,
        help="where mnist, fashion_mnist and cifar10 files are (default: "
        "$SK_EMBED_DATA or ~/.cache/sk_embed/<name>)",
    )
    bench.add_argument("--out", default="results", help="output folder (default: results)")
    bench.add_argument(
        "--dpi", type=_int_at_least(1), default=110, help="figure resolution (default: 110)"
    )
    bench.add_argument(
        "--retrieval",
        action="store_true",
        help="also score retrieval among held-out samples: half of the test split "
        "queries the other half (recall@1/5/10, precision@1, R-precision, MAP@R)",
    )
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.add_argument(
        "--threads",
        type=_int_at_least(1),
        default=None,
        help="torch threads per fit (default: the cores shared out among the jobs); on a "
        "machine other work shares, fewer threads than cores is much faster",
    )
    bench.set_defaults(func=_bench)
    return parser


def main(argv=None):
    """Entry point of the ``sk-embed`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (FileNotFoundError, ImportError) as exc:  # data files or an optional extra missing
        parser.exit(1, f"sk-embed {args.command}: error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

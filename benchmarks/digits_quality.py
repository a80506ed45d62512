"""Held-out accuracy and silhouette of every technique on digits (the docs' tables).

Protocol: scikit-learn's digits, 70/30 stratified split (seed 0), each technique with
its defaults, embedding of the held-out 30% scored by its silhouette. Mean over seeds,
through ``sk_embed.benchmark.run`` and ``summarize``.

Usage: python benchmarks/digits_quality.py [--dims 2 3] [--seeds 0 1 2]
       [--losses cosface arcface] [--cosface-margins 0 0.05 0.2]
       [--set optimizer__fused=False]
"""

import argparse

from _cli import add_set_option  # a sibling: the scripts run from benchmarks/

from sk_embed import available_losses, benchmark

COLUMNS = ["method", "dim", "accuracy", "min_accuracy", "silhouette"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--losses", nargs="+", default=available_losses())
    parser.add_argument("--cosface-margins", type=float, nargs="*", default=[0.0, 0.05, 0.2])
    add_set_option(parser)
    args = parser.parse_args()
    params = dict(args.set)

    rows = benchmark.run(
        losses=args.losses, dims=args.dims, seeds=args.seeds, baselines=False, **params
    )
    print(f"digits, 70/30 split, seeds {args.seeds}: mean accuracy (min), mean silhouette\n")
    print(benchmark.to_markdown(benchmark.summarize(rows), COLUMNS), flush=True)
    if args.cosface_margins:
        print("\ncosface margin sweep (scale 16)\n")
        summaries = []
        for margin in args.cosface_margins:
            rows = benchmark.run(
                losses=["cosface"],
                dims=args.dims,
                seeds=args.seeds,
                baselines=False,
                loss__margin=margin,
                **params,
            )
            summaries += [{"margin": margin, **s} for s in benchmark.summarize(rows)]
        print(benchmark.to_markdown(summaries, ["margin", *COLUMNS[1:]]))


if __name__ == "__main__":
    main()

"""Held-out accuracy and silhouette of every technique on digits (the docs' tables).

Protocol: scikit-learn's digits, 70/30 stratified split (seed 0), each technique with
its defaults, embedding of the held-out 30% scored by its silhouette. Mean over seeds,
through ``sk_embed.benchmark.run`` and ``summarize``.

Usage: python benchmarks/digits_quality.py [--dims 2 3] [--seeds 0 1 2]
       [--losses cosface arcface] [--cosface-margins 0 0.05 0.2]
       [--set optimizer__fused=False]
"""

import _harness as h  # a sibling: the scripts run from benchmarks/

from sk_embed import available_losses, benchmark

COLUMNS = ["method", "dim", "accuracy", "min_accuracy", "silhouette"]


def main():
    parser = h.parser(__doc__, jobs=None)
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--losses", nargs="+", default=available_losses())
    parser.add_argument("--cosface-margins", type=float, nargs="*", default=[0.0, 0.05, 0.2])
    args = parser.parse_args()

    def summary(losses, **params):
        rows = benchmark.run(
            losses=losses, dims=args.dims, seeds=args.seeds, baselines=False, **params
        )
        return benchmark.summarize(rows)

    print(f"digits, 70/30 split, seeds {args.seeds}: mean accuracy (min), mean silhouette\n")
    print(benchmark.to_markdown(summary(args.losses, **args.set), COLUMNS), flush=True)
    if args.cosface_margins:
        print("\ncosface margin sweep (scale 16)\n")
        rows = [
            {"margin": margin, **s}
            for margin in args.cosface_margins
            for s in summary(["cosface"], loss__margin=margin, **args.set)
        ]
        print(benchmark.to_markdown(rows, ["margin", *COLUMNS[1:]]))


if __name__ == "__main__":
    main()

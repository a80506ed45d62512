"""Held-out accuracy against the embedding size, SOC and softmax, on digits.

The docs' table: 70/30 stratified digits split, n_components in 1, 2, 3, 5, 10, mean
over training seeds with the standard deviation, through ``sk_embed.benchmark.run``.

Usage: python benchmarks/soc_sweep.py [--dims 1 2 3 5 10] [--seeds 0 1 2]
"""

import _harness as h  # a sibling: the scripts run from benchmarks/

from sk_embed import benchmark


def main():
    parser = h.parser(__doc__, jobs=None, params=False)
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 2, 3, 5, 10])
    parser.add_argument("--losses", nargs="+", default=["soc", "softmax"])
    args = parser.parse_args()
    rows = benchmark.run(losses=args.losses, dims=args.dims, seeds=args.seeds, baselines=False)
    table = [
        {
            "n_components": dim,
            **{
                loss: [r["accuracy"] for r in rows if r["dim"] == dim and r["method"] == loss]
                for loss in args.losses
            },
        }
        for dim in args.dims
    ]
    print(h.table(table))


if __name__ == "__main__":
    main()

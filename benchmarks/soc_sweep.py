"""Held-out accuracy against the embedding size, SOC and softmax, on digits.

The docs' table: 70/30 stratified digits split, n_components in 1, 2, 3, 5, 10, mean
over training seeds with the standard deviation, through ``sk_embed.benchmark.run``.

Usage: python benchmarks/soc_sweep.py [--dims 1 2 3 5 10] [--seeds 0 1 2]
"""

import argparse

from sk_embed import benchmark


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 2, 3, 5, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--losses", nargs="+", default=["soc", "softmax"])
    args = parser.parse_args()
    rows = benchmark.run(losses=args.losses, dims=args.dims, seeds=args.seeds, baselines=False)
    summary = benchmark.summarize(rows, by=("dim", "method"), columns=("accuracy",))
    table = [
        {
            "n_components": dim,
            **{s["method"]: s["accuracy"] for s in summary if s["dim"] == dim},
            **{f"{s['method']}_std": s["accuracy_std"] for s in summary if s["dim"] == dim},
        }
        for dim in args.dims
    ]
    print(benchmark.to_markdown(table, ["n_components", *args.losses]))


if __name__ == "__main__":
    main()

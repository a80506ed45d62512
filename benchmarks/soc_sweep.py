"""Held-out accuracy against the embedding size, SOC and softmax, on digits.

The docs' table: 70/30 stratified digits split, n_components in 1, 2, 3, 5, 10, mean
over training seeds.

Usage: python benchmarks/soc_sweep.py [--dims 1 2 3 5 10] [--seeds 0 1 2]
"""

import argparse
import statistics

from sk_embed import EmbeddingClassifier, datasets


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 2, 3, 5, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--losses", nargs="+", default=["soc", "softmax"])
    args = parser.parse_args()
    d = datasets.digits()  # the protocol's 70/30 stratified split
    X_train, X_test = (X.reshape(len(X), -1) for X in (d.X_train, d.X_test))
    y_train, y_test = d.y_train, d.y_test
    print("| n_components | " + " | ".join(args.losses) + " |")
    print("|---" * (len(args.losses) + 1) + "|")
    for dim in args.dims:
        cells = []
        for loss in args.losses:
            accs = [
                EmbeddingClassifier(loss=loss, n_components=dim, random_state=seed)
                .fit(X_train, y_train)
                .score(X_test, y_test)
                for seed in args.seeds
            ]
            cells.append(f"{statistics.mean(accs):.3f}")
        print(f"| {dim} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

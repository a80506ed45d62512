"""Held-out accuracy and silhouette of every technique on digits (the docs' tables).

Protocol: scikit-learn's digits, 70/30 stratified split (seed 0), each technique with
its defaults, embedding of the held-out 30% scored by its silhouette. Mean over seeds.

Usage: python benchmarks/digits_quality.py [--dims 2 3] [--seeds 0 1 2]
       [--losses cosface arcface] [--cosface-margins 0 0.05 0.2]
"""

import argparse
import statistics
import warnings

from sk_embed import EmbeddingClassifier, available_losses, datasets
from sk_embed.metrics import silhouette


def score(X_train, X_test, y_train, y_test, seeds, **params):
    accs, sils = [], []
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # margins above the bound warn; that is the point
            clf = EmbeddingClassifier(random_state=seed, **params).fit(X_train, y_train)
        accs.append(clf.score(X_test, y_test))
        sils.append(silhouette(clf.transform(X_test), y_test))
    return statistics.mean(accs), min(accs), statistics.mean(sils)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--losses", nargs="+", default=available_losses())
    parser.add_argument("--cosface-margins", type=float, nargs="*", default=[0.0, 0.05, 0.2])
    args = parser.parse_args()

    d = datasets.digits()  # the protocol's 70/30 stratified split
    flat = [X.reshape(len(X), -1) for X in (d.X_train, d.X_test)]
    split = (*flat, d.y_train, d.y_test)
    print(f"digits, 70/30 split, seeds {args.seeds}: mean accuracy (min), mean silhouette\n")
    print("| loss | dim | accuracy | min accuracy | silhouette |")
    print("|---|---|---|---|---|")
    for loss in args.losses:
        for dim in args.dims:
            acc, worst, sil = score(*split, args.seeds, loss=loss, n_components=dim)
            print(f"| {loss} | {dim} | {acc:.3f} | {worst:.3f} | {sil:.3f} |", flush=True)
    if args.cosface_margins:
        print("\ncosface margin sweep (scale 16)\n")
        print("| margin | dim | accuracy | min accuracy | silhouette |")
        print("|---|---|---|---|---|")
        for dim in args.dims:
            for margin in args.cosface_margins:
                acc, worst, sil = score(
                    *split, args.seeds, loss="cosface", n_components=dim, loss__margin=margin
                )
                print(f"| {margin} | {dim} | {acc:.3f} | {worst:.3f} | {sil:.3f} |", flush=True)


if __name__ == "__main__":
    main()

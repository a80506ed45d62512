"""New classes without retraining, and open-set scores, for every technique on digits.

Protocol: digits, 70/30 stratified split; fit on classes 0-5 of the training part;
``score_samples`` on the test part separates known (0-5) from unknown (6-9) test
samples (AUROC); then ``add_classes`` with 5 training samples of each of 6-9, and
accuracy on the test samples of the new classes and of the known ones.

Usage: python benchmarks/new_classes.py [--dim 2] [--shots 5] [--losses soc cosface]
"""

import argparse
import warnings

import numpy as np

from sk_embed import EmbeddingClassifier, available_losses, datasets
from sk_embed.metrics import open_set_auroc


def run(loss, dim, shots, seed=0):
    d = datasets.digits()  # the protocol's 70/30 stratified split
    X_train, X_test = (X.reshape(len(X), -1) for X in (d.X_train, d.X_test))
    y_train, y_test = d.y_train, d.y_test
    known_train, known_test = y_train < 6, y_test < 6
    rng = np.random.default_rng(seed)
    few = np.concatenate(
        [rng.choice(np.flatnonzero(y_train == c), shots, replace=False) for c in range(6, 10)]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = EmbeddingClassifier(loss=loss, n_components=dim, random_state=seed)
        clf.fit(X_train[known_train], y_train[known_train])
    before = clf.score(X_test[known_test], y_test[known_test])
    auroc = open_set_auroc(clf, X_test[known_test], X_test[~known_test])
    clf.add_classes(X_train[few], y_train[few])
    after = clf.score(X_test[known_test], y_test[known_test])
    new = clf.score(X_test[~known_test], y_test[~known_test])
    return before, after, new, auroc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--losses", nargs="+", default=available_losses())
    args = parser.parse_args()
    print("| loss | dim | known acc. before | known acc. after | new-class acc. | open-set AUROC |")
    print("|---|---|---|---|---|---|")
    for dim in args.dims:
        for loss in args.losses:
            before, after, new, auroc = run(loss, dim, args.shots)
            print(
                f"| {loss} | {dim} | {before:.3f} | {after:.3f} | {new:.3f} | {auroc:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

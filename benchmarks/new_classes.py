"""New classes without retraining, and open-set scores, for every technique on digits.

Protocol: digits, 70/30 stratified split; fit on classes 0-5 of the training part;
``score_samples`` on the test part separates known (0-5) from unknown (6-9) test
samples (AUROC); then ``add_classes`` with ``--shots`` training samples of each of 6-9,
and accuracy on the test samples of the new classes and of the known ones. Figures are
means over ``--seeds`` training seeds times ``--draws`` draws of the few samples; the
worst draw is shown too, since one draw of 5 samples moves the figures by several points.

The ``pixels`` row is the same protocol without any training: nearest class mean on the
raw pixels (known classes from all their training samples, new ones from the few).

The ``--variants`` add rows with forward-compatible training (``reserve_classes``,
``reconstruction``; docs/open_set.md), each with its fit time relative to the same
technique's defaults in the same run; ``--shots 1 5 20`` gives the shots curve.

Usage::

    python benchmarks/new_classes.py [--dims 2 10 32] [--shots 5] [--losses soc cosface]
        [--variants defaults reserve reconstruction both]
        [--set loss__margin=0.05 backbone__hidden_sizes=(256,)]
"""

import argparse
import ast
import copy
import time
import warnings

import numpy as np
from sklearn.neighbors import NearestCentroid

from sk_embed import EmbeddingClassifier, available_losses, datasets
from sk_embed.metrics import open_set_auroc

KNOWN = 6  # classes 0..5 are known, 6..9 are added
VARIANTS = {  # estimator options of each kind of row
    "defaults": {},
    "reserve": {"reserve_classes": 15},
    "reconstruction": {"reconstruction": 10.0},
    "both": {"reserve_classes": 15, "reconstruction": 10.0},
}


def _split():
    d = datasets.digits()  # the protocol's 70/30 stratified split
    X_train, X_test = (X.reshape(len(X), -1) for X in (d.X_train, d.X_test))
    return X_train, X_test, d.y_train, d.y_test


def _draws(y_train, shots, draws):
    """Index sets of ``shots`` training samples of each new class, one per draw."""
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        yield np.concatenate(
            [
                rng.choice(np.flatnonzero(y_train == c), min(shots, np.sum(y_train == c)), False)
                for c in range(KNOWN, 10)
            ]
        )


def run(loss, dim, shots=5, seeds=3, draws=5, params=None):
    """Rows of ``(before, after, new, auroc, fit seconds)``, one per seed and draw."""
    X_train, X_test, y_train, y_test = _split()
    known_train, known_test = y_train < KNOWN, y_test < KNOWN
    rows = []
    for seed in range(seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = EmbeddingClassifier(loss, n_components=dim, random_state=seed, **(params or {}))
            start = time.perf_counter()
            clf.fit(X_train[known_train], y_train[known_train])
            seconds = time.perf_counter() - start
        before = clf.score(X_test[known_test], y_test[known_test])
        auroc = open_set_auroc(clf, X_test[known_test], X_test[~known_test])
        for few in _draws(y_train, shots, draws):
            added = copy.deepcopy(clf).add_classes(X_train[few], y_train[few])
            after = added.score(X_test[known_test], y_test[known_test])
            new = added.score(X_test[~known_test], y_test[~known_test])
            rows.append((before, after, new, auroc, seconds))
    return np.array(rows)


def pixels(shots=5, draws=5):
    """The protocol on raw pixels: nearest class mean, no training."""
    X_train, X_test, y_train, y_test = _split()
    known_train, known_test = y_train < KNOWN, y_test < KNOWN
    before = NearestCentroid().fit(X_train[known_train], y_train[known_train])
    before = before.score(X_test[known_test], y_test[known_test])
    rows = []
    for few in _draws(y_train, shots, draws):
        seen = np.flatnonzero(known_train).tolist() + few.tolist()
        added = NearestCentroid().fit(X_train[seen], y_train[seen])
        after = added.score(X_test[known_test], y_test[known_test])
        new = added.score(X_test[~known_test], y_test[~known_test])
        rows.append((before, after, new, np.nan, np.nan))
    return np.array(rows)


def _row(name, dim, rows, reference_seconds=np.nan):
    before, after, new, auroc, seconds = rows.mean(0)
    worst_drop = (rows[:, 0] - rows[:, 1]).max()
    return (
        f"| {name} | {dim} | {before:.3f} | {after:.3f} | {100 * (before - after):.1f} "
        f"({100 * worst_drop:.1f}) | {new:.3f} ({rows[:, 2].min():.3f}) | {auroc:.3f} "
        f"| {seconds / reference_seconds:.2f} |"
    )


def _param(text):
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 10, 32])
    parser.add_argument("--shots", type=int, nargs="+", default=[5])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--losses", nargs="+", default=available_losses())
    parser.add_argument("--variants", nargs="+", default=["defaults"], choices=list(VARIANTS))
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="estimator parameters, e.g. loss__margin=0.05",
    )
    args = parser.parse_args()
    params = dict(_param(p) for p in args.set)
    clash = set(params) & set().union(*(VARIANTS[v] for v in args.variants))
    if clash:
        parser.error(f"--set {', '.join(sorted(clash))} is what a variant sets; drop one")
    variants = sorted(args.variants, key=lambda v: v != "defaults")  # the time reference first
    for shots in args.shots:
        print(f"\n{shots} samples of each new class\n")
        print(
            "| loss | dim | known acc. before | after | known drop, points (worst) "
            "| new-class acc. (worst) | open-set AUROC | fit time vs defaults |"
        )
        print("|---|---|---|---|---|---|---|---|")
        print(_row("pixels (nearest mean)", 64, pixels(shots, args.draws)).replace("nan", "-"))
        for dim in args.dims:
            for loss in args.losses:
                reference = np.nan  # without a defaults row, no time ratio
                for variant in variants:
                    options = {**params, **VARIANTS[variant]}
                    rows = run(loss, dim, shots, args.seeds, args.draws, options)
                    if variant == "defaults":
                        reference = rows[:, 4].mean()
                    name = loss if variant == "defaults" else f"{loss}, {variant}"
                    print(_row(name, dim, rows, reference), flush=True)


if __name__ == "__main__":
    main()

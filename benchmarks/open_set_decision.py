"""Does OpenSetClassifier accept the fraction of known samples it was asked to?
(docs/open_set.md)

Digits, 70/30 stratified split (seed 0); known classes 0-5 (the model is fitted on their
training samples), unknown 6-9; 10-D, each technique at its defaults, wrapped in
``OpenSetClassifier(known_rate=0.95)`` with 5 folds (``cv=5``, the default) and with a
held-out fraction (``cv=0.2``). On the test split: the known rate (target: within 2 points of 0.95),
the accuracy on known classes (a rejection counts as an error), the rejection of unknown
samples, AUROC and OSCR of the scores. Mean ± sd over the seeds (they seed the model and
the held-out fraction).

Usage: python benchmarks/open_set_decision.py [--seeds 0 1 2] [--losses ...] [--cv 0.2 5]
[--jobs 2]
"""

import argparse
import os
import warnings

import numpy as np
from _cli import add_set_option  # a sibling: the scripts run from benchmarks/
from joblib import Parallel, delayed
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_embed import EmbeddingClassifier, OpenSetClassifier, available_losses
from sk_embed.metrics import open_set_auroc, open_set_scores, oscr

KNOWN_RATE = 0.95


def run_one(loss, cv, seed, params):
    import torch

    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    known = y_train < 6
    model = OpenSetClassifier(
        EmbeddingClassifier(loss, 10, random_state=seed, **params),
        known_rate=KNOWN_RATE,
        cv=cv,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train[known], y_train[known])
    truth = np.where(y_test < 6, y_test, -1)
    scores = model.score_samples(X_test)
    result = open_set_scores(truth, model.predict(X_test))
    return {
        "loss": loss,
        "cv": cv,
        "seed": seed,
        **result._asdict(),
        "auroc": open_set_auroc(None, scores[y_test < 6], scores[y_test >= 6]),
        "oscr": oscr(truth, model.estimator_.predict(X_test), scores),
    }


def _cell(rows, key):
    values = [r[key] for r in rows]
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--losses", nargs="+", default=available_losses())
    parser.add_argument("--cv", nargs="+", default=["5", "0.2"])
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    add_set_option(parser)
    args = parser.parse_args()
    cvs = [float(c) if "." in c else int(c) for c in args.cv]
    params = dict(args.set)
    calls = [
        delayed(run_one)(m, c, s, params) for c in cvs for m in args.losses for s in args.seeds
    ]
    rows = Parallel(n_jobs=args.jobs)(calls)
    keys = ("known_rate", "known_accuracy", "unknown_rejection", "auroc", "oscr")
    for cv in cvs:
        print(f"\n### known_rate={KNOWN_RATE}, cv={cv}: digits 0-5 known, 6-9 unknown, 10-D "
              f"(mean ± sd over seeds {args.seeds})\n")  # fmt: skip
        print("| technique | " + " | ".join(keys) + " |")
        print("|---|" + "---|" * len(keys))
        for loss in args.losses:
            cells = [r for r in rows if r["loss"] == loss and r["cv"] == cv]
            print(f"| {loss} | " + " | ".join(_cell(cells, k) for k in keys) + " |")
        within = [r for r in rows if r["cv"] == cv]
        off = [abs(r["known_rate"] - KNOWN_RATE) for r in within]
        hits = sum(o <= 0.02 for o in off)
        print(f"\nknown rate within 2 points of {KNOWN_RATE}: {hits} of {len(off)} fits; "
              f"largest miss {max(off):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()

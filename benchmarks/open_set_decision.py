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

import os
import warnings

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np

from sk_embed import EmbeddingClassifier, OpenSetClassifier, available_losses
from sk_embed.metrics import open_set_auroc, open_set_scores, oscr

KNOWN_RATE = 0.95
KEYS = ("known_rate", "known_accuracy", "unknown_rejection", "auroc", "oscr")


def run_one(loss, cv, seed, params):
    X_train, X_test, y_train, y_test = h.digits_split(0)
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


def main():
    parser = h.parser(__doc__, jobs=os.cpu_count(), out=True)
    parser.add_argument("--losses", nargs="+", default=available_losses())
    parser.add_argument("--cv", nargs="+", default=["5", "0.2"])
    args = parser.parse_args()
    cvs = [float(c) if "." in c else int(c) for c in args.cv]
    tasks = [(m, c, s, args.set) for c in cvs for m in args.losses for s in args.seeds]
    rows = h.runs(run_one, tasks, jobs=args.jobs, threads=1)
    h.save(args.out, rows)
    for cv in cvs:
        print(f"\n### known_rate={KNOWN_RATE}, cv={cv}: digits 0-5 known, 6-9 unknown, 10-D "
              f"(mean ± sd over seeds {args.seeds})\n")  # fmt: skip
        table = [
            {
                "technique": loss,
                **{k: [r[k] for r in rows if r["loss"] == loss and r["cv"] == cv] for k in KEYS},
            }
            for loss in args.losses
        ]
        print(h.table(table))
        off = [abs(r["known_rate"] - KNOWN_RATE) for r in rows if r["cv"] == cv]
        hits = sum(o <= 0.02 for o in off)
        print(f"\nknown rate within 2 points of {KNOWN_RATE}: {hits} of {len(off)} fits; "
              f"largest miss {max(off):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""Bit-for-bit snapshot of what the estimator returns, to show that a change which
should move code only changes no result.

For every technique on digits, after ``fit``, ``partial_fit`` x3, ``warm_start``,
``add_classes``, ``save``/``load``, ``reserve_classes`` + ``reconstruction`` and
``early_stopping``, it records ``predict``, ``predict_proba``, ``transform``,
``score_samples``, ``class_centers_``, ``n_iter_``, ``loss_curve_`` and the validation
record. Run it before a change with ``--save``, after it with ``--compare``, on the same
machine (one torch thread; floats are compared exactly)::

    python benchmarks/snapshot.py --save /tmp/before.npz
    # ... change the code ...
    python benchmarks/snapshot.py --compare /tmp/before.npz
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
import torch
from sklearn.datasets import load_digits

from sk_embed import EmbeddingClassifier, available_losses

OUTPUTS = ("predict", "predict_proba", "transform", "score_samples")
FITTED = (
    "class_centers_", "n_iter_", "loss_curve_", "best_loss_", "validation_scores_",
    "best_validation_score_",
)  # fmt: skip


def _data():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600], X[600:900]


def _record(model, X_test):
    out = {name: getattr(model, name)(X_test) for name in OUTPUTS}
    for name in FITTED:
        value = getattr(model, name)
        if value is not None:
            out[name] = np.asarray(value)
    return out


def _scenarios(loss, X, y, X_test):
    """(name, fitted model) for each path through the estimator."""

    def new(**params):
        return EmbeddingClassifier(loss, max_epochs=6, random_state=0, **params)

    fitted = new().fit(X, y)
    yield "fit", fitted

    model = new()
    for _ in range(3):
        model.partial_fit(X, y, classes=np.arange(10))
    yield "partial_fit", model

    model = new(warm_start=True).fit(X, y)
    model.set_params(max_epochs=3)
    yield "warm_start", model.fit(X, y)

    known = y < 8
    model = new().fit(X[known], y[known])
    few = np.concatenate([np.flatnonzero(y == c)[:5] for c in (8, 9)])
    yield "add_classes", model.add_classes(X[few], y[few])

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.skembed"
        fitted.save(path)
        yield "save_load", EmbeddingClassifier.load(path)

    yield "reserve", new(reserve_classes=3, reconstruction=0.1).fit(X, y)
    yield "early_stopping", new(early_stopping=True).fit(X, y)


def snapshot():
    """Every technique's outputs, as ``{"<loss>/<scenario>/<output>": array}``."""
    torch.set_num_threads(1)
    X, y, X_test = _data()
    arrays = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for loss in available_losses():
            for scenario, model in _scenarios(loss, X, y, X_test):
                for name, value in _record(model, X_test).items():
                    arrays[f"{loss}/{scenario}/{name}"] = value
    return arrays


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the snapshot to this .npz file")
    group.add_argument("--compare", type=Path, help="compare with a snapshot written by --save")
    args = parser.parse_args()
    arrays = snapshot()
    if args.save:
        np.savez(args.save, **arrays)
        print(f"{len(arrays)} arrays written to {args.save}")
        return
    before = dict(np.load(args.compare, allow_pickle=False))
    missing = sorted(set(before) ^ set(arrays))
    differ = sorted(
        k for k in set(before) & set(arrays)
        if before[k].shape != arrays[k].shape or not np.array_equal(before[k], arrays[k])
    )  # fmt: skip
    for key in missing:
        print(f"only in {'before' if key in before else 'now'}: {key}")
    for key in differ:
        print(f"differs: {key}")
    same = len(set(before) & set(arrays)) - len(differ)
    print(f"{same} of {len(before)} arrays bit-identical; {len(differ)} differ, "
          f"{len(missing)} missing")  # fmt: skip
    raise SystemExit(1 if differ or missing else 0)


if __name__ == "__main__":
    main()

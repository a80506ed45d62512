"""Starting from a trained encoder: new classes from a few samples each.

scikit-learn's digits as 8x8 images. An encoder (the cnn) is fitted on every sample of
digits 0-4. Digits 5-9 are then learned from ``k`` samples each (5, 20, 50; drawn with
the seed) and tested on all their other samples:

- ``frozen``: ``backbone=<the fitted model>, freeze_backbone=True`` (the encoder held,
  its last layer and the head trained);
- ``fine-tuned``: the same, trained whole with ``backbone_lr=0.1``;
- ``from scratch``: the same network and settings, no encoder to start from;
- ``add_classes``: the fitted model itself takes the new classes (its encoder frozen,
  the head placing them from their samples), scored on digits 5-9 only;
- ``pixels``: nearest class mean on the raw pixels (scikit-learn's ``NearestCentroid``).

Mean accuracy and the standard deviation over the seeds (each draws the samples and
seeds every fit). Usage::

    python benchmarks/transfer.py [--seeds 0 1 2] [--shots 5 20 50] [--jobs 2]
        [--set KEY=VALUE ...]
"""

import copy
import warnings

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestCentroid

from sk_embed import EmbeddingClassifier

METHODS = ("frozen", "fine-tuned", "from scratch", "add_classes", "pixels")


def _draw(y, classes, shots, rng):
    """Indices of ``shots`` samples of each class, and of the rest of those classes."""
    train = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), shots, replace=False) for c in classes]
    )
    test = np.setdiff1d(np.flatnonzero(np.isin(y, classes)), train)
    return train, test


def _without_backbone_options(params):
    """``params`` less the ``backbone__*`` options, which built the source's encoder and
    do not apply to a model that starts from it."""
    return {k: v for k, v in params.items() if not k.startswith("backbone__")}


def run(seed, shots_list, params):
    """Accuracy rows ``(shots, method, accuracy)`` of one seed."""
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8)
    old, new = np.arange(5), np.arange(5, 10)
    common = dict(backbone="cnn", random_state=seed, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = EmbeddingClassifier(**common).fit(X[np.isin(y, old)], y[np.isin(y, old)])
    rng = np.random.RandomState(seed)
    rows = []
    for shots in shots_list:
        train, test = _draw(y, new, shots, rng)
        fits = {
            "frozen": dict(backbone=source, freeze_backbone=True),
            "fine-tuned": dict(backbone=source, backbone_lr=0.1),
            "from scratch": {},
        }
        for method, extra in fits.items():
            kept = common if not extra else _without_backbone_options(common)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = EmbeddingClassifier(**{**kept, **extra}).fit(X[train], y[train])
            rows.append((shots, method, model.score(X[test], y[test])))
        grown = copy.deepcopy(source)  # the source stays for the next draw
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grown.add_classes(X[train], y[train], on_damage="ignore")
        answers = grown.predict(X[test])
        rows.append((shots, "add_classes", float((answers == y[test]).mean())))
        pixels = NearestCentroid().fit(X[train].reshape(len(train), -1), y[train])
        rows.append((shots, "pixels", pixels.score(X[test].reshape(len(test), -1), y[test])))
    return rows


def main(argv=None):
    parser = h.parser(__doc__, jobs=2, out=True)
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 20, 50])
    args = parser.parse_args(argv)
    params = args.set or dict(n_components=32)
    tasks = [(seed, args.shots, params) for seed in args.seeds]
    results = h.runs(run, tasks, jobs=args.jobs, threads=1)
    h.save(args.out, results)
    accuracy = {}
    for rows in results:
        for shots, method, value in rows:
            accuracy.setdefault((shots, method), []).append(value)
    print(f"Digits 5-9 from k samples each; encoder fitted on digits 0-4 ({params}).\n")
    table = [
        {"samples per class": shots, **{m: accuracy[(shots, m)] for m in METHODS}}
        for shots in args.shots
    ]
    print(h.table(table, ddof=0))


if __name__ == "__main__":
    main()

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

``--curve`` prints the shots curve as one table instead: each fit is scored after
adding 1, 5 and 20 samples (``--shots``) of each new class, beside nearest class mean on
the raw pixels and on a PCA of them to the same dimension (fitted on the known classes'
training samples), with ``--jobs`` fits at a time.

New classes are added with ``add_classes``' default, which lowers them just enough to
keep the known classes' training samples; ``--on-damage ignore`` adds them at full
strength, which shows where the embedding itself puts them. ``--data synthetic`` runs
the protocol on a ``make_classification`` set instead of digits; ``--validation 0.2``
fits on 80% of the known classes' training samples and checks ``add_classes`` on the
rest (``X_known``). ``--check`` prints how closely ``add_classes``' check follows the
damage: the share of the samples it checks that the new classes take at full strength,
against the held-out known accuracy they cost. ``--shares 0.003 0.01 0.03`` moves the
new classes' scores by one common amount, as ``add_classes``' limit does, but so that
they take each of these shares of the samples the check reads (raising them where they
take fewer at full strength), and prints what the known and the new classes get at
each: how much new-class accuracy a budget of known accuracy buys.

Usage::

    python benchmarks/new_classes.py [--dims 2 10 32] [--shots 5] [--losses soc cosface]
        [--variants defaults reserve reconstruction both]
        [--set loss__margin=0.05 backbone__hidden_sizes=(256,)]
    python benchmarks/new_classes.py --curve --dims 32 --shots 1 5 20
        --variants defaults reserve --jobs 2
    python benchmarks/new_classes.py --shares 0.003 0.01 0.02 0.03 0.05 --dims 128
        --losses cosface --set reserve_classes=30 reconstruction=10.0 --jobs 2
"""

import copy
import time
import warnings
from dataclasses import dataclass

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
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


@dataclass(frozen=True)
class Protocol:
    """What a run fits on and how it adds classes.

    ``data``: scikit-learn's digits, or ``"synthetic"``, 4,000 rows of
    ``make_classification`` (30 features, 15 of them informative, 10 classes of one
    cluster each) that the mlp fits much more tightly than new samples. ``on_damage``:
    ``add_classes``' option. ``validation``: hold out this stratified share of the known
    classes' training samples from the fit and give it to ``add_classes`` as
    ``X_known`` (0: fit on all of them, and check on the kept training rows).
    """

    data: str = "digits"
    on_damage: str = "limit"
    validation: float = 0.0

    def split(self):
        """The 70/30 stratified split of ``data``."""
        if self.data == "synthetic":
            X, y = make_classification(
                n_samples=4000, n_features=30, n_informative=15, n_classes=10,
                n_clusters_per_class=1, class_sep=1.5, random_state=0,
            )  # fmt: skip
            return h.split(X, y)
        d = datasets.digits()
        X_train, X_test = (X.reshape(len(X), -1) for X in (d.X_train, d.X_test))
        return X_train, X_test, d.y_train, d.y_test

    def known_rows(self, y_train):
        """The known classes' training rows to fit on, and those to check on (None)."""
        known = np.flatnonzero(y_train < KNOWN)
        if not self.validation:
            return known, None
        return train_test_split(
            known, test_size=self.validation, stratify=y_train[known], random_state=0
        )


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


def _fit_known(loss, dim, seed, params, protocol):
    """A fit on the known classes' training samples, and its seconds."""
    X_train, _, y_train, _ = protocol.split()
    known, _ = protocol.known_rows(y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = EmbeddingClassifier(loss, n_components=dim, random_state=seed, **(params or {}))
        start = time.perf_counter()
        clf.fit(X_train[known], y_train[known])
    return clf, time.perf_counter() - start


def _after_adding(clf, shots, draws, protocol):
    """``(known accuracy, new-class accuracy)`` on the test part after adding ``shots``
    training samples of each new class to a copy of ``clf``, one pair per draw."""
    X_train, X_test, y_train, y_test = protocol.split()
    known_test = y_test < KNOWN
    _, check = protocol.known_rows(y_train)
    options = {"on_damage": protocol.on_damage}
    if check is not None:
        options["X_known"] = X_train[check]
    for few in _draws(y_train, shots, draws):
        with warnings.catch_warnings():  # the tables say what the warning would
            warnings.filterwarnings("ignore", "add_classes", UserWarning)
            added = copy.deepcopy(clf).add_classes(X_train[few], y_train[few], **options)
        yield (
            added.score(X_test[known_test], y_test[known_test]),
            added.score(X_test[~known_test], y_test[~known_test]),
        )


def run(loss, dim, shots=5, seeds=(0, 1, 2), draws=5, params=None, protocol=Protocol()):
    """Rows of ``(before, after, new, auroc, fit seconds)``, one per seed and draw."""
    _, X_test, _, y_test = protocol.split()
    known_test = y_test < KNOWN
    rows = []
    for seed in seeds:
        clf, seconds = _fit_known(loss, dim, seed, params, protocol)
        before = clf.score(X_test[known_test], y_test[known_test])
        auroc = open_set_auroc(clf, X_test[known_test], X_test[~known_test])
        for after, new in _after_adding(clf, shots, draws, protocol):
            rows.append((before, after, new, auroc, seconds))
    return np.array(rows)


def pixels(shots=5, draws=5, pca=None, protocol=Protocol()):
    """The protocol on raw pixels (or their ``pca``-dimensional PCA, fitted on the known
    classes' training samples): nearest class mean, no training."""
    X_train, X_test, y_train, y_test = protocol.split()
    if pca is not None:
        projection = PCA(pca, random_state=0).fit(X_train[y_train < KNOWN])
        X_train, X_test = projection.transform(X_train), projection.transform(X_test)
    known_train, known_test = y_train < KNOWN, y_test < KNOWN
    with warnings.catch_warnings():  # pixels that are 0 within a class: no matter here
        warnings.filterwarnings("ignore", "self.within_class_std_dev_", UserWarning)
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


def _curve_task(loss, dim, seed, shots, draws, params, protocol):
    """One fit, scored after adding each number of ``shots``: ``{shots: rows of
    (before, after, new)}``, one row per draw."""
    _, X_test, _, y_test = protocol.split()
    clf, _ = _fit_known(loss, dim, seed, params, protocol)
    before = clf.score(X_test[y_test < KNOWN], y_test[y_test < KNOWN])
    return {
        n: np.array([(before, *pair) for pair in _after_adding(clf, n, draws, protocol)])
        for n in shots
    }


def curve(losses, variants, dim, shots, seeds, draws, params, jobs, protocol=Protocol()):
    """The shots-curve table: new-class accuracy / known drop per number of shots."""
    tasks = [(loss, v, seed) for loss in losses for v in variants for seed in seeds]
    results = h.runs(
        _curve_task,
        [(loss, dim, s, shots, draws, {**params, **VARIANTS[v]}, protocol) for loss, v, s in tasks],
        jobs=jobs,
        threads=1,  # --jobs fits share the cores
    )
    print(
        f"\nnew-class accuracy / known drop in points, {dim}-D, mean over {len(seeds)} seeds x "
        f"{draws} draws (worst draw's drop in brackets)\n"
    )

    def line(name, cells):
        out = {"embedding": name}
        for n in shots:
            rows = cells[n]
            drop = 100 * (rows[:, 0] - rows[:, 1])
            out[f"{n} shot{'s' * (n > 1)}"] = (
                f"{rows[:, 2].mean():.3f} / {drop.mean():.1f} ({drop.max():.1f})"
            )
        return out

    k = min(dim, protocol.split()[0].shape[1])  # a PCA keeps at most every feature
    table = [
        line(name, {n: pixels(n, draws, pca, protocol)[:, :3] for n in shots})
        for name, pca in (("raw pixels, nearest mean", None), (f"PCA {k}-D, nearest mean", k))
    ]
    for loss in losses:
        for v in variants:
            mine = [r for task, r in zip(tasks, results) if task[:2] == (loss, v)]
            cells = {n: np.concatenate([r[n] for r in mine]) for n in shots}
            table.append(line(loss if v == "defaults" else f"{loss}, {v}", cells))
    print(h.table(table), flush=True)


def _test_parts(protocol):
    """The test split's known and new samples, as ``(X, y)`` pairs."""
    _, X_test, _, y_test = protocol.split()
    known = y_test < KNOWN
    return (X_test[known], y_test[known]), (X_test[~known], y_test[~known])


def _checked(protocol, seed):
    """The known samples add_classes' check reads, as a fit keeps them: with
    ``validation``, the held-out rows given as ``X_known``; else up to 1,000 of the
    rows fitted on, spread over them, with Gaussian noise of 0.3 times each feature's
    spread over those rows (add_classes' docstring; the fit's own draws are not public,
    so these are the script's, seeded by ``seed``)."""
    X_train, _, y_train, _ = protocol.split()
    fitted, check = protocol.known_rows(y_train)
    if check is not None:
        return X_train[check]
    rows = X_train[fitted][np.unique(np.linspace(0, len(fitted) - 1, 1000).astype(int))]
    return rows + 0.3 * rows.std(0) * np.random.default_rng(seed).standard_normal(rows.shape)


def _lead(scores):
    """By how much each sample's best new class beats its best known one."""
    return scores[:, KNOWN:].max(1) - scores[:, :KNOWN].max(1)


def _accuracy(model, X, y, lowering=0.0):
    """Accuracy with the new classes' scores lowered by ``lowering`` (as add_classes'
    limit does: one common amount), from ``decision_function`` (columns: classes 0-9)."""
    scores = model.decision_function(X)
    scores[:, KNOWN:] -= lowering
    return float(np.mean(scores.argmax(1) == y))


def _added_at_full_strength(loss, dim, seed, shots, draws, params, protocol):
    """One fit; then per draw ``(known test accuracy before, a copy with the draw's new
    classes added at full strength, its scores of the samples add_classes' check
    reads)``."""
    X_train, _, y_train, _ = protocol.split()
    clf, _ = _fit_known(loss, dim, seed, params, protocol)
    before = clf.score(*_test_parts(protocol)[0])
    checked = _checked(protocol, seed)
    for few in _draws(y_train, shots, draws):
        added = copy.deepcopy(clf).add_classes(X_train[few], y_train[few], on_damage="ignore")
        yield before, added, added.decision_function(checked)


def _by_technique(task, losses, seeds, jobs, *args):
    """``task(loss, seed, *args)`` for every technique and seed, ``jobs`` at a time:
    ``{loss: [its seeds' results]}``."""
    tasks = [(loss, seed, *args) for loss in losses for seed in seeds]
    results = h.runs(task, tasks, jobs=jobs, threads=1)  # --jobs fits share the cores
    return {loss: [r for t, r in zip(tasks, results) if t[0] == loss] for loss in losses}


def _check_task(loss, seed, dim, shots, draws, params, protocol):
    """One fit: per draw, the share of ``add_classes``' check samples that the new
    classes take at full strength, and the held-out known accuracy lost."""
    known, _ = _test_parts(protocol)
    steps = _added_at_full_strength(loss, dim, seed, shots, draws, params, protocol)
    return [
        (float(np.mean(scores.argmax(1) >= KNOWN)), 100 * (before - added.score(*known)))
        for before, added, scores in steps
    ]


def check(losses, dim, shots, seeds, draws, params, jobs, protocol=Protocol()):
    """How closely add_classes' check follows the damage: per technique, the share of
    the check samples the new classes take at full strength against the held-out known
    accuracy they cost, in how many draws the default would warn (over 3%), and the
    largest loss of a draw it would not warn about (silent damage)."""
    results = _by_technique(_check_task, losses, seeds, jobs, dim, shots, draws, params, protocol)
    print(
        f"\nadd_classes' check at full strength, {dim}-D, {shots} shots, {len(seeds)} seeds x "
        f"{draws} draws\n"
    )
    table = []
    for loss in losses:
        rows = np.array(sum(results[loss], []))
        warned = rows[:, 0] > 0.03
        table.append(
            {
                "technique": loss,
                "check samples taken": f"{rows[:, 0].mean():.1%}",
                "held-out known accuracy lost (points)": f"{rows[:, 1].mean():.1f}",
                "warned": f"{int(warned.sum())} of {len(rows)}",
                "largest loss without a warning (points)": (
                    f"{rows[~warned, 1].max():.1f}" if (~warned).any() else "–"
                ),
            }
        )
    print(h.table(table), flush=True)


def _shares_task(loss, seed, dim, shots, draws, params, shares, protocol):
    """One fit: per draw, ``(known accuracy lost, new-class accuracy)`` with the new
    classes' scores moved by one common amount so that they take each of ``shares`` of
    the samples add_classes' check reads, and at full strength (no move) last."""
    known, new = _test_parts(protocol)
    rows = []
    for before, full, scores in _added_at_full_strength(
        loss, dim, seed, shots, draws, params, protocol
    ):
        row = []
        for share in (*shares, None):
            # lowers them (a positive amount) or raises them
            amount = 0.0 if share is None else float(np.quantile(_lead(scores), 1 - share))
            row.append(
                (100 * (before - _accuracy(full, *known, amount)), _accuracy(full, *new, amount))
            )
        rows.append(row)
    return np.array(rows)


def shares(losses, dim, shots, seeds, draws, params, jobs, budget, protocol=Protocol()):
    """The new classes moved to take each share of the check's samples: what the
    known and the new classes get at each."""
    results = _by_technique(
        _shares_task, losses, seeds, jobs, dim, shots, draws, params, budget, protocol
    )
    print(
        f"\nnew classes moved to take a share of the checked samples, {dim}-D, {shots} shots, "
        f"{len(seeds)} seeds x {draws} draws\n"
    )
    table = []
    for loss in losses:
        rows = np.concatenate(results[loss])
        for i, share in enumerate((*budget, None)):
            table.append(
                {
                    "technique": loss,
                    "share": "full strength" if share is None else f"{share:.1%}",
                    "new-class acc.": rows[:, i, 1].mean(),
                    "known drop, points (worst draw)": (
                        f"{rows[:, i, 0].mean():.1f} ({rows[:, i, 0].max():.1f})"
                    ),
                }
            )
    print(h.table(table), flush=True)


def _row(name, dim, rows, reference_seconds=np.nan):
    before, after, new, auroc, seconds = rows.mean(0)
    worst_drop = (rows[:, 0] - rows[:, 1]).max()
    return {
        "loss": name,
        "dim": dim,
        "known acc. before": before,
        "after": after,
        "known drop, points (worst)": f"{100 * (before - after):.1f} ({100 * worst_drop:.1f})",
        "new-class acc. (worst)": f"{new:.3f} ({rows[:, 2].min():.3f})",
        "open-set AUROC": auroc,
        "fit time vs defaults": f"{seconds / reference_seconds:.2f}".replace("nan", "-"),
    }


def main():
    parser = h.parser(__doc__)
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 10, 32])
    parser.add_argument("--shots", type=int, nargs="+", default=[5])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--losses", nargs="+", default=available_losses())
    parser.add_argument("--variants", nargs="+", default=["defaults"], choices=list(VARIANTS))
    parser.add_argument("--curve", action="store_true", help="one shots-curve table")
    parser.add_argument(
        "--check", action="store_true", help="how closely add_classes' check follows the damage"
    )
    parser.add_argument(
        "--shares",
        type=float,
        nargs="+",
        help="move the new classes' scores so that they take these shares of the samples "
        "add_classes' check reads (raising them where they take fewer), and score each",
    )
    parser.add_argument("--data", default="digits", choices=["digits", "synthetic"])
    parser.add_argument(
        "--validation",
        type=float,
        default=0.0,
        help="hold out this share of the known training samples and check on it "
        "(add_classes' X_known)",
    )
    parser.add_argument(
        "--on-damage",
        default="limit",
        choices=["limit", "ignore"],
        help="add_classes' on_damage: its default 'limit', or 'ignore' (full strength)",
    )
    args = parser.parse_args()
    protocol = Protocol(args.data, args.on_damage, args.validation)
    params = args.set
    clash = set(params) & set().union(*(VARIANTS[v] for v in args.variants))
    if clash:
        parser.error(f"--set {', '.join(sorted(clash))} is what a variant sets; drop one")
    if (args.check or args.shares) and params.get("early_stopping"):
        parser.error(
            "--check and --shares stand in for the kept training rows with noise; the rows "
            "early_stopping holds out are not public"
        )
    variants = sorted(args.variants, key=lambda v: v != "defaults")  # the time reference first
    common = (args.seeds, args.draws)
    if args.shares:
        for dim in args.dims:
            for shots in args.shots:
                for v in variants:
                    options = {**params, **VARIANTS[v]}
                    print(f"\n{v}: {options}")
                    shares(
                        args.losses, dim, shots, *common, options, args.jobs, args.shares, protocol
                    )
        return
    if args.check:
        for dim in args.dims:
            for shots in args.shots:
                check(args.losses, dim, shots, *common, params, args.jobs, protocol)
        return
    if args.curve:
        for dim in args.dims:
            curve(args.losses, variants, dim, args.shots, *common, params, args.jobs, protocol)
        return
    for shots in args.shots:
        print(f"\n{shots} samples of each new class\n")
        width = protocol.split()[0].shape[1]
        table = [_row("pixels (nearest mean)", width, pixels(shots, args.draws, protocol=protocol))]
        for dim in args.dims:
            for loss in args.losses:
                reference = np.nan  # without a defaults row, no time ratio
                for variant in variants:
                    options = {**params, **VARIANTS[variant]}
                    rows = run(loss, dim, shots, *common, options, protocol)
                    if variant == "defaults":
                        reference = rows[:, 4].mean()
                    name = loss if variant == "defaults" else f"{loss}, {variant}"
                    table.append(_row(name, dim, rows, reference))
        print(h.table(table), flush=True)


if __name__ == "__main__":
    main()

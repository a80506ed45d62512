"""Compare techniques on datasets: one tidy row per (dataset, technique, dimension, seed).

Written against the registry (``available_losses()``), so a new technique is in the
comparison as soon as it is registered. scikit-learn's PCA, LDA and
NeighborhoodComponentsAnalysis (and UMAP, supervised and not, when umap-learn is
installed) run on the same split as reference points.
"""

from __future__ import annotations

import importlib.util
import os
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from . import datasets as _datasets
from .estimator import EmbeddingClassifier
from .losses import available_losses
from .metrics import METRICS, embedding_scores, retrieval_scores


class Unsupervised(TransformerMixin, BaseEstimator):
    """Fit a transformer without the labels that a ``Pipeline`` hands it.

    Parameters
    ----------
    estimator : transformer
        Cloned and fitted on ``X`` alone.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y=None):
        """Fit a clone of ``estimator`` on ``X``; ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        self.estimator_ = clone(self.estimator).fit(X)
        return self

    def transform(self, X):
        """The fitted transformer's output.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray
        """
        return self.estimator_.transform(X)


def _umap(dim, seed, supervised):
    import umap  # umap-learn, the optional ``umap`` extra; imported late (numba is slow)

    model = umap.UMAP(n_components=dim, random_state=seed)
    return model if supervised else Unsupervised(model)


#: Reference embeddings on the same split: name -> ``f(dim, seed)`` building an unfitted
#: transformer, each the way it is usually run: PCA, LDA and NCA on standardized rows,
#: UMAP on the rows as they are (standardizing them lowers UMAP's 5-NN accuracy,
#: docs/robustness.md). They are fitted with the labels, ``Unsupervised``
#: ones without. UMAP's rows are there when umap-learn is installed.
BASELINES = {
    "PCA": lambda dim, seed: make_pipeline(StandardScaler(), PCA(dim, random_state=seed)),
    "LDA": lambda dim, seed: make_pipeline(
        StandardScaler(), LinearDiscriminantAnalysis(n_components=dim)
    ),
    "NCA": lambda dim, seed: make_pipeline(
        StandardScaler(), NeighborhoodComponentsAnalysis(dim, random_state=seed)
    ),
}
#: Why some reference rows are missing ("" when none is).
BASELINES_SKIPPED = ""
if importlib.util.find_spec("umap") is not None:
    BASELINES["UMAP"] = lambda dim, seed: _umap(dim, seed, supervised=True)
    BASELINES["UMAP (unsupervised)"] = lambda dim, seed: _umap(dim, seed, supervised=False)
else:
    BASELINES_SKIPPED = (
        "UMAP rows skipped: umap-learn is not installed (pip install 'sk-embed[umap]')."
    )

#: The columns of a result row: what was run, the technique's own accuracy, every
#: metric of :data:`sk_embed.metrics.METRICS`, and the times.
COLUMNS = [
    "dataset",
    "method",
    "kind",
    "dim",
    "seed",
    "accuracy",
    *METRICS,
    "fit_seconds",
    "transform_seconds",
]


#: The columns ``run(..., retrieval=True)`` adds: recall@k, precision@1, R-precision and
#: MAP@R of held-out queries against held-out references (half of the test split each).
RETRIEVAL_SCORES = [
    "query_recall_at_1",
    "query_recall_at_5",
    "query_recall_at_10",
    "query_precision_at_1",
    "query_r_precision",
    "query_map_at_r",
]


def _rows(X):
    return X.reshape(len(X), -1)


def _query_reference(y):
    """The test split's halves: a stratified, fixed split into queries and references
    (a class with one sample keeps it as a reference)."""
    rng = np.random.RandomState(0)
    query = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        query[members[: len(members) // 2]] = True
    return query


def _retrieval_row(model, X_test, y_test):
    """The :data:`RETRIEVAL_SCORES` of the held-out embeddings."""
    Z = model.transform(X_test)
    query = _query_reference(y_test)
    scores = retrieval_scores(Z[query], y_test[query], Z[~query], y_test[~query])
    row = {f"query_recall_at_{k}": value for k, value in scores.recall_at_k.items()}
    row.update(
        query_precision_at_1=scores.precision_at_1,
        query_r_precision=scores.r_precision,
        query_map_at_r=scores.map_at_r,
    )
    return row


def _score(name, kind, model, data, dim, seed, X_train, X_test, retrieval=False):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a margin past its bound: recorded, not fatal
        model.fit(X_train, data.y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.transform(X_test)
    transform_seconds = time.perf_counter() - start
    scores = embedding_scores(model, X_train, data.y_train, X_test, data.y_test)
    row = {"dataset": data.name, "method": name, "kind": kind, "dim": dim, "seed": seed}
    row.update(scores)
    row.update(fit_seconds=fit_seconds, transform_seconds=transform_seconds)
    if retrieval:
        row.update(_retrieval_row(model, X_test, data.y_test))
    return row, model


def _run_one(task, backbone, estimator_params, threads, keep_model, retrieval=False):
    """Fit and score one planned run; ``threads`` caps torch's and BLAS's threads."""
    d, kind, name, dim, seed = task
    flat = backbone == "mlp" or kind == "baseline"
    X_train = _rows(d.X_train) if flat else d.X_train
    X_test = _rows(d.X_test) if flat else d.X_test
    if kind == "technique":
        model = EmbeddingClassifier(
            loss=name, n_components=dim, backbone=backbone, random_state=seed, **estimator_params
        )
    else:
        model = BASELINES[name](dim, seed)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            row, model = _score(name, kind, model, d, dim, seed, X_train, X_test, retrieval)
    finally:
        torch.set_num_threads(before)
    return row, ((model, X_test, d.y_test) if keep_model else None)


def run(
    datasets=("digits",),
    losses="all",
    dims=(2,),
    seeds=(0,),
    *,
    baselines=True,
    backbone="mlp",
    max_epochs=None,
    data_dir=None,
    progress=False,
    keep_models=False,
    n_jobs=None,
    threads=None,
    retrieval=False,
    **estimator_params,
):
    """Fit and score every (dataset, technique, dimension, seed).

    Parameters
    ----------
    datasets : iterable of str or Bunch
        Names for :func:`sk_embed.datasets.load` or loaded datasets.
    losses : "all" or iterable of str
        Techniques; ``"all"`` is every registered one.
    dims : iterable of int
        Embedding dimensions.
    seeds : iterable of int
        ``random_state`` of each fit.
    baselines : bool or iterable of str, default=True
        Also score the :data:`BASELINES` (all with True, those named otherwise), each
        run the usual way; LDA only where ``dim < n_classes``.
    backbone : str, default="mlp"
        ``"mlp"`` fits on flattened rows, image backbones on the images.
    max_epochs : int, optional
        The estimator's bound on epochs; its default when None.
    data_dir : str, optional
        Where the downloadable datasets are (see :mod:`sk_embed.datasets`).
    progress : bool, default=False
        Show a tqdm progress bar over the runs.
    keep_models : bool or "first_seed", default=False
        Also return the fitted models, ``{(dataset, method, dim, seed): (model, X_test,
        y_test)}``; ``"first_seed"`` keeps those of the first seed only.
    n_jobs : int, optional
        Runs fitted at a time, each in its own process (joblib); None or 1 fits them
        one after the other in this process. -1 is one per core.
    threads : int, optional
        torch (and BLAS) threads per run. Default: torch's when ``n_jobs`` is None or 1,
        else the cores shared out among the jobs, so parallel runs do not oversubscribe
        the cores (a fit's floats depend on its thread count).
    retrieval : bool, default=False
        Also score retrieval among held-out samples, the protocol of metric-learning
        benchmarks: the test split is split in half (stratified, fixed), one half
        queries the other; the rows get the :data:`RETRIEVAL_SCORES` columns.
    **estimator_params
        More ``EmbeddingClassifier`` parameters for every technique.

    Returns
    -------
    rows : list of dict
        One per run, in the planned order whatever ``n_jobs``, with the keys in
        ``COLUMNS``: ``accuracy`` is the technique's own held-out accuracy (NaN for the
        baselines, which do not classify), and every embedding score of
        :func:`sk_embed.metrics.embedding_scores` on the test split.
    models : dict, only with ``keep_models``
    """
    from tqdm.auto import tqdm

    losses = available_losses() if losses == "all" else list(losses)
    if isinstance(baselines, str):
        baselines = [baselines]
    names = list(BASELINES) if baselines is True else list(baselines or [])
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise ValueError(
            f"Unknown baseline(s) {unknown}; available: {sorted(BASELINES)}."
            + (f" {BASELINES_SKIPPED}" if BASELINES_SKIPPED else "")
        )
    seeds = list(seeds)
    data = [_datasets.load(d, data_dir=data_dir) if isinstance(d, str) else d for d in datasets]
    plan = []
    for d in data:
        n_classes = len(np.unique(d.y_train))
        for dim in dims:
            for seed in seeds:
                plan += [(d, "technique", loss, dim, seed) for loss in losses]
                plan += [
                    (d, "baseline", name, dim, seed)
                    for name in names
                    if name != "LDA" or dim < n_classes
                ]
    if max_epochs is not None:
        estimator_params["max_epochs"] = max_epochs
    cores = os.cpu_count() or 1
    jobs = cores if n_jobs == -1 else (n_jobs or 1)
    jobs = max(1, min(jobs, len(plan)))
    if threads is None and jobs > 1:
        threads = max(1, cores // jobs)

    def keep(task):
        return keep_models is True or (keep_models == "first_seed" and task[4] == seeds[0])

    # UMAP first: its first fit in a process compiles numba code (about 20 s), so each
    # worker pays that at the start instead of ending the run on it, and loky's leak
    # check (memory measured after a worker's first task) does not restart a worker,
    # and compile again, when the compiler's memory comes later. One job runs in this
    # process, one run after the other (joblib's n_jobs=1).
    order = sorted(range(len(plan)), key=lambda i: not plan[i][2].startswith("UMAP"))
    done = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(_run_one)(plan[i], backbone, estimator_params, threads, keep(plan[i]), retrieval)
        for i in order
    )
    results = [None] * len(plan)
    for i, result in tqdm(zip(order, done), total=len(plan), disable=not progress,
                          desc="sk-embed bench"):  # fmt: skip
        results[i] = result
    rows = [row for row, _ in results]
    models = {
        (task[0].name, task[2], task[3], task[4]): kept
        for task, (_, kept) in zip(plan, results)
        if kept is not None
    }
    return (rows, models) if keep_models else rows


def to_markdown(rows, columns=None, digits=3):
    """The rows as a Markdown table a person reads.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run`, or of :func:`summarize`: a column whose ``<column>_std``
        is in the row shows as ``mean ± sd``.
    columns : list of str, optional
        Default: :data:`COLUMNS`, or :data:`SUMMARY_COLUMNS` for summarized rows.
    digits : int, default=3
        Floats are rounded to this many decimals; NaN shows as an en dash.

    Returns
    -------
    str
    """
    if columns is None:
        columns = SUMMARY_COLUMNS if rows and "seeds" in rows[0] else COLUMNS

    def cell(row, c):
        v = row.get(c, "")
        if not isinstance(v, float):
            return str(v)
        if np.isnan(v):
            return "–"
        sd = row.get(f"{c}_std", np.nan)
        return f"{v:.{digits}f}" + ("" if np.isnan(sd) else f" ± {sd:.{digits}f}")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row, c) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


#: The scores :func:`summarize` averages over seeds by default.
SCORES = ["accuracy", *METRICS, "fit_seconds", "transform_seconds"]
#: The columns of a summarized row (each score also has ``<score>_std``).
SUMMARY_COLUMNS = ["dataset", "method", "kind", "dim", "seeds", *SCORES]


def summarize(rows, by=("dataset", "method", "kind", "dim"), columns=SCORES):
    """Mean, standard deviation and worst of the scores over the rows that share ``by``.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run`, e.g. one per seed.
    by : tuple of str
        The keys that identify a group.
    columns : sequence of str
        The columns to average.

    Returns
    -------
    list of dict
        One per group, in the order groups first appear: the ``by`` keys, ``seeds``
        (the number of rows in the group), and per column its mean,
        ``<column>_std``, the sample standard deviation (``ddof=1``; NaN for one row or
        a column that is NaN, as the baselines' ``accuracy``), and ``min_<column>``.
    """
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in by), []).append(row)
    out = []
    for key, members in groups.items():
        summary = dict(zip(by, key))
        summary["seeds"] = len(members)
        for c in columns:
            values = np.array([float(m[c]) for m in members])
            summary[c] = float(values.mean())
            summary[f"{c}_std"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
            summary[f"min_{c}"] = float(values.min())
        out.append(summary)
    return out


__all__ = [
    "BASELINES",
    "BASELINES_SKIPPED",
    "COLUMNS",
    "RETRIEVAL_SCORES",
    "SCORES",
    "SUMMARY_COLUMNS",
    "Unsupervised",
    "run",
    "summarize",
    "to_markdown",
]

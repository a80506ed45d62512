"""Scores of an embedded space, built on scikit-learn's own pieces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral
from typing import NamedTuple

import numpy as np
from sklearn.metrics import roc_auc_score, silhouette_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d


def silhouette(Z, y, *, sample_size=5000, random_state=0):
    """Mean silhouette coefficient of the classes in the embedding ``Z``.

    scikit-learn's ``silhouette_score`` (Euclidean), on a random sample of
    ``sample_size`` points when there are more, so memory stays bounded.

    Parameters
    ----------
    Z : array-like of shape (n, n_components)
        The embeddings, e.g. ``transform`` of held-out samples.
    y : array-like of shape (n,)
        Their labels: the clusters to score.
    sample_size : int or None, default=5000
        Score a random sample of this many points when there are more (the exact
        score needs memory quadratic in n); None scores every point.
    random_state : int, default=0
        Seeds the sample.

    Returns
    -------
    float
        In [-1, 1], higher is better.
    """
    Z = check_array(Z)
    check_consistent_length(Z, y)
    sample_size = sample_size if sample_size is not None and len(Z) > sample_size else None
    return float(silhouette_score(Z, y, sample_size=sample_size, random_state=random_state))


def knn_accuracy(Z_train, y_train, Z_test, y_test, *, n_neighbors=5):
    """Held-out accuracy of a k-nearest-neighbour classifier in the embedded space.

    Fit scikit-learn's ``KNeighborsClassifier`` on the training embeddings and score it
    on the held-out ones.

    Parameters
    ----------
    Z_train : array-like of shape (n_train, n_components)
        The reference embeddings, e.g. ``transform`` of the training samples.
    y_train : array-like of shape (n_train,)
        Their labels.
    Z_test : array-like of shape (n_test, n_components)
        The embeddings to score, e.g. ``transform`` of held-out samples.
    y_test : array-like of shape (n_test,)
        Their labels.
    n_neighbors : int, default=5
        The ``k`` of the k-nearest-neighbour classifier.

    Returns
    -------
    float
    """
    knn = KNeighborsClassifier(n_neighbors=n_neighbors).fit(Z_train, y_train)
    return float(knn.score(Z_test, y_test))


def open_set_auroc(estimator, X_known, X_unknown):
    """AUROC of telling known-class samples from unknown-class ones.

    Parameters
    ----------
    estimator : fitted estimator with ``score_samples``, or None
        With an estimator, ``X_known`` and ``X_unknown`` are inputs scored by its
        ``score_samples`` (higher = more known). With None they are already scores.
    X_known, X_unknown : array-like
        Samples (or scores) of the known classes' test set and of unknown classes.

    Returns
    -------
    float
        scikit-learn's ``roc_auc_score`` with known as the positive class: 1 is a
        perfect separation, 0.5 chance.
    """
    if estimator is not None:
        X_known, X_unknown = estimator.score_samples(X_known), estimator.score_samples(X_unknown)
    known = np.asarray(X_known, dtype=float).ravel()
    unknown = np.asarray(X_unknown, dtype=float).ravel()
    if len(known) == 0 or len(unknown) == 0:
        raise ValueError("open_set_auroc needs at least one known and one unknown sample")
    labels = np.r_[np.ones(len(known)), np.zeros(len(unknown))]
    return float(roc_auc_score(labels, np.r_[known, unknown]))


class OpenSetScores(NamedTuple):
    """What an open-set decision did, for known and unknown samples.

    Attributes
    ----------
    known_accuracy : float
        The fraction of known samples given their own class (a rejected known sample
        counts as an error).
    known_rate : float
        The fraction of known samples accepted.
    unknown_rejection : float
        The fraction of unknown samples answered ``unknown_label``.
    """

    known_accuracy: float
    known_rate: float
    unknown_rejection: float


def open_set_scores(y_true, y_pred, *, unknown_label=-1):
    """Accuracy on the known classes and rejection of the unknown ones.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, ``unknown_label`` for samples of classes the model does not know.
    y_pred : array-like of shape (n_samples,)
        Predictions that may be ``unknown_label`` (e.g. of
        :class:`~sk_embed.OpenSetClassifier`).
    unknown_label : int, float or str, default=-1
        The label that stands for "a class the model does not know", in both
        ``y_true`` and ``y_pred``.

    Returns
    -------
    OpenSetScores
        ``known_accuracy``: the fraction of known samples given their own class (a
        rejected known sample counts as an error); ``known_rate``: the fraction of known
        samples accepted; ``unknown_rejection``: the fraction of unknown samples
        answered ``unknown_label``.

    Raises
    ------
    ValueError
        Without a known or without an unknown sample.
    """
    y_true, y_pred = column_or_1d(y_true), column_or_1d(y_pred)
    check_consistent_length(y_true, y_pred)
    unknown = y_true == unknown_label
    if unknown.all() or not unknown.any():
        raise ValueError("open_set_scores needs known and unknown samples in y_true")
    rejected = y_pred == unknown_label
    return OpenSetScores(
        float(np.mean(y_pred[~unknown] == y_true[~unknown])),
        float(np.mean(~rejected[~unknown])),
        float(np.mean(rejected[unknown])),
    )


def oscr(y_true, y_pred_closed, scores, *, unknown_label=-1):
    """Area under the open-set classification rate curve (OSCR, Dhamija et al. 2018).

    Over every threshold on ``scores``: the correct classification rate (known samples
    accepted *and* given their own class) against the false positive rate (unknown
    samples accepted). 1 is perfect; a closed-set accuracy ``a`` with chance-level
    scores gives ``a / 2``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, ``unknown_label`` for unknown samples.
    y_pred_closed : array-like of shape (n_samples,)
        The closed-set prediction (a known class for every sample), e.g.
        ``estimator.predict``.
    scores : array-like of shape (n_samples,)
        Higher means more known, e.g. ``score_samples``.
    unknown_label : int, float or str, default=-1
        The label of the unknown samples in ``y_true``.

    Returns
    -------
    float
    """
    y_true, y_pred = column_or_1d(y_true), column_or_1d(y_pred_closed)
    scores = np.asarray(scores, dtype=float).ravel()
    check_consistent_length(y_true, y_pred, scores)
    unknown = y_true == unknown_label
    if unknown.all() or not unknown.any():
        raise ValueError("oscr needs known and unknown samples in y_true")
    order = np.argsort(-scores, kind="stable")  # accept from the most known down
    correct = ((y_pred == y_true) & ~unknown)[order]
    ccr = np.r_[0.0, np.cumsum(correct) / (~unknown).sum()]
    fpr = np.r_[0.0, np.cumsum(unknown[order]) / unknown.sum()]
    return float(np.trapezoid(ccr, fpr))


class FewShotScore(NamedTuple):
    """Mean episode accuracy and the half-width of its 95% interval.

    Attributes
    ----------
    mean : float
        The mean accuracy over the episodes.
    ci95 : float
        The half-width of its 95% confidence interval.
    """

    mean: float
    ci95: float


def few_shot_accuracy(Z, y, n_way, k_shot, n_query=15, n_episodes=600, random_state=None):
    """N-way K-shot accuracy of nearest-class-mean classification on frozen embeddings.

    Each episode draws ``n_way`` classes (among those with at least ``k_shot + n_query``
    samples), ``k_shot`` support and ``n_query`` query samples of each, without
    replacement; each query goes to the class whose support mean is nearest
    (Euclidean). Returns the mean accuracy over episodes and the half-width of its 95%
    interval, ``1.96 * sd / sqrt(n_episodes)`` (population sd of the episode accuracies).

    Parameters
    ----------
    Z : array-like of shape (n, n_components)
        Frozen embeddings of the held-out classes.
    y : array-like of shape (n,)
        Their labels.
    n_way : int
        Classes per episode (the N of N-way).
    k_shot : int
        Support samples per class and episode, whose mean stands for the class (the K
        of K-shot).
    n_query : int, default=15
        Query samples per class and episode.
    n_episodes : int, default=600
        Episodes to average over; the interval narrows as ``1 / sqrt(n_episodes)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of classes and samples.

    Returns
    -------
    FewShotScore
        ``(mean, ci95)``: report ``mean +- ci95``.
    """
    Z = check_array(Z)
    y = np.asarray(y)
    check_consistent_length(Z, y)
    classes, counts = np.unique(y, return_counts=True)
    eligible = classes[counts >= k_shot + n_query]
    if len(eligible) < n_way:
        raise ValueError(
            f"{n_way}-way episodes need {n_way} classes with at least k_shot + n_query = "
            f"{k_shot + n_query} samples; {len(eligible)} have that many"
        )
    rng = check_random_state(random_state)
    members = {c: np.flatnonzero(y == c) for c in eligible}
    accuracies = np.empty(n_episodes)
    for e in range(n_episodes):
        chosen = rng.choice(eligible, n_way, replace=False)
        prototypes, queries = [], []
        for c in chosen:
            idx = rng.choice(members[c], k_shot + n_query, replace=False)
            prototypes.append(Z[idx[:k_shot]].mean(0))
            queries.append(idx[k_shot:])
        prototypes = np.stack(prototypes)
        q = np.concatenate(queries)
        d = ((Z[q][:, None, :] - prototypes[None]) ** 2).sum(-1)
        truth = np.repeat(np.arange(n_way), n_query)
        accuracies[e] = np.mean(d.argmin(1) == truth)
    return FewShotScore(
        float(accuracies.mean()), float(1.96 * accuracies.std() / np.sqrt(n_episodes))
    )


# retrieval_scores' default chunk: about this many neighbour indices, at most this many
# queries (faiss searches large chunks much faster than small ones).
_CHUNK_NEIGHBORS = 1 << 24
_MAX_CHUNK = 16384

#: Neighbour search backends of :func:`retrieval_scores`.
BACKENDS = ("auto", "sklearn", "faiss")


def _backend(backend):
    """The backend ``backend`` names: ``"auto"`` is faiss when it imports."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    if backend == "sklearn":
        return backend
    try:
        import faiss  # noqa: F401
    except ImportError:
        if backend == "faiss":
            raise ImportError(
                "backend='faiss' needs faiss: pip install 'sk-embed[faiss]' (faiss-cpu)"
            ) from None
        return "sklearn"
    return "faiss"


def _neighbors(Z_ref, Z_query, k, chunk_size, backend="sklearn"):
    """Indices of the ``k`` nearest references of each query, in query chunks of
    ``chunk_size`` so memory stays ``chunk_size * k``, not ``n_query * k``; exact
    Euclidean search with scikit-learn's ``NearestNeighbors`` or faiss's flat index
    (float32)."""
    if backend == "faiss":
        import faiss

        index = faiss.IndexFlatL2(Z_ref.shape[1])
        index.add(np.ascontiguousarray(Z_ref, dtype=np.float32))
        for start in range(0, len(Z_query), chunk_size):
            chunk = np.ascontiguousarray(Z_query[start : start + chunk_size], dtype=np.float32)
            yield start, index.search(chunk, k)[1]
        return
    nn = NearestNeighbors(n_neighbors=k).fit(Z_ref)
    for start in range(0, len(Z_query), chunk_size):
        yield start, nn.kneighbors(Z_query[start : start + chunk_size], return_distance=False)


def _retrieval(
    Z_query, y_query, Z_ref, y_ref, chunk_size, *, ks=(), same=False, missing=None,
    backend="sklearn",
):  # fmt: skip
    """Per query: precision@1, average precision at R, R-precision and the hit of each
    recall@k, R = the number of references of the query's class (Musgrave et al., 2020).
    With ``same``, the queries are the references and each is left out of its own
    neighbours."""
    Z_query, y_query = check_array(Z_query), np.asarray(y_query)
    Z_ref, y_ref = (Z_query, y_query) if same else (check_array(Z_ref), np.asarray(y_ref))
    check_consistent_length(Z_query, y_query)
    check_consistent_length(Z_ref, y_ref)
    classes, counts = np.unique(y_ref, return_counts=True)
    R_of = dict(zip(classes.tolist(), counts.tolist()))
    R = np.array([R_of.get(label, 0) for label in y_query.tolist()]) - same
    if (R <= 0).any():
        raise ValueError(missing or "a query's class has no reference to retrieve")
    n_found = min(max([int(R.max()), *ks]) + same, len(Z_ref))
    if chunk_size is None:
        chunk_size = max(1, min(_MAX_CHUNK, _CHUNK_NEIGHBORS // n_found))
    p1, ap, rp = (np.empty(len(Z_query)) for _ in range(3))
    recall = {v: np.empty(len(Z_query)) for v in ks}
    for start, idx in _neighbors(Z_ref, Z_query, n_found, chunk_size, backend):
        rows = np.arange(start, start + len(idx))
        if same:  # leave each query out of its own neighbours
            mine = idx == rows[:, None]
            drop = np.where(mine.any(1), mine.argmax(1), idx.shape[1] - 1)
            keep = np.ones_like(idx, dtype=bool)
            keep[np.arange(len(idx)), drop] = False
            idx = idx[keep].reshape(len(idx), -1)
        hits = y_ref[idx] == y_query[rows, None]
        r = R[rows]
        relevant = hits & (np.arange(hits.shape[1]) < r[:, None])  # the first R count
        precision_at_i = np.cumsum(relevant, axis=1) / np.arange(1, hits.shape[1] + 1)
        p1[rows] = relevant[:, 0]
        ap[rows] = (precision_at_i * relevant).sum(1) / r
        rp[rows] = relevant.sum(1) / r
        for v in ks:
            recall[v][rows] = hits[:, :v].any(1)
    return p1, ap, rp, recall


def _test_against_train(Z_train, y_train, Z_test, y_test, chunk_size):
    """Per test query: precision@1 and average precision at R, the training set the
    references."""
    p1, ap, _, _ = _retrieval(
        Z_test, y_test, Z_train, y_train, chunk_size,
        missing="a test class has no training sample to retrieve",
    )  # fmt: skip
    return p1, ap


class RetrievalScores(NamedTuple):
    """Retrieval scores of query embeddings against reference embeddings.

    Attributes
    ----------
    recall_at_k : dict
        ``{k: recall@k}``: the share of queries with a reference of their class among
        their ``k`` nearest.
    precision_at_1 : float
        The share of queries whose nearest reference has their class.
    r_precision : float
        The mean precision among each query's R nearest references.
    map_at_r : float
        The mean average precision at R.
    """

    recall_at_k: dict
    precision_at_1: float
    r_precision: float
    map_at_r: float


def retrieval_scores(
    Z_query, y_query, Z_ref=None, y_ref=None, *, k=(1, 5, 10), chunk_size=None, backend="auto"
):
    """Recall@k, precision@1, R-precision and MAP@R of queries against references.

    The protocol of metric-learning benchmarks (Musgrave et al., 2020): for each query,
    R is the number of references of its class; neighbours are Euclidean. Without a
    reference set, the queries are their own references and each query is left out of
    its own neighbours. Neighbours are searched exactly, in chunks of ``chunk_size``
    queries, so memory stays ``chunk_size`` times the number of neighbours needed (R
    of the largest class; about 2**24 indices by default), with faiss when it is
    installed (the ``faiss`` extra) and scikit-learn's ``NearestNeighbors`` otherwise.
    Both give the same scores, up to the order of references at the same distance
    (faiss computes in float32).

    Parameters
    ----------
    Z_query : array-like of shape (n_query, n_components)
        The embeddings of the queries, e.g. ``transform`` of held-out samples.
    y_query : array-like of shape (n_query,)
        Their labels.
    Z_ref, y_ref : array-like of shape (n_ref, n_components) and (n_ref,), optional
        The references; default the queries themselves.
    k : tuple of int, default=(1, 5, 10)
        The ``k`` of recall@k: the share of queries with a reference of their class
        among their ``k`` nearest.
    chunk_size : int or None, default=None
        Queries per search; None fits about 2**24 neighbour indices in a chunk (at most
        16384 queries): large chunks keep faiss's search fast.
    backend : {"auto", "sklearn", "faiss"}, default="auto"
        The neighbour search; ``"auto"`` is faiss when it imports.

    Returns
    -------
    RetrievalScores
        ``recall_at_k`` ({k: value}), ``precision_at_1``, ``r_precision`` (precision
        among the R nearest) and ``map_at_r``; precision@1, R-precision and MAP@R are
        those of pytorch-metric-learning's ``AccuracyCalculator``.

    Raises
    ------
    ValueError
        When a query's class has no reference.
    """
    values = list(k) if isinstance(k, (list, tuple, np.ndarray)) else [k]
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, Integral) or v < 1]
    if bad or not values:
        raise ValueError(
            f"k={k!r}: each k of recall@k must be an integer of at least 1 (a tuple of them, "
            f"e.g. k=(1, 5, 10)); got {bad[0] if bad else 'none'!r}."
        )
    if (Z_ref is None) != (y_ref is None):
        given, missing = ("Z_ref", "y_ref") if y_ref is None else ("y_ref", "Z_ref")
        raise ValueError(
            f"{given} was given without {missing}: pass both (the references and their "
            "labels), or neither to search the queries among themselves."
        )
    ks = sorted(set(int(v) for v in values))
    p1, ap, rp, recall = _retrieval(
        Z_query, y_query, Z_ref, y_ref, chunk_size, ks=ks, same=Z_ref is None,
        backend=_backend(backend),
    )  # fmt: skip
    return RetrievalScores(
        {v: float(recall[v].mean()) for v in ks},
        float(p1.mean()),
        float(rp.mean()),
        float(ap.mean()),
    )


def precision_at_1(Z_train, y_train, Z_test, y_test, *, chunk_size=256):
    """Share of test embeddings whose nearest training embedding has their class.

    Parameters
    ----------
    Z_train : array-like of shape (n_train, n_components)
        The reference embeddings, e.g. ``transform`` of the training samples.
    y_train : array-like of shape (n_train,)
        Their labels.
    Z_test : array-like of shape (n_test, n_components)
        The embeddings to score, e.g. ``transform`` of held-out samples.
    y_test : array-like of shape (n_test,)
        Their labels.
    chunk_size : int, default=256
        Test queries per neighbour search.

    Returns
    -------
    float
    """
    return float(_test_against_train(Z_train, y_train, Z_test, y_test, chunk_size)[0].mean())


def map_at_r(Z_train, y_train, Z_test, y_test, *, chunk_size=256):
    """Mean average precision at R (Musgrave et al., 2020).

    For each test embedding, R is the number of training embeddings of its class; over
    its R nearest training embeddings, ``AP@R = 1/R * sum_i P(i) * rel(i)`` with P(i)
    the precision among the first i. Neighbours are searched in chunks of test points,
    so memory stays bounded for 100 000 points.

    Parameters
    ----------
    Z_train : array-like of shape (n_train, n_components)
        The reference embeddings, e.g. ``transform`` of the training samples.
    y_train : array-like of shape (n_train,)
        Their labels.
    Z_test : array-like of shape (n_test, n_components)
        The embeddings to score, e.g. ``transform`` of held-out samples.
    y_test : array-like of shape (n_test,)
        Their labels.
    chunk_size : int, default=256
        Test queries per neighbour search.

    Returns
    -------
    float
    """
    return float(_test_against_train(Z_train, y_train, Z_test, y_test, chunk_size)[1].mean())


def compactness_ratio(Z, y):
    """Mean distance of samples to their class mean over the mean distance between class
    means: lower means tighter, better separated classes.

    Parameters
    ----------
    Z : array-like of shape (n, n_components)
        The embeddings, e.g. ``transform`` of held-out samples.
    y : array-like of shape (n,)
        Their labels; at least two classes.

    Returns
    -------
    float
    """
    Z = check_array(Z)
    y = np.asarray(y)
    check_consistent_length(Z, y)
    classes, inverse = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("compactness_ratio needs at least two classes")
    means = np.stack([Z[inverse == k].mean(0) for k in range(len(classes))])
    intra = np.linalg.norm(Z - means[inverse], axis=1).mean()
    between = np.linalg.norm(means[:, None] - means[None], axis=2)
    inter = between[~np.eye(len(classes), dtype=bool)].mean()
    return float(intra / inter)


@dataclass
class Split:
    """Training and held-out embeddings with their labels: what a metric scores.

    Parameters
    ----------
    Z_train, y_train, Z_test, y_test : ndarray
        Embeddings and labels of the reference (training) and held-out sets.
    n_neighbors : int, default=5
        ``k`` of the kNN accuracy.
    """

    Z_train: np.ndarray
    y_train: np.ndarray
    Z_test: np.ndarray
    y_test: np.ndarray
    n_neighbors: int = 5
    _cache: dict = field(default_factory=dict, repr=False)

    def retrieval(self):
        """Per test query ``(precision@1, AP@R)``, computed once per split (two metrics
        share it).

        Returns
        -------
        p1, ap : ndarray of shape (n_test,)
        """
        if "retrieval" not in self._cache:
            self._cache["retrieval"] = _test_against_train(
                self.Z_train, self.y_train, self.Z_test, self.y_test, 256
            )
        return self._cache["retrieval"]


class Metric(NamedTuple):
    """One entry of :data:`METRICS`: ``score(split) -> float`` and a line for help texts.

    Attributes
    ----------
    score : callable
        ``score(split) -> float``, given a :class:`Split`.
    summary : str
        What the score says, in a few words (the command's help shows it).
    """

    score: Callable
    summary: str


#: The scores of an embedded space: adding one is one entry here. They drive
#: :func:`embedding_scores`, the benchmark's columns and the command's help.
METRICS = {
    "knn_accuracy": Metric(
        lambda s: knn_accuracy(s.Z_train, s.y_train, s.Z_test, s.y_test, n_neighbors=s.n_neighbors),
        "held-out k-NN accuracy",
    ),
    "silhouette": Metric(lambda s: silhouette(s.Z_test, s.y_test), "held-out silhouette"),
    "precision_at_1": Metric(
        lambda s: float(s.retrieval()[0].mean()), "nearest training embedding has the class"
    ),
    "map_at_r": Metric(lambda s: float(s.retrieval()[1].mean()), "mean average precision at R"),
    "compactness": Metric(
        lambda s: compactness_ratio(s.Z_test, s.y_test),
        "within-class over between-class distance (lower is better)",
    ),
}


def embedding_scores(estimator, X_train, y_train, X_test, y_test, *, n_neighbors=5):
    """Every score of an embedded space in one call.

    Parameters
    ----------
    estimator : fitted transformer, or None
        Its ``transform`` gives the embeddings; with None, ``X_train`` and ``X_test``
        are embeddings already.
    X_train, y_train, X_test, y_test : array-like
        The split: references / kNN training set, and held-out queries.
    n_neighbors : int, default=5
        ``k`` of the kNN accuracy.

    Returns
    -------
    dict
        ``accuracy`` (the estimator's own ``score``, NaN without one), then one entry
        per :data:`METRICS` key.
    """
    if estimator is not None:
        Z_train, Z_test = estimator.transform(X_train), estimator.transform(X_test)
    else:
        Z_train, Z_test = X_train, X_test
    split = Split(*map(np.asarray, (Z_train, y_train, Z_test, y_test)), n_neighbors)
    has_score = estimator is not None and hasattr(estimator, "predict")
    scores = {"accuracy": float(estimator.score(X_test, y_test)) if has_score else float("nan")}
    scores.update({name: metric.score(split) for name, metric in METRICS.items()})
    return scores


__all__ = [
    "METRICS",
    "FewShotScore",
    "Metric",
    "Split",
    "compactness_ratio",
    "embedding_scores",
    "few_shot_accuracy",
    "knn_accuracy",
    "map_at_r",
    "open_set_auroc",
    "open_set_scores",
    "oscr",
    "OpenSetScores",
    "retrieval_scores",
    "RetrievalScores",
    "precision_at_1",
    "silhouette",
]

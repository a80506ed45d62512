"""Scores of an embedded space, built on scikit-learn's own pieces."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.metrics import roc_auc_score, silhouette_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_consistent_length


def silhouette(Z, y, *, sample_size=5000, random_state=0):
    """Mean silhouette coefficient of the classes in the embedding ``Z``.

    scikit-learn's ``silhouette_score`` (Euclidean), on a random sample of
    ``sample_size`` points when there are more, so memory stays bounded.
    """
    Z = check_array(Z)
    check_consistent_length(Z, y)
    sample_size = sample_size if sample_size is not None and len(Z) > sample_size else None
    return float(silhouette_score(Z, y, sample_size=sample_size, random_state=random_state))


def knn_accuracy(Z_train, y_train, Z_test, y_test, *, n_neighbors=5):
    """Held-out accuracy of a k-nearest-neighbour classifier in the embedded space.

    Fit scikit-learn's ``KNeighborsClassifier`` on the training embeddings and score it
    on the held-out ones.
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


class FewShotScore(NamedTuple):
    """Mean episode accuracy and the half-width of its 95% interval."""

    mean: float
    ci95: float


def few_shot_accuracy(Z, y, n_way, k_shot, n_query=15, n_episodes=600, random_state=None):
    """N-way K-shot accuracy of nearest-class-mean classification on frozen embeddings.

    Each episode draws ``n_way`` classes (among those with at least ``k_shot + n_query``
    samples), ``k_shot`` support and ``n_query`` query samples of each, without
    replacement; each query goes to the class whose support mean is nearest
    (Euclidean). Returns the mean accuracy over episodes and the half-width of its 95%
    interval, ``1.96 * sd / sqrt(n_episodes)`` (population sd of the episode accuracies).

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


__all__ = ["FewShotScore", "few_shot_accuracy", "knn_accuracy", "open_set_auroc", "silhouette"]

"""Scores of an embedded space, built on scikit-learn's own pieces."""

from __future__ import annotations

from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier
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


__all__ = ["knn_accuracy", "silhouette"]

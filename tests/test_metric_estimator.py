"""Center, contrastive, triplet and regression through the estimator, on digits."""

import numpy as np
import pytest

from sk_embed import EmbeddingClassifier
from sk_embed.metrics import silhouette

QUICK = {"max_epochs": 3, "random_state": 0}


def test_center_loss_is_more_compact_than_softmax(digits_split):
    """The seed paper's claim, on the held-out embedding in 2-D."""
    X_train, X_test, y_train, y_test = digits_split
    sil = {}
    for loss in ("softmax", "center"):
        clf = EmbeddingClassifier(loss=loss, random_state=0).fit(X_train, y_train)
        sil[loss] = silhouette(clf.transform(X_test), y_test)
    assert sil["center"] > sil["softmax"]


@pytest.mark.parametrize("loss", ["contrastive", "triplet"])
def test_pair_techniques_predict_by_nearest_mean_embedding(small, loss):
    X, y = small
    clf = EmbeddingClassifier(loss=loss, n_components=3, loss__temperature=0.5, **QUICK).fit(X, y)
    Z = clf.transform(X)
    means = np.stack([Z[y == c].mean(0) for c in clf.classes_])
    np.testing.assert_allclose(clf.class_centers_, means, rtol=1e-4, atol=1e-5)
    sq = ((Z[:, None, :] - means[None]) ** 2).sum(-1)
    np.testing.assert_allclose(clf.decision_function(X), -sq, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[sq.argmin(1)])
    e = np.exp(-sq / 0.5 - (-sq / 0.5).max(1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), e / e.sum(1, keepdims=True), atol=1e-5)


def test_pair_techniques_train_on_balanced_batches(small):
    X, y = small
    clf = EmbeddingClassifier(loss="triplet", **QUICK).fit(X, y)
    assert clf.net_.iterator_train__samples_per_class == 4
    plain = EmbeddingClassifier(loss="triplet", iterator_train__samples_per_class=None, **QUICK)
    assert plain.fit(X, y).net_.iterator_train__samples_per_class is None
    softmax = EmbeddingClassifier(iterator_train__samples_per_class=8, **QUICK).fit(X, y)
    assert softmax.net_.iterator_train__samples_per_class == 8


def test_triplet_normalize_puts_the_embedding_on_the_sphere(small):
    X, y = small
    clf = EmbeddingClassifier("triplet", loss__normalize=True, loss__margin=0.2, **QUICK)
    Z = clf.fit(X, y).transform(X)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-5)


def test_center_loss_centers_and_normalized_variant(small):
    X, y = small
    clf = EmbeddingClassifier("center", normalize_weights=True, **QUICK).fit(X, y)
    np.testing.assert_allclose(
        clf.class_centers_, clf.net_.criterion_.class_centers.numpy(), rtol=1e-6
    )
    assert clf.net_.module_.head.bias is None
    assert not np.allclose(clf.class_centers_, 0)


@pytest.mark.parametrize("targets", ["circle", "grid", "sphere"])
def test_regression_predicts_the_nearest_target(small, targets):
    X, y = small
    clf = EmbeddingClassifier("regression", loss__targets=targets, **QUICK).fit(X, y)
    Z = clf.transform(X)
    sq = ((Z[:, None, :] - clf.class_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[sq.argmin(1)])
    norms = np.linalg.norm(clf.class_centers_, axis=1)
    if targets != "grid":
        np.testing.assert_allclose(norms, 3.0, rtol=1e-5)  # the default radius


def test_regression_with_an_array_of_targets(small):
    X, y = small
    T = np.array([[0, 0], [4, 0], [0, 4], [4, 4], [2, 2]], dtype=float)
    clf = EmbeddingClassifier("regression", loss__targets=T, **QUICK).fit(X, y)
    np.testing.assert_allclose(clf.class_centers_, T)


def test_regression_simplex_needs_dimensions(small):
    X, y = small
    with pytest.raises(ValueError, match="n_components >= n_classes - 1 = 4"):
        EmbeddingClassifier("regression", loss__targets="simplex", **QUICK).fit(X, y)
    clf = EmbeddingClassifier("regression", n_components=4, loss__targets="simplex", **QUICK)
    assert clf.fit(X, y).class_centers_.shape == (5, 4)


def test_sphere_targets_depend_on_random_state_only(small):
    X, y = small

    def fit(seed):
        return (
            EmbeddingClassifier("regression", n_components=3, max_epochs=1, random_state=seed)
            .fit(X, y)
            .class_centers_
        )

    np.testing.assert_array_equal(fit(0), fit(0))
    assert not np.allclose(fit(0), fit(1))


@pytest.mark.parametrize("loss", ["contrastive", "triplet", "regression"])
def test_normalize_weights_does_not_apply_without_a_classifier(small, loss):
    X, y = small
    with pytest.raises(ValueError, match="no linear classifier"):
        EmbeddingClassifier(loss, normalize_weights=True, **QUICK).fit(X, y)


def test_unknown_mining_is_named(small):
    X, y = small
    with pytest.raises(ValueError, match="loss__mining='hardest' is not one of"):
        EmbeddingClassifier("triplet", loss__mining="hardest", **QUICK).fit(X, y)

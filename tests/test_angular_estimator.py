"""The angular and virtual-class techniques through the estimator, on digits (and the
held-out accuracy bar of every technique)."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sk_embed import EmbeddingClassifier, available_losses
from sk_embed.metrics import silhouette

QUICK = dict(max_epochs=3, random_state=0)


@pytest.mark.parametrize(
    "loss", sorted(set(available_losses()) - {"softmax", "normalized_softmax"})
)
def test_held_out_accuracy_with_defaults_in_2d(digits_split, loss):
    """Every technique beyond the softmax pair reaches 0.88 on digits in 2-D."""
    X_train, X_test, y_train, y_test = digits_split
    clf = EmbeddingClassifier(loss=loss, random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.88


def test_cosface_margin_makes_classes_more_compact(digits_split):
    """The seed paper's claim: silhouette rises from m = 0 to m = 0.2 (2-D)."""
    X_train, X_test, y_train, y_test = digits_split
    sil = {}
    for margin in (0.0, 0.2):
        with pytest.warns(UserWarning, match="bound") if margin > 0.191 else _nothing():
            clf = EmbeddingClassifier("cosface", loss__margin=margin, random_state=0)
            clf.fit(X_train, y_train)
        sil[margin] = silhouette(clf.transform(X_test), y_test)
    assert sil[0.2] > sil[0.0]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("loss", ["cosface", "arcface", "sphereface"])
def test_angular_surface(small, loss):
    X, y = small
    clf = EmbeddingClassifier(loss=loss, n_components=3, **QUICK).fit(X, y)
    Z = clf.transform(X)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(clf.class_centers_, axis=1), 1.0, rtol=1e-6)
    scores = clf.decision_function(X)
    cos = Z @ clf.class_centers_.T
    proba = clf.predict_proba(X)
    if loss == "sphereface":  # the logits ||z|| cos, whose softmax is predict_proba
        raw_norm = np.linalg.norm(
            clf.net_.module_.embed(clf._tensor(X)).detach().numpy(), axis=1, keepdims=True
        )
        np.testing.assert_allclose(scores, raw_norm * cos, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            proba, np.exp(scores) / np.exp(scores).sum(1, keepdims=True), rtol=1e-5, atol=1e-8
        )
    else:  # the cosine to each class direction
        np.testing.assert_allclose(scores, cos, atol=1e-5)
        scale = clf.net_.module_.head.scale
        expected = np.exp(scale * cos) / np.exp(scale * cos).sum(1, keepdims=True)
        np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))
    raw = EmbeddingClassifier(loss=loss, n_components=3, loss__project=False, **QUICK).fit(X, y)
    assert not np.allclose(np.linalg.norm(raw.transform(X), axis=1), 1.0)
    np.testing.assert_array_equal(raw.predict(X), clf.predict(X))


def test_virtual_softmax_training_loss_stays_above_ln2(small):
    X, y = small
    clf = EmbeddingClassifier("virtual_softmax", max_epochs=10, random_state=0).fit(X, y)
    assert min(clf.history_[:, "train_loss"]) >= np.log(2) - 1e-6
    assert clf.net_.module_.head.bias is None


def test_grid_search_over_cosface_margin(small):
    X, y = small
    search = GridSearchCV(
        EmbeddingClassifier(loss="cosface", **QUICK), {"loss__margin": [0.0, 0.05, 0.2]}, cv=2
    ).fit(X, y)
    margins = [p["loss__margin"] for p in search.cv_results_["params"]]
    assert margins == [0.0, 0.05, 0.2]
    assert search.best_estimator_.net_.criterion_.margin == search.best_params_["loss__margin"]


def test_grid_search_over_the_loss_itself(small):
    X, y = small
    losses = ["softmax", "cosface", "arcface", "sphereface", "virtual_softmax"]
    search = GridSearchCV(EmbeddingClassifier(**QUICK), {"loss": losses}, cv=2).fit(X, y)
    assert [p["loss"] for p in search.cv_results_["params"]] == losses


def test_sphereface_margin_must_be_an_integer(small):
    X, y = small
    with pytest.raises(ValueError, match="integer >= 1"):
        EmbeddingClassifier("sphereface", loss__margin=1.5, **QUICK).fit(X, y)


def test_normalize_weights_reaches_virtual_softmax(small):
    X, y = small
    clf = EmbeddingClassifier("virtual_softmax", normalize_weights=True, **QUICK).fit(X, y)
    assert clf.net_.module_.head.normalize_weights
    # angular heads have unit weights by definition: the option is accepted and moot
    clf = EmbeddingClassifier("cosface", normalize_weights=True, **QUICK).fit(X, y)
    np.testing.assert_allclose(np.linalg.norm(clf.class_centers_, axis=1), 1.0, rtol=1e-6)

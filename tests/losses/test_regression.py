"""Tests of sk_embed/losses/regression.py."""

import numpy as np
import pytest
import torch
from formula import batch as _batch
from formula import distance as _d

from sk_embed import EmbeddingClassifier
from sk_embed.losses import get_technique


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_regression_matches_formula_loop(dtype):
    T = np.arange(8.0).reshape(4, 2) / 4  # exact in float32, the buffer dtype
    head, loss = get_technique("regression").build(2, 4, params={"targets": T})
    head, loss = head.to(dtype), loss.to(dtype)
    z, y = _batch(dtype, d=2)
    want = sum(_d(zi, T[yi].tolist()) for zi, yi in zip(z.double().tolist(), y.tolist())) / len(y)
    got = loss(head(z), z, y, head).item()
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert got == pytest.approx(want, rel=tol)


@pytest.mark.parametrize(
    "targets,d,match",
    [
        ("simplex", 3, "needs n_components >= n_classes - 1 = 4"),
        ("circle", 3, "2-D layout"),
        ("hexagon", 2, "loss__targets.*must be a str among"),
        (np.zeros((4, 2)), 2, r"shape \(4, 2\).*\(5, 2\)"),
        (np.full((5, 2), np.nan), 2, "NaN"),
    ],
)
def test_bad_targets(targets, d, match):
    with pytest.raises(ValueError, match=match):
        get_technique("regression").build(d, 5, params={"targets": targets})


QUICK = {"max_epochs": 3, "tol": None, "random_state": 0}


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
            EmbeddingClassifier(
                "regression", n_components=3, max_epochs=1, tol=None, random_state=seed
            )
            .fit(X, y)
            .class_centers_
        )

    np.testing.assert_array_equal(fit(0), fit(0))
    assert not np.allclose(fit(0), fit(1))


def _confused_pairs(n=60, seed=0):
    """Six classes in three pairs whose samples overlap (0-3, 1-4, 2-5) and lie far from
    the other pairs; the labels put each pair's classes apart."""
    rng = np.random.default_rng(seed)
    centers = {0: (0, 0), 3: (0.5, 0), 1: (20, 0), 4: (20.5, 0), 2: (0, 20), 5: (0.5, 20)}
    X = np.concatenate([rng.normal(centers[c], 1.0, (n, 2)) for c in range(6)])
    return np.column_stack([X, rng.normal(size=(len(X), 3))]), np.repeat(np.arange(6), n)


def test_alike_classes_get_neighbouring_targets_on_the_circle():
    """The default assign="similar": each pair of overlapping classes sits on adjacent
    points of the hexagon; in label order (assign="labels") every pair is opposite."""
    X, y = _confused_pairs()
    gap = 2 * 3.0 * np.sin(np.pi / 6)  # adjacent points of the radius-3 hexagon

    def pair_distances(**params):
        clf = EmbeddingClassifier("regression", max_epochs=1, tol=None, **params).fit(X, y)
        C = clf.class_centers_
        return [np.linalg.norm(C[a] - C[a + 3]) for a in range(3)]

    for seed in range(3):
        np.testing.assert_allclose(pair_distances(random_state=seed), gap, rtol=1e-5)
    np.testing.assert_allclose(
        pair_distances(random_state=0, loss__assign="labels"), 6.0, rtol=1e-5
    )


def test_an_array_of_targets_is_never_reassigned():
    X, y = _confused_pairs()
    T = 3.0 * np.column_stack([np.cos(np.arange(6) * np.pi / 3), np.sin(np.arange(6) * np.pi / 3)])
    clf = EmbeddingClassifier("regression", loss__targets=T, **QUICK).fit(X, y)
    np.testing.assert_array_equal(clf.class_centers_, T.astype(np.float32))
    with pytest.raises(ValueError, match="loss__assign"):
        EmbeddingClassifier("regression", loss__assign="nearest", **QUICK).fit(X, y)


def test_going_on_keeps_the_assignment(small):
    """Only a fresh fit assigns: partial_fit and warm starts go on with the targets."""
    X, y = small
    clf = EmbeddingClassifier("regression", warm_start=True, **QUICK).fit(X, y)
    before = clf.class_centers_.copy()
    clf.partial_fit(X[::-1], y[::-1])
    clf.fit(X[:150], y[:150])
    np.testing.assert_array_equal(clf.class_centers_, before)

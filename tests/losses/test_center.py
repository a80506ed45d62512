"""Tests of sk_embed/losses/center.py."""

import math

import numpy as np
import pytest
import torch
from formula import batch as _batch
from formula import distance as _d

from sk_embed import EmbeddingClassifier
from sk_embed.losses import get_technique
from sk_embed.metrics import silhouette


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_center_loss_and_update_match_the_paper(dtype):
    head, loss = get_technique("center").build(3, 4, params={"center_weight": 0.2, "alpha": 0.5})
    head, loss = head.to(dtype), loss.to(dtype)
    with torch.no_grad():
        head.centers.copy_(torch.randn(4, 3))
    z, y = _batch(dtype)
    C0 = head.centers.double().tolist()
    W, b = head.weight.detach().double().tolist(), head.bias.detach().double().tolist()
    zl, yl = z.double().tolist(), y.tolist()
    want = 0.0
    for zi, yi in zip(zl, yl):
        logits = [sum(w[k] * zi[k] for k in range(3)) + b[j] for j, w in enumerate(W)]
        m = max(logits)
        ce = m + math.log(sum(math.exp(v - m) for v in logits)) - logits[yi]
        want += ce + 0.2 / 2 * _d(zi, C0[yi])
    want /= len(zl)
    loss.train()
    got = loss(head(z), z, y, head).item()
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert got == pytest.approx(want, rel=tol)
    assert head.centers.double().tolist() == C0  # the loss only reads the centers
    # the head moves them after the optimizer step
    head.after_step(z, y)
    # c_j -= alpha * sum_i (c_j - z_i) / (1 + n_j)
    for j in range(4):
        members = [zi for zi, yi in zip(zl, yl) if yi == j]
        step = [sum(C0[j][k] - zi[k] for zi in members) / (1 + len(members)) for k in range(3)]
        expected = [C0[j][k] - 0.5 * step[k] for k in range(3)]
        assert head.centers[j].double().tolist() == pytest.approx(expected, rel=tol, abs=tol)


def test_center_loss_does_not_move_centers_outside_training(small):
    X, y = small
    clf = EmbeddingClassifier("center", early_stopping=True, **QUICK).fit(X, y)
    centers = clf.class_centers_
    clf.predict(X), clf.score_samples(X), clf.transform(X)
    np.testing.assert_array_equal(clf.class_centers_, centers)
    head = clf.net_.module_.head
    assert not any(p is head.centers for p in head.parameters())


QUICK = {"max_epochs": 3, "tol": None, "random_state": 0}


@pytest.mark.quality
def test_center_loss_is_more_compact_than_softmax(digits_split, seed, record_property):
    """The seed paper's claim, on the held-out embedding in 2-D."""
    X_train, X_test, y_train, y_test = digits_split
    sil = {}
    for loss in ("softmax", "center"):
        clf = EmbeddingClassifier(loss=loss, random_state=seed).fit(X_train, y_train)
        sil[loss] = silhouette(clf.transform(X_test), y_test)
    record_property("silhouette_gain", float(sil["center"] - sil["softmax"]))
    assert sil["center"] > sil["softmax"]  # by 0.190 to 0.283 (quality_margins.py, 12 runs)


def test_center_loss_centers_and_normalized_variant(small):
    X, y = small
    clf = EmbeddingClassifier("center", loss__normalize_weights=True, **QUICK).fit(X, y)
    np.testing.assert_allclose(clf.class_centers_, clf.net_.module_.head.centers.numpy(), rtol=1e-6)
    assert clf.net_.module_.head.bias is None
    assert not np.allclose(clf.class_centers_, 0)

"""Tests of sk_embed/losses/virtual_softmax.py."""

import math

import numpy as np
import pytest
import torch

from sk_embed import EmbeddingClassifier
from sk_embed.losses import get_technique

QUICK = dict(max_epochs=3, tol=None, random_state=0)


def test_virtual_softmax_training_loss_stays_above_ln2(small):
    X, y = small
    clf = EmbeddingClassifier("virtual_softmax", max_epochs=10, tol=None, random_state=0).fit(X, y)
    assert min(clf.history_[:, "train_loss"]) >= np.log(2) - 1e-6
    assert clf.net_.module_.head.bias is None


def test_normalize_weights_reaches_virtual_softmax(small):
    X, y = small
    clf = EmbeddingClassifier("virtual_softmax", loss__normalize_weights=True, **QUICK).fit(X, y)
    assert clf.net_.module_.head.normalize_weights
    # angular heads have unit weights by definition: the option is accepted and moot
    clf = EmbeddingClassifier("cosface", loss__normalize_weights=True, **QUICK).fit(X, y)
    np.testing.assert_allclose(np.linalg.norm(clf.class_centers_, axis=1), 1.0, rtol=1e-6)


def test_virtual_softmax_never_below_ln2():
    torch.manual_seed(0)
    head, loss = get_technique("virtual_softmax").build(3, 4)
    for _ in range(20):
        z = 10 * torch.randn(8, 3)
        y = torch.randint(0, 4, (8,))
        assert loss(head(z), z, y, head).item() >= math.log(2) - 1e-6
    # a sample on its class direction with a huge norm reaches the bound
    z = 1e3 * head.weight.detach()[[0]]
    assert loss(head(z), z, torch.tensor([0]), head).item() == pytest.approx(math.log(2), rel=1e-4)

"""Tests of sk_embed/losses/pairs.py."""

import numpy as np
import pytest
import torch
from formula import batch as _batch
from formula import brute_force
from hypothesis import given, settings
from hypothesis import strategies as st

from sk_embed import EmbeddingClassifier
from sk_embed.losses import get_technique
from sk_embed.losses._pairs import mine, pair_distances


@pytest.mark.parametrize("how", ["all", "batch_hard", "semi_hard"])
@pytest.mark.parametrize("seed", range(4))
def test_miner_equals_brute_force(how, seed):
    z, y = _batch(torch.float64, n=12, C=3, seed=seed)
    d = pair_distances(z)
    got = {tuple(int(v) for v in t) for t in zip(*mine(d, y, how))}
    assert got == brute_force(d.tolist(), y.tolist(), how)


def test_random_miner_draws_one_valid_triplet_per_anchor():
    torch.manual_seed(0)
    z, y = _batch(torch.float64, n=12, C=3)
    y[0] = 3  # an anchor without positives gives no triplet
    a, p, n = mine(pair_distances(z), y, "random")
    assert sorted(a.tolist()) == [i for i in range(12) if i != 0]
    assert all(y[p] == y[a]) and all(p != a) and all(y[n] != y[a])


METRIC = ["center", "contrastive", "triplet", "regression"]


@st.composite
def _cases(draw):
    return (
        draw(st.sampled_from(METRIC)),
        draw(st.sampled_from(["one_class", "equal", "zero", "huge", "random"])),
        draw(st.integers(1, 8)),
        draw(st.sampled_from(["all", "batch_hard", "semi_hard", "random"])),
        draw(st.booleans()),
        draw(st.integers(0, 2**16)),
    )


@settings(max_examples=150, deadline=None)
@given(_cases())
def test_finite_loss_and_gradients(case):
    """One class in the batch, all-equal, zero and huge embeddings."""
    name, kind, n, mining, flag, seed = case
    torch.manual_seed(seed)
    params = {}
    if name == "triplet":
        params = {"mining": mining, "normalize": flag, "squared": not flag}
    if name == "contrastive":
        params = {"normalize": flag, "squared": not flag}
    head, loss = get_technique(name).build(3, 3, params=params)
    y = torch.zeros(n, dtype=torch.long) if kind == "one_class" else torch.randint(0, 3, (n,))
    z = {
        "equal": torch.ones(n, 3),
        "zero": torch.zeros(n, 3),
        "huge": 1e12 * torch.randn(n, 3),
    }.get(kind, torch.randn(n, 3))
    z.requires_grad_(True)
    value = loss(head(z), z, y, head)
    value.backward()
    assert torch.isfinite(value), (case, value)
    assert torch.isfinite(z.grad).all(), case


QUICK = {"max_epochs": 3, "tol": None, "random_state": 0}


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

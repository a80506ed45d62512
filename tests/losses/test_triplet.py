"""Tests of sk_embed/losses/triplet.py."""

import numpy as np
import pytest
import torch
from formula import batch as _batch
from formula import brute_force
from formula import distance as _d
from pytorch_metric_learning import losses as pml_losses  # noqa: E402
from pytorch_metric_learning import miners as pml_miners  # noqa: E402

from sk_embed import EmbeddingClassifier
from sk_embed.losses import get_technique


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "params",
    [
        {"mining": "all"},
        {"mining": "all", "average": "all", "margin": 0.3},
        {"mining": "batch_hard", "squared": False, "normalize": True, "margin": 0.2},
        {"mining": "semi_hard"},
    ],
)
def test_triplet_matches_formula_loop(params, dtype):
    head, loss = get_technique("triplet").build(3, 4, params=params)
    full = {**get_technique("triplet").parameters(), **params}
    z, y = _batch(dtype)
    zl = z.double().tolist()
    dist = [[_d(a, b, full["squared"], full["normalize"]) for b in zl] for a in zl]
    terms = [
        max(0.0, dist[a][p] - dist[a][q] + full["margin"])
        for a, p, q in brute_force(dist, y.tolist(), full["mining"])
    ]
    if full["average"] == "nonzero":
        terms = [t for t in terms if t > 0]
    want = sum(terms) / len(terms) if terms else 0.0
    got = loss(head(z), z, y, head).item()
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert got == pytest.approx(want, rel=tol, abs=tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mining", ["all", "batch_hard"])
def test_triplet_matches_pml(mining, dtype):
    params = {
        "squared": False,
        "normalize": True,
        "average": "nonzero",
        "margin": 0.2,
        "mining": mining,
    }
    head, loss = get_technique("triplet").build(8, 5, params=params)
    z, y = _batch(dtype, n=64, d=8, C=5)
    z1, z2 = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
    ours = loss(head(z1), z1, y, head)
    ref = pml_losses.TripletMarginLoss(margin=0.2)
    theirs = ref(z2, y) if mining == "all" else ref(z2, y, pml_miners.BatchHardMiner()(z2, y))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(z1.grad, z2.grad, rtol=1e-4, atol=1e-7)


QUICK = {"max_epochs": 3, "tol": None, "random_state": 0}


def test_triplet_normalize_puts_the_embedding_on_the_sphere(small):
    X, y = small
    clf = EmbeddingClassifier("triplet", loss__normalize=True, loss__margin=0.2, **QUICK)
    Z = clf.fit(X, y).transform(X)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-5)

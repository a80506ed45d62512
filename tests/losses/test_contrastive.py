"""Tests of sk_embed/losses/contrastive.py."""

import itertools

import pytest
import torch
from formula import batch as _batch
from formula import distance as _d
from pytorch_metric_learning import losses as pml_losses  # noqa: E402

from sk_embed.losses import get_technique


def loop_contrastive(z, y, margin, squared, normalize, average):
    pos, neg = [], []
    for i, j in itertools.combinations(range(len(z)), 2):
        D = _d(z[i], z[j], squared=False, normalize=normalize)
        if y[i] == y[j]:
            pos.append(0.5 * D * D if squared else D)
        else:
            h = max(0.0, margin - D)
            neg.append(0.5 * h * h if squared else h)

    def avg(v):
        if average == "nonzero":
            v = [x for x in v if x > 0]
        return sum(v) / len(v) if v else 0.0

    return avg(pos) + avg(neg)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"margin": 2.0, "squared": False},
        {"normalize": True, "average": "nonzero", "margin": 0.7},
    ],
)
def test_contrastive_matches_formula_loop(params, dtype):
    head, loss = get_technique("contrastive").build(3, 4, params=params)
    z, y = _batch(dtype)
    full = {**get_technique("contrastive").parameters(), **params}
    want = loop_contrastive(
        z.double().tolist(),
        y.tolist(),
        full["margin"],
        full["squared"],
        full["normalize"],
        full["average"],
    )
    got = loss(head(z), z, y, head).item()
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert got == pytest.approx(want, rel=tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_contrastive_matches_pml(dtype):
    params = {"squared": False, "normalize": True, "average": "nonzero", "margin": 1.0}
    head, loss = get_technique("contrastive").build(8, 5, params=params)
    z, y = _batch(dtype, n=64, d=8, C=5)
    z1, z2 = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
    ours = loss(head(z1), z1, y, head)
    theirs = pml_losses.ContrastiveLoss(pos_margin=0, neg_margin=1)(z2, y)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(z1.grad, z2.grad, rtol=1e-4, atol=1e-7)

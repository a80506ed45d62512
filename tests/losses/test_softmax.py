"""Tests of sk_embed/losses/softmax.py."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sk_embed.losses import get_technique


def _loop_softmax_loss(z, W, b, y, normalize, smoothing=0.0):
    """-log softmax(W z + b)_y per sample, averaged; W_j / ||W_j||, b = 0 if normalized."""
    n, C = len(z), len(W)
    total = 0.0
    for i in range(n):
        logits = []
        for j in range(C):
            norm = math.sqrt(sum(v * v for v in W[j])) if normalize else 1.0
            w = [v / norm for v in W[j]]
            logits.append(sum(w[k] * z[i][k] for k in range(len(w))) + (0 if normalize else b[j]))
        m = max(logits)
        log_norm = m + math.log(sum(math.exp(v - m) for v in logits))
        nll = log_norm - logits[y[i]]
        uniform = sum(log_norm - v for v in logits) / C
        total += (1 - smoothing) * nll + smoothing * uniform
    return total / n


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["softmax", "normalized_softmax"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_matches_formula_loop(name, dtype, smoothing):
    torch.manual_seed(0)
    head, loss = get_technique(name).build(3, 5, params={"label_smoothing": smoothing})
    head = head.to(dtype)
    z = torch.randn(17, 3, dtype=dtype)
    y = torch.randint(0, 5, (17,))
    got = loss(head(z), z, y, head).item()
    W = head.weight.detach().double().tolist()
    b = head.bias.detach().double().tolist() if head.bias is not None else None
    want = _loop_softmax_loss(z.double().tolist(), W, b, y.tolist(), name != "softmax", smoothing)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert got == pytest.approx(want, rel=tol, abs=tol)


_floats = st.sampled_from([0.0, 1e-30, 1e-8, 1.0, -1.0, 1e8, 1e15, -1e15])


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["softmax", "normalized_softmax"]),
    values=st.lists(_floats, min_size=2, max_size=8),
    n_classes=st.integers(2, 4),
    label=st.integers(0, 3),
)
def test_loss_and_gradients_finite(name, values, n_classes, label):
    """Zero, tiny, huge and one-sample embeddings give a finite loss and gradients."""
    torch.manual_seed(0)
    head, loss = get_technique(name).build(2, n_classes)
    z = torch.tensor(
        np.array(values[: len(values) // 2 * 2]).reshape(-1, 2),
        dtype=torch.float32,
        requires_grad=True,
    )
    y = torch.full((len(z),), label % n_classes)
    value = loss(head(z), z, y, head)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(z.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())

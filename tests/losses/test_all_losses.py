"""Property tests over every registered technique together: the loss and every gradient
stay finite on random and degenerate batches, weighted or not."""

import warnings

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sk_embed import available_losses
from sk_embed.losses import get_technique

KINDS = ("random", "one_class", "duplicates", "zeros", "one_sample", "large", "tiny")
WEIGHTS = (None, "random", "some_zero", "all_zero", "huge_and_tiny")


def _weights(kind, n, dtype):
    if kind is None:
        return {}
    w = torch.rand(n, dtype=dtype)
    if kind == "some_zero":
        w[::2] = 0
    elif kind == "all_zero":
        w = torch.zeros(n, dtype=dtype)
    elif kind == "huge_and_tiny":
        w = torch.where(torch.arange(n) % 2 == 0, 1e6, 1e-6).to(dtype)
    return {"sample_weight": w}


@st.composite
def _batches(draw):
    return (
        draw(st.sampled_from(available_losses())),
        draw(st.sampled_from(KINDS)),
        draw(st.integers(2, 6)),  # classes
        draw(st.integers(1, 5)),  # embedding dimension
        draw(st.integers(2, 12)),  # batch size
        draw(st.sampled_from([torch.float32, torch.float64])),
        draw(st.integers(0, 2**16)),
        draw(st.sampled_from(WEIGHTS)),
    )


def _batch(kind, n, n_classes, d, dtype):
    y = torch.randint(0, n_classes, (n,))
    z = torch.randn(n, d, dtype=dtype)
    if kind == "one_class":
        y = torch.full((n,), int(y[0]))
    elif kind == "duplicates":  # every sample the same point, labels mixed
        z = z[:1].expand(n, d).clone()
    elif kind == "zeros":
        z = torch.zeros(n, d, dtype=dtype)
    elif kind == "one_sample":
        z, y = z[:1], y[:1]
    elif kind == "large":
        z = 1e3 * z
    elif kind == "tiny":
        z = 1e-8 * z
    return z, y


@settings(max_examples=250, deadline=None)
@given(_batches())
def test_every_loss_and_gradient_is_finite_on_degenerate_batches(case):
    name, kind, n_classes, d, n, dtype, seed, weights = case
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreachable-margin warnings at tiny d
        head, loss = get_technique(name).build(d, n_classes)
    head, loss = head.to(dtype), loss.to(dtype)
    z, y = _batch(kind, n, n_classes, d, dtype)
    z.requires_grad_(True)
    value = loss(head(z), z, y, head, **_weights(weights, len(y), dtype))
    value.backward()
    assert value.dtype == dtype
    assert torch.isfinite(value), (name, kind, value)
    assert torch.isfinite(z.grad).all(), (name, kind)
    for p in [*head.parameters(), *loss.parameters()]:
        assert p.grad is None or torch.isfinite(p.grad).all(), (name, kind)

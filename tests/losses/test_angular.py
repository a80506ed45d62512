"""Tests of sk_embed/losses/angular.py."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sk_embed import EmbeddingClassifier
from sk_embed.losses import get_technique

QUICK = dict(max_epochs=3, tol=None, random_state=0)


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
            clf.net_.module_.embed(torch.tensor(X, dtype=torch.float32)).detach().numpy(),
            axis=1,
            keepdims=True,
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


ANGULAR = ["cosface", "arcface", "sphereface", "virtual_softmax"]


def _norm(v):
    return math.sqrt(sum(a * a for a in v))


def _cos(a, b):
    na, nb = _norm(a), _norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return sum(x * y for x, y in zip(a, b)) / (na * nb)


def _ce(logits, target):
    m = max(logits)
    return m + math.log(sum(math.exp(v - m) for v in logits)) - logits[target]


def _psi(theta, m):
    k = math.floor(m * theta / math.pi)
    return (-1) ** k * math.cos(m * theta) - 2 * k


def loop_loss(name, z, W, y, params, lam=None):
    """Each technique's per-sample formula, averaged over the batch."""
    total = 0.0
    for zi, yi in zip(z, y):
        cos = [_cos(zi, w) for w in W]
        if name == "cosface":
            s, m = params["scale"], params["margin"]
            logits = [s * (c - m) if j == yi else s * c for j, c in enumerate(cos)]
        elif name == "arcface":
            s, m = params["scale"], params["margin"]
            theta = math.acos(max(-1.0, min(1.0, cos[yi])))
            target = math.cos(theta + m) if theta + m <= math.pi else cos[yi] - m * math.sin(m)
            logits = [s * target if j == yi else s * c for j, c in enumerate(cos)]
        elif name == "sphereface":
            m = params["margin"]
            theta = math.acos(max(-1.0, min(1.0, cos[yi])))
            target = (lam * cos[yi] + _psi(theta, m)) / (1 + lam)
            logits = [_norm(zi) * (target if j == yi else c) for j, c in enumerate(cos)]
        elif name == "virtual_softmax":
            logits = [sum(a * b for a, b in zip(zi, w)) for w in W]
            logits.append(_norm(W[yi]) * _norm(zi))
        total += _ce(logits, yi)
    return total / len(z)


def _weight(head):
    return head.weight.detach().double().tolist()


def _batch(dtype, n=23, d=4, C=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = 3 * torch.randn(n, d, generator=g, dtype=dtype)
    y = torch.randint(0, C, (n,), generator=g)
    return z, y


CASES = [
    ("cosface", {"scale": 16.0, "margin": 0.1}),
    ("cosface", {"scale": 30.0, "margin": 0.35}),
    ("arcface", {"scale": 16.0, "margin": 0.2}),
    ("arcface", {"scale": 64.0, "margin": 0.5}),
    ("arcface", {"scale": 8.0, "margin": 2.5}),  # most targets take the fallback branch
    ("sphereface", {"margin": 4}),
    ("sphereface", {"margin": 2, "lambda_base": 0.0, "lambda_min": 0.0}),
    ("virtual_softmax", {}),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,params", CASES)
def test_matches_formula_loop(name, params, dtype):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        head, loss = get_technique(name).build(4, 6, params=params)
    head, loss = head.to(dtype), loss.to(dtype)
    z, y = _batch(dtype)
    lam = loss.current_lambda() if name == "sphereface" else None
    got = loss(head(z), z, y, head).item()
    full = {**get_technique(name).parameters(), **params}
    want = loop_loss(name, z.double().tolist(), _weight(head), y.tolist(), full, lam)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert got == pytest.approx(want, rel=tol, abs=tol)


@pytest.mark.parametrize(
    "name,C,d,margin,warns",
    [
        ("cosface", 10, 2, 0.2, True),  # bound 1 - cos(36 deg) = 0.191
        ("cosface", 10, 2, 0.19, False),
        ("cosface", 10, 9, 1.1, False),  # simplex: C/(C-1) = 1.111
        ("cosface", 10, 9, 1.2, True),
        ("arcface", 10, 2, 0.7, True),  # bound 2 pi / 10 = 0.628 rad
        ("arcface", 10, 2, 0.5, False),
    ],
)
def test_unreachable_margin_warns_with_the_bound(name, C, d, margin, warns):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_technique(name).build(d, C, params={"margin": margin})
    messages = [str(w.message) for w in caught]
    assert any("the bound is" in m for m in messages) == warns, messages


def test_angular_head_surface():
    head, _ = get_technique("cosface").build(3, 4, params={"scale": 10.0})
    z = torch.randn(6, 3, dtype=torch.float64)
    head = head.double()
    cos = head(z)
    assert (cos.abs() <= 1 + 1e-12).all()
    assert torch.allclose(head.proba(cos, z), torch.softmax(10.0 * cos, 1))
    assert torch.allclose(head.transform(z).norm(dim=1), torch.ones(6, dtype=torch.float64))
    centers = head.centers
    assert torch.allclose(centers.norm(dim=1), torch.ones(4, dtype=torch.float64))
    head.place_centers(z, torch.zeros(6, dtype=torch.long))  # learned: nothing to place
    assert torch.equal(head.centers, centers)
    raw, _ = get_technique("cosface").build(3, 4, params={"project": False})
    assert torch.equal(raw.transform(z), z)


pml = pytest.importorskip("pytorch_metric_learning.losses")


def _pml_pair(name, C=6, d=4, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        head, loss = get_technique(name).build(d, C, params=params)
    if name == "cosface":
        ref = pml.CosFaceLoss(C, d, margin=params["margin"], scale=params["scale"])
    elif name == "arcface":
        ref = pml.ArcFaceLoss(C, d, margin=math.degrees(params["margin"]), scale=params["scale"])
    else:
        ref = pml.SphereFaceLoss(C, d, margin=params["margin"], scale=1)
    with torch.no_grad():
        ref.W.copy_(head.weight.detach().t())
    return head, loss, ref


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "name,params",
    [
        ("cosface", {"scale": 16.0, "margin": 0.1}),
        ("cosface", {"scale": 64.0, "margin": 0.35}),
        ("arcface", {"scale": 16.0, "margin": 0.2}),
        ("arcface", {"scale": 64.0, "margin": 0.5}),
        ("arcface", {"scale": 8.0, "margin": 2.5}),
        ("sphereface", {"margin": 4, "lambda_base": 0.0, "lambda_min": 0.0}),
        ("sphereface", {"margin": 3, "lambda_base": 0.0, "lambda_min": 0.0}),
    ],
)
def test_matches_pytorch_metric_learning(name, params, dtype):
    torch.manual_seed(0)
    head, loss, ref = _pml_pair(name, **params)
    head, ref = head.to(dtype), ref.to(dtype)
    z, y = _batch(dtype, n=64)
    ours = loss(head(z), z, y, head)
    theirs = ref(z, y)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    # and the gradients with respect to the embeddings
    z1 = z.clone().requires_grad_(True)
    z2 = z.clone().requires_grad_(True)
    loss(head(z1), z1, y, head).backward()
    ref(z2, y).backward()
    torch.testing.assert_close(z1.grad, z2.grad, rtol=1e-4, atol=1e-6)


@st.composite
def _embedding_cases(draw):
    name = draw(st.sampled_from(ANGULAR))
    n_classes = draw(st.integers(2, 4))
    n = draw(st.integers(1, 6))
    kind = draw(st.sampled_from(["plus", "minus", "zero", "huge", "tiny", "random"]))
    one_class = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return name, n_classes, n, kind, one_class, seed


@settings(max_examples=120, deadline=None)
@given(_embedding_cases())
def test_finite_loss_and_gradients(case):
    """cos = +1 and -1, zero vectors, huge and tiny norms, one sample, one class."""
    name, n_classes, n, kind, one_class, seed = case
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        head, loss = get_technique(name).build(3, n_classes)
    y = torch.zeros(n, dtype=torch.long) if one_class else torch.randint(0, n_classes, (n,))
    W = head.weight.detach()
    if kind == "plus":
        z = W[y].clone()
    elif kind == "minus":
        z = -W[y].clone()
    elif kind == "zero":
        z = torch.zeros(n, 3)
    elif kind == "huge":
        z = 1e12 * torch.randn(n, 3)
    elif kind == "tiny":
        z = 1e-20 * torch.randn(n, 3)
    else:
        z = torch.randn(n, 3)
    z.requires_grad_(True)
    value = loss(head(z), z, y, head)
    value.backward()
    assert torch.isfinite(value), (kind, value)
    assert torch.isfinite(z.grad).all(), kind
    for p in head.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), kind

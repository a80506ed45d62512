"""Angular-margin and virtual-class losses against formula loops and pytorch-metric-learning."""

import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sk_embed.losses import get_technique

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


def test_arcface_fallback_branch_is_taken_and_matches():
    head, loss = get_technique("arcface").build(2, 2, params={"margin": 0.5})
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    z = torch.tensor([[-1.0, 0.05], [0.2, 1.0]], dtype=torch.float32)  # theta_0 ~ pi, theta_1 small
    y = torch.tensor([0, 1])
    cos_y = head(z).gather(1, y.unsqueeze(1))
    target = loss.modify_target(cos_y, z).squeeze(1)
    assert target[0].item() == pytest.approx(cos_y[0].item() - 0.5 * math.sin(0.5), rel=1e-6)
    theta1 = math.acos(cos_y[1].item())
    assert target[1].item() == pytest.approx(math.cos(theta1 + 0.5), rel=1e-5)


def test_sphereface_schedule_and_psi():
    _, loss = get_technique("sphereface").build(2, 3)
    assert loss.current_lambda() == 1000.0
    loss.iteration.fill_(100)
    assert loss.current_lambda() == pytest.approx(1000 / 13)
    loss.iteration.fill_(10**6)
    assert loss.current_lambda() == 5.0
    # psi is monotone decreasing on [0, pi] and equals cos(m theta) on [0, pi/m]
    theta = torch.linspace(0, math.pi, 1001, dtype=torch.float64)
    values = loss.psi(torch.cos(theta))
    assert (values[1:] <= values[:-1] + 1e-9).all()
    small = theta < math.pi / 4
    assert torch.allclose(values[small], torch.cos(4 * theta[small]), atol=1e-6)


def test_sphereface_counts_training_iterations_only():
    head, loss = get_technique("sphereface").build(2, 3)
    z, y = torch.randn(5, 2), torch.tensor([0, 1, 2, 0, 1])
    loss.train()
    loss(head(z), z, y, head)
    loss.eval()
    loss(head(z), z, y, head)
    assert int(loss.iteration) == 1


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
    assert torch.allclose(head.embed(z).norm(dim=1), torch.ones(6, dtype=torch.float64))
    centers = head.centers(z, torch.zeros(6, dtype=torch.long))
    assert torch.allclose(centers.norm(dim=1), torch.ones(4, dtype=torch.float64))
    raw, _ = get_technique("cosface").build(3, 4, params={"project": False})
    assert torch.equal(raw.embed(z), z)


# -- pytorch-metric-learning, same W and embeddings -----------------------------------

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


# -- properties --------------------------------------------------------------------------


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

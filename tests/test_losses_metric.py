"""Center, contrastive, triplet and regression losses: formula loops, brute-force miners,
pytorch-metric-learning, properties, target layouts."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sk_embed._data import TensorBatches, TensorDataset
from sk_embed.losses import get_technique
from sk_embed.losses._layout import circle, grid, simplex, spread_on_sphere
from sk_embed.losses._pairs import mine, pair_distances


def _d(a, b, squared=True, normalize=False):
    if normalize:
        na, nb = math.sqrt(sum(v * v for v in a)), math.sqrt(sum(v * v for v in b))
        a, b = [v / na for v in a], [v / nb for v in b]
    sq = sum((u - v) ** 2 for u, v in zip(a, b))
    return sq if squared else math.sqrt(sq)


def _batch(dtype, n=24, d=3, C=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype), torch.randint(0, C, (n,), generator=g)


# -- center loss -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_center_loss_and_update_match_the_paper(dtype):
    head, loss = get_technique("center").build(3, 4, params={"center_weight": 0.2, "alpha": 0.5})
    head, loss = head.to(dtype), loss.to(dtype)
    with torch.no_grad():
        loss.class_centers.copy_(torch.randn(4, 3))
    z, y = _batch(dtype)
    C0 = loss.class_centers.double().tolist()
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
    # c_j -= alpha * sum_i (c_j - z_i) / (1 + n_j)
    for j in range(4):
        members = [zi for zi, yi in zip(zl, yl) if yi == j]
        step = [sum(C0[j][k] - zi[k] for zi in members) / (1 + len(members)) for k in range(3)]
        expected = [C0[j][k] - 0.5 * step[k] for k in range(3)]
        assert loss.class_centers[j].double().tolist() == pytest.approx(expected, rel=tol, abs=tol)


def test_center_loss_does_not_move_centers_outside_training():
    head, loss = get_technique("center").build(2, 3)
    z, y = torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    loss.eval()
    loss(head(z), z, y, head)
    assert torch.equal(loss.class_centers, torch.zeros(3, 2))
    assert not any(p is loss.class_centers for p in loss.parameters())


# -- contrastive ---------------------------------------------------------------------------


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


# -- miners against brute force -----------------------------------------------------------


def brute_force(d, y, how):
    n = len(y)
    pos = lambda a, p: a != p and y[a] == y[p]  # noqa: E731
    neg = lambda a, q: y[a] != y[q]  # noqa: E731
    if how == "all":
        return {
            (a, p, q)
            for a in range(n)
            for p in range(n)
            for q in range(n)
            if pos(a, p) and neg(a, q)
        }
    out = set()
    if how == "batch_hard":
        for a in range(n):
            ps = [p for p in range(n) if pos(a, p)]
            qs = [q for q in range(n) if neg(a, q)]
            if ps and qs:
                out.add((a, max(ps, key=lambda p: d[a][p]), min(qs, key=lambda q: d[a][q])))
    elif how == "semi_hard":
        for a in range(n):
            qs = [q for q in range(n) if neg(a, q)]
            for p in range(n):
                if not (pos(a, p) and qs):
                    continue
                farther = [q for q in qs if d[a][q] > d[a][p]]
                q = (
                    min(farther, key=lambda q: d[a][q])
                    if farther
                    else max(qs, key=lambda q: d[a][q])
                )
                out.add((a, p, q))
    return out


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


# -- triplet -------------------------------------------------------------------------------


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


# -- regression ----------------------------------------------------------------------------


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


# -- pytorch-metric-learning ---------------------------------------------------------------

pml = pytest.importorskip("pytorch_metric_learning")
from pytorch_metric_learning import losses as pml_losses  # noqa: E402
from pytorch_metric_learning import miners as pml_miners  # noqa: E402


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


# -- properties ----------------------------------------------------------------------------

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


# -- target layouts ------------------------------------------------------------------------


def _min_distance(points):
    d = torch.cdist(points.double(), points.double())
    return d[~torch.eye(len(points), dtype=torch.bool)].min().item()


@pytest.mark.parametrize(
    "C,d,best",
    [
        (4, 3, math.sqrt(8 / 3)),  # tetrahedron
        (6, 3, math.sqrt(2)),  # octahedron
        (10, 2, 2 * math.sin(math.pi / 10)),  # regular decagon
        (2, 5, 2.0),  # antipodes
        (12, 3, 1.0515),  # icosahedron
        (7, 6, math.sqrt(2 * (1 + 1 / 6))),  # simplex
    ],
)
def test_sphere_layout_is_near_the_best_known(C, d, best):
    for seed in range(3):
        points = spread_on_sphere(C, d, generator=torch.Generator().manual_seed(seed))
        assert torch.allclose(points.norm(dim=1), torch.ones(C))
        assert _min_distance(points) >= 0.98 * best


def test_sphere_layout_is_deterministic_given_random_state():
    head_a, _ = _seeded_regression(0)
    head_b, _ = _seeded_regression(0)
    head_c, _ = _seeded_regression(1)
    assert torch.equal(head_a.points, head_b.points)
    assert not torch.equal(head_a.points, head_c.points)


def _seeded_regression(seed):
    from sk_embed.estimator import _seeded

    with _seeded(seed, "cpu"):
        return get_technique("regression").build(3, 5)


def test_circle_grid_simplex():
    c = circle(10, 2)
    assert torch.allclose(c.norm(dim=1), torch.ones(10, dtype=torch.float64))
    assert _min_distance(c) == pytest.approx(2 * math.sin(math.pi / 10))
    g = grid(10, 2)  # 4 x 4 raster, first 10 nodes
    assert g.shape == (10, 2) and g.min() == -1 and g.max() == 1
    assert _min_distance(g) == pytest.approx(2 / 3)
    assert grid(5, 3).shape == (5, 3)
    s = simplex(5, 6)
    d = torch.cdist(s, s)[~torch.eye(5, dtype=torch.bool)]
    assert torch.allclose(d, d[0].expand_as(d))
    assert torch.allclose(
        s @ s.T - torch.eye(5, dtype=torch.float64),
        (-1 / 4) * (1 - torch.eye(5, dtype=torch.float64)),
        atol=1e-12,
    )


@pytest.mark.parametrize(
    "targets,d,match",
    [
        ("simplex", 3, "needs n_components >= n_classes - 1 = 4"),
        ("circle", 3, "2-D layout"),
        ("hexagon", 2, "is not one of"),
        (np.zeros((4, 2)), 2, r"shape \(4, 2\).*\(5, 2\)"),
        (np.full((5, 2), np.nan), 2, "NaN"),
    ],
)
def test_bad_targets(targets, d, match):
    with pytest.raises(ValueError, match=match):
        get_technique("regression").build(d, 5, params={"targets": targets})


# -- class-balanced batches ----------------------------------------------------------------


def test_balanced_batches_are_p_classes_by_k_samples():
    y = torch.tensor([0] * 10 + [1] * 7 + [2] * 3 + [3] * 12)
    X = torch.arange(len(y), dtype=torch.float32).unsqueeze(1)
    it = TensorBatches(
        TensorDataset(X, y),
        batch_size=10,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        samples_per_class=4,
    )
    assert it.batch_size == 8  # whole groups of 4
    seen = []
    for xb, yb in it:
        groups = yb.view(-1, 4)
        assert (groups == groups[:, :1]).all()  # each group is one class
        assert torch.equal(y[xb.squeeze(1).long()], yb)
        seen += xb.squeeze(1).long().tolist()
    assert set(seen) == set(range(len(y)))  # every sample at least once
    assert len(seen) == (3 + 2 + 1 + 3) * 4

"""Sample weights in every technique's loss, checked against the unweighted loss and
against loops written from the weighted formulas, in float32 and float64."""

import warnings

import pytest
import torch
from formula import batch, distance

from sk_embed import available_losses
from sk_embed.losses import get_technique

# Techniques whose loss is a mean of per-sample terms (plus, for SOC, a per-class term).
PER_SAMPLE = [n for n in available_losses() if n not in ("contrastive", "triplet")]
DTYPES = [torch.float32, torch.float64]
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def _build(name, dtype, d=3, n_classes=4):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreachable-margin warnings at small d
        head, loss = get_technique(name).build(d, n_classes)
    return head.to(dtype).eval(), loss.to(dtype).eval()  # eval: sphereface's annealing holds


def _value(name, dtype, z, y, sample_weight=None):
    head, loss = _build(name, dtype)
    if name in ("contrastive", "triplet"):  # the mean-embedding head places no center yet
        head.train()
    weight = {} if sample_weight is None else {"sample_weight": sample_weight}
    return loss(head(z), z, y, head, **weight)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", available_losses())
def test_equal_weights_give_the_unweighted_loss(name, dtype):
    z, y = batch(dtype)
    plain = _value(name, dtype, z, y)
    for scale in (1.0, 0.01, 37.0):
        weighted = _value(name, dtype, z, y, torch.full((len(y),), scale, dtype=dtype))
        torch.testing.assert_close(weighted, plain, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", available_losses())
def test_a_sample_of_weight_zero_counts_for_nothing(name, dtype):
    z, y = batch(dtype)
    weight = torch.ones(len(y), dtype=dtype)
    weight[::3] = 0
    kept = weight > 0
    torch.testing.assert_close(
        _value(name, dtype, z, y, weight), _value(name, dtype, z[kept], y[kept]), **TOL[dtype]
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", PER_SAMPLE)
def test_an_integer_weight_is_the_sample_repeated(name, dtype):
    z, y = batch(dtype)
    weight = torch.arange(len(y)) % 3 + 1  # 1, 2, 3, 1, ...
    repeated = torch.repeat_interleave(torch.arange(len(y)), weight)
    torch.testing.assert_close(
        _value(name, dtype, z, y, weight.to(dtype)),
        _value(name, dtype, z[repeated], y[repeated]),
        **TOL[dtype],
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_contrastive_weighs_each_pair_by_the_product_of_its_weights(dtype):
    z, y = batch(dtype)
    w = torch.rand(len(y), generator=torch.Generator().manual_seed(1), dtype=dtype)
    _, loss = _build("contrastive", dtype)
    margin, Z, Y, W = loss.margin, z.tolist(), y.tolist(), w.tolist()
    assert loss.average == "all"
    sums = {True: [0.0, 0.0], False: [0.0, 0.0]}  # same class -> [sum w term, sum w]
    for i in range(len(Y)):
        for j in range(len(Y)):
            if i == j:
                continue
            d = distance(Z[i], Z[j], squared=False)
            term = d if Y[i] == Y[j] else max(0.0, margin - d)
            if loss.squared:
                term = term**2 / 2
            sums[Y[i] == Y[j]][0] += W[i] * W[j] * term
            sums[Y[i] == Y[j]][1] += W[i] * W[j]
    expected = sum(s / t for s, t in sums.values())
    got = _value("contrastive", dtype, z, y, w)
    torch.testing.assert_close(got, torch.tensor(expected, dtype=dtype), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_triplet_weighs_each_triplet_by_the_product_of_its_weights(dtype):
    z, y = batch(dtype)
    w = torch.rand(len(y), generator=torch.Generator().manual_seed(2), dtype=dtype)
    _, loss = _build("triplet", dtype)
    Z, Y, W = z.tolist(), y.tolist(), w.tolist()
    num = den = 0.0
    for a in range(len(Y)):
        for p in range(len(Y)):
            for n in range(len(Y)):
                if a != p and Y[a] == Y[p] and Y[n] != Y[a]:
                    d_ap = distance(Z[a], Z[p], squared=loss.squared)
                    d_an = distance(Z[a], Z[n], squared=loss.squared)
                    term = max(0.0, d_ap - d_an + loss.margin)
                    if term > 0 or loss.average == "all":  # "nonzero": the active ones
                        num += W[a] * W[p] * W[n] * term
                        den += W[a] * W[p] * W[n]
    got = _value("triplet", dtype, z, y, w)
    torch.testing.assert_close(got, torch.tensor(num / den, dtype=dtype), **TOL[dtype])


def test_the_center_update_weighs_the_samples():
    head, _ = _build("center", torch.float64)
    z, y = batch(torch.float64)
    weight = torch.ones(len(y), dtype=torch.float64)
    weight[::2] = 0
    before = head.centers.clone()
    head.after_step(z, y, weight)
    moved = head.centers.clone()
    head.centers.copy_(before)
    head.after_step(z[weight > 0], y[weight > 0])
    torch.testing.assert_close(moved, head.centers)

"""Pairs and triplets in a batch, shared by the contrastive and triplet techniques.

Distances come from one matrix product. Miners choose triplets under ``no_grad`` and
return index tensors ``(a, p, n)``; the loss then reads the distances with gradients at
those indices. Every miner's choice is compared with a brute-force enumeration in the
tests.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._random import generator
from ._base import DistanceHead, squared_distances

AVERAGES = ("all", "nonzero")
MINERS = ("all", "batch_hard", "semi_hard", "random")


def pair_distances(z, *, normalize=False, squared=True):
    """Distance matrix of a batch: squared Euclidean, or Euclidean, of ``z`` or ``z/||z||``.

    The Euclidean form takes the square root of distances clamped at 1e-12, so the
    gradient stays finite for identical points. The diagonal is left as the matrix
    product gives it (about zero): no pair or triplet uses it.
    """
    if normalize:
        z = F.normalize(z, dim=1)
    return squared_distances(z, z) if squared else squared_distances(z, z, 1e-12).sqrt()


def pair_masks(y):
    """``(positive, negative)`` boolean matrices: same class (not self), other class."""
    same = y.unsqueeze(0) == y.unsqueeze(1)
    eye = torch.eye(len(y), dtype=torch.bool, device=y.device)
    return same & ~eye, ~same


def average(values, how, mask=None, weight=None):
    """Mean of ``values`` (where ``mask``) over all terms (``"all"``) or over the
    non-zero ones (``"nonzero"``). Dense: no gather of the selected terms. An empty
    selection gives a zero that still has a gradient, never NaN.

    With ``weight`` (one per term: a pair weighs the product of its two samples'
    weights, a triplet the product of its three), the mean is weighted: terms of
    weight 0 count for nothing, and the mean is over the selected terms' weights."""
    keep = values > 0 if how == "nonzero" else torch.ones_like(values, dtype=torch.bool)
    if mask is not None:
        keep = keep & mask
    if weight is None:
        return torch.where(keep, values, 0).sum() / keep.sum().clamp_min(1)
    weight = torch.where(keep, weight.to(values.dtype), 0)
    return (torch.where(keep, values, 0) * weight).sum() / weight.sum().clamp_min(1e-12)


@torch.no_grad()
def mine(d, y, how):
    """Triplets ``(a, p, n)`` of the batch for the chosen miner.

    - ``all``: every valid triplet (``y_a = y_p``, ``a != p``, ``y_n != y_a``).
    - ``batch_hard``: per anchor, its farthest positive and nearest negative.
    - ``semi_hard``: per positive pair, the nearest negative farther than the positive
      (``d_ap < d_an``); where none is farther, the farthest negative (FaceNet's
      selection as in TensorFlow's ``triplet_semihard_loss``).
    - ``random``: per anchor, one positive and one negative drawn uniformly (from the
      fit's own generator, seeded by ``random_state``).

    Anchors without a positive or without a negative give no triplet.
    """
    pos, neg = pair_masks(y)
    if how == "all":
        # per positive pair, every negative of its anchor: an (n_pos, n) mask, not (n, n, n)
        a, p = torch.nonzero(pos, as_tuple=True)
        pair, n = torch.nonzero(neg[a], as_tuple=True)
        return a[pair], p[pair], n
    has_pos, has_neg = pos.any(1), neg.any(1)
    if how in ("batch_hard", "random"):
        a = torch.nonzero(has_pos & has_neg).squeeze(1)
        if how == "batch_hard":
            p = d.masked_fill(~pos, float("-inf"))[a].argmax(1)
            n = d.masked_fill(~neg, float("inf"))[a].argmin(1)
        else:
            draws = generator(d.device)
            p = torch.multinomial(pos[a].float(), 1, generator=draws).squeeze(1) if len(a) else a
            n = torch.multinomial(neg[a].float(), 1, generator=draws).squeeze(1) if len(a) else a
        return a, p, n
    if how == "semi_hard":
        a, p = torch.nonzero(pos & has_neg.unsqueeze(1), as_tuple=True)
        d_an = d[a]
        farther = neg[a] & (d_an > d[a, p].unsqueeze(1))
        nearest_farther = d_an.masked_fill(~farther, float("inf")).argmin(1)
        farthest = d_an.masked_fill(~neg[a], float("-inf")).argmax(1)
        n = torch.where(farther.any(1), nearest_farther, farthest)
        return a, p, n
    raise ValueError(f"unknown mining {how!r}; choose one of {', '.join(MINERS)}")


class MeanEmbeddingHead(DistanceHead):
    """Class centers are the mean training embeddings, placed after training.

    Parameters
    ----------
    n_components, n_classes : int
    temperature : float, default=1.0
    normalize : bool, default=False
        Work with ``z / ||z||`` (what the loss sees): ``transform`` and the centers too.
    """

    _parameter_constraints: dict = {"normalize": ["boolean"]}

    def __init__(self, n_components, n_classes, temperature=1.0, normalize=False):
        super().__init__(n_components, n_classes, temperature)
        self.normalize = normalize

    def transform(self, z):
        return F.normalize(z, dim=1) if self.normalize else z

    def forward(self, z):
        if self.training:  # the centers exist only after training; the loss needs none
            return z.new_zeros(len(z), self.n_classes)
        return super().forward(z)

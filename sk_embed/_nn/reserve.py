"""Forward-compatible training: room in the embedded space for classes not seen yet.

Two options of the estimator, for every technique:

- ``reserve_classes=R`` (virtual classes, after Zhou et al., *Forward Compatible Few-Shot
  Class-Incremental Learning*, CVPR 2022): the head is built with ``R`` extra classes
  that no training sample belongs to. Every training batch gets as many extra samples,
  half its size, mixed between two samples of different classes (``lam x_a + (1 - lam)
  x_b``, ``lam`` uniform in [0.3, 0.7]); the mix of classes ``a`` and ``b`` is labelled
  with one virtual class (the pairs are dealt round the ``R`` classes). The technique's
  own loss then has to keep the known classes apart from what lies between them, so
  they leave room. The virtual classes are dropped when training ends.
- ``reconstruction=w``: a decoder, used in training only, maps the embedding back to
  the input and adds ``w`` times its mean squared error (the input centered and
  divided by one common scale, so the loud features weigh as they do in the input).
  The embedding then keeps what the known classes do not need and new ones may.

Both apply to a fresh fit (and the first ``partial_fit``); training that goes on from a
fitted model (``warm_start``, later ``partial_fit`` calls) goes on without them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._random import generator
from ..losses import weighted_mean
from .data import Batch
from .training import Standardize


class Decoder(nn.Module):
    """Embedding -> input: ``Linear - ReLU - Linear``, trained alongside the encoder.

    Parameters
    ----------
    n_components : int
    input_shape : tuple of int
        Shape of one sample (its values are predicted flat).
    hidden : int, default=128
    """

    def __init__(self, n_components, input_shape, hidden=128):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_components, hidden), nn.ReLU(), nn.Linear(hidden, math.prod(input_shape))
        )

    def forward(self, z):
        """The predicted (flat, scaled) input of a batch of embeddings.

        Parameters
        ----------
        z : tensor of shape (n, n_components)

        Returns
        -------
        tensor of shape (n, prod(input_shape))
        """
        return self.layers(z)


def mix_batch(X, y, n_known, n_virtual, sample_weight=None):
    """Append mixes of samples of two different classes, labelled with virtual classes.

    Parameters
    ----------
    X : tensor of shape (n, ...)
    y : tensor of shape (n,)
        Class indices ``0..n_known-1``.
    n_known, n_virtual : int
    sample_weight : tensor of shape (n,), optional
        A mix weighs the product of its two samples' weights, so a sample of weight 0
        takes no part in training through its mixes either.

    Returns
    -------
    X, y : tensors
        The batch followed by up to ``n // 2`` mixes; a mix of classes ``a < b`` is
        labelled ``n_known + rank(a, b) % n_virtual``, ``rank`` the pair's place in
        ``(0, 1), (0, 2), ..., (1, 2), ...``.
    sample_weight : tensor
        Only when ``sample_weight`` was given: the batch's weights and the mixes'.
    """
    half, draws = len(X) // 2, generator(X.device)
    first = torch.randperm(len(X), device=X.device, generator=draws)[:half]
    second = torch.randperm(len(X), device=X.device, generator=draws)[:half]
    keep = y[first] != y[second]
    first, second = first[keep], second[keep]
    shape = (len(first), *[1] * (X.dim() - 1))
    lam = 0.3 + 0.4 * torch.rand(shape, device=X.device, dtype=X.dtype, generator=draws)
    mixed = lam * X[first] + (1 - lam) * X[second]
    a, b = torch.minimum(y[first], y[second]), torch.maximum(y[first], y[second])
    rank = a * n_known - a * (a + 1) // 2 + (b - a - 1)
    mixes = torch.cat([X, mixed]), torch.cat([y, n_known + rank % n_virtual])
    if sample_weight is None:
        return mixes
    w = sample_weight
    return (*mixes, torch.cat([w, w[first] * w[second]]))


class MixedBatches:
    """An iterator of batches, each followed by its mixes (:func:`mix_batch`).

    Parameters
    ----------
    batches : iterable of Batch
    n_known, n_virtual : int
    """

    def __init__(self, batches, n_known, n_virtual):
        self.batches, self.n_known, self.n_virtual = batches, n_known, n_virtual

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for batch in self.batches:
            mixed = mix_batch(batch.X, batch.y, self.n_known, self.n_virtual, batch.sample_weight)
            yield Batch(*mixed)


def reconstruction_error(module, z, X, sample_weight=None):
    """The decoder's mean squared error on ``X``, the input centered and divided by one
    common scale (so the loud features weigh as they do in the input).

    Parameters
    ----------
    module : EmbeddingModule
        With a ``decoder``, and its input scaler.
    z : tensor of shape (n, n_components)
    X : tensor of shape (n, ...)
    sample_weight : tensor of shape (n,), optional
        The weighted mean of the samples' errors.

    Returns
    -------
    tensor
        A scalar.
    """
    target = X.flatten(1).to(z.dtype)
    scaler = module.scaler
    if isinstance(scaler, Standardize):  # centered, one common scale
        target = (target - scaler.mean.flatten()) / scaler.scale.pow(2).mean().sqrt()
    if sample_weight is None:
        return F.mse_loss(module.decoder(z), target)
    errors = F.mse_loss(module.decoder(z), target, reduction="none").mean(1)
    return weighted_mean(errors, sample_weight)

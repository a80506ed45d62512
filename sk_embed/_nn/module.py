"""The torch module every technique trains, and seeding without touching the caller's RNG."""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class EmbeddingModule(nn.Module):
    """input scaling -> encoder -> penultimate activation -> embedding ``z`` -> head -> class
    scores.

    ``forward`` returns ``(scores, z)``: the scores are what prediction needs, the
    embedding is what losses and ``transform`` need.

    Parameters
    ----------
    encoder : nn.Module
        Maps a batch to ``(batch, n_components)``.
    activation : nn.Module
        The penultimate activation.
    head : Head
        The technique's head.
    scaler : nn.Module, optional
        The input's standardization (:class:`~sk_embed._nn.training.Standardize`); none by
        default.
    """

    def __init__(self, encoder, activation, head, scaler=None):
        super().__init__()
        self.scaler = scaler if scaler is not None else nn.Identity()
        self.encoder = encoder
        self.activation = activation
        self.head = head
        self.decoder = None  # a training-only decoder (sk_embed._nn.reserve), if any

    def embed(self, x):
        """The raw embedding ``z`` of a batch.

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        tensor of shape (n, n_components)
        """
        return self.activation(self.encoder(self.scaler(x)))

    def forward(self, x):
        """``(scores, z)`` of a batch.

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        scores : tensor of shape (n, n_classes)
        z : tensor of shape (n, n_components)
        """
        z = self.embed(x)
        return self.head(z), z


@contextlib.contextmanager
def seeded(seed, device):
    """Seed torch inside the block; the caller's global RNG state is left as it was.

    Parameters
    ----------
    seed : int
    device : str or torch.device
        Its CUDA generator is forked too.
    """
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield

"""The torch module every technique trains."""

from __future__ import annotations

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
        self.autocast = None  # a dtype: mixed precision in the encoder (see PRECISIONS)
        self.frozen = False  # the backbone's parameters held as they are (freeze)
        # Per-class amounts added to the head's scores; None (no entry in the state) until
        # add_classes lowers new classes' scores (sk_embed._nn.new_classes).
        self.register_buffer("score_offsets", None)

    def projection(self):
        """The encoder's last layer to the embedding: its last ``nn.Linear`` with
        ``n_components`` outputs, or None (a module of one's own without one).

        Returns
        -------
        nn.Linear or None
        """
        width = self.head.n_components
        last = None
        for part in self.encoder.modules():
            if isinstance(part, nn.Linear) and part.out_features == width:
                last = part
        return last

    def backbone_parameters(self):
        """The encoder's parameters but its projection's (see :meth:`projection`).

        Returns
        -------
        list of nn.Parameter
        """
        projection = self.projection()
        own = set() if projection is None else {id(p) for p in projection.parameters()}
        return [p for p in self.encoder.parameters() if id(p) not in own]

    def freeze(self, frozen):
        """Hold the backbone as it is (``frozen``) or train it: its parameters take no
        gradient, and its layers stay in eval mode while training (BatchNorm keeps its
        statistics, dropout is off); the projection and the head train.

        Parameters
        ----------
        frozen : bool
        """
        for param in self.backbone_parameters():
            param.requires_grad_(not frozen)
        self.frozen = frozen
        self.train(self.training)

    def train(self, mode=True):
        """``nn.Module.train``, keeping a frozen backbone in eval mode.

        Parameters
        ----------
        mode : bool, default=True

        Returns
        -------
        self
        """
        super().train(mode)
        if mode and self.frozen:
            self.encoder.eval()
            projection = self.projection()
            if projection is not None:
                projection.train()
        return self

    def embed(self, x):
        """The raw embedding ``z`` of a batch.

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        tensor of shape (n, n_components)
            float32, also under mixed precision: the head, its class positions and the
            loss compute in float32.
        """
        if self.autocast is None:
            return self.activation(self.encoder(self.scaler(x)))
        with torch.autocast(x.device.type, dtype=self.autocast):
            z = self.activation(self.encoder(self.scaler(x)))
        return z.float()

    def scores(self, z):
        """The head's class scores of raw embeddings, with the score offsets added.

        Parameters
        ----------
        z : tensor of shape (n, n_components)

        Returns
        -------
        tensor of shape (n, n_classes)
        """
        scores = self.head(z)
        offsets = self.score_offsets
        return scores if offsets is None else scores + offsets.to(scores.dtype)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Offsets are in a state only after add_classes lowered new classes: a module
        # loading one makes room for them, one loading a state without drops its own.
        key = prefix + "score_offsets"
        self.score_offsets = torch.empty_like(state_dict[key]) if key in state_dict else None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

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
        return self.scores(z), z


#: ``precision`` values (Lightning's names) and the dtype the encoder computes in.
PRECISIONS = {"32": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def check_precision(precision, device):
    """Refuse a precision this device cannot train in.

    Parameters
    ----------
    precision : {"32", "bf16-mixed", "16-mixed"}
    device : str or torch.device

    Raises
    ------
    ValueError
        For an unknown name, or float16 mixed precision off CUDA (it needs a gradient
        scaler, which runs on CUDA).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}; got {precision!r}")
    if precision == "16-mixed" and torch.device(device).type != "cuda":
        raise ValueError(
            f"precision='16-mixed' needs a CUDA device (float16 training with a gradient "
            f"scaler); device={str(device)!r} cannot. Use precision='bf16-mixed', which "
            "runs on CPUs and recent GPUs, or '32'."
        )


# Layers that draw from torch's default generator in their forward pass.
_DRAWING = (nn.modules.dropout._DropoutNd, nn.AlphaDropout, nn.FeatureAlphaDropout, nn.RReLU)


def own_draws(module):
    """Whether ``module``'s forward pass may draw from torch's default generator: it
    holds dropout (or another drawing layer), or a layer from outside torch.nn and
    sk-embed, whose forward pass is not known.

    Parameters
    ----------
    module : nn.Module

    Returns
    -------
    bool
    """
    for part in module.modules():
        if isinstance(part, _DRAWING):
            return True
        origin = type(part).__module__
        if not (origin.startswith("torch.nn") or origin.startswith("sk_embed")):
            return True
    return False

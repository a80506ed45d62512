"""Encoders that map a batch of inputs to ``n_components`` features.

``BACKBONES`` is the table of named ones; ``build_backbone`` turns the estimator's
``backbone`` argument (a name, a module instance or a module class) into a module. The
penultimate activation is applied on top of it by the network, so every backbone ends
with a plain linear layer of width ``n_components``.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    validate_parameter_constraints,
)
from torch import nn

ACTIVATIONS = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "selu": nn.SELU,
}


class MLP(nn.Module):
    """Fully connected encoder: Flatten - [Linear - (BatchNorm) - ReLU - (Dropout)] *
    len(hidden_sizes) - Linear.

    Parameters
    ----------
    n_features : int
        Number of input features (per-sample inputs of any shape are flattened).
    n_components : int
        Output width, the embedding dimension.
    hidden_sizes : tuple of int, default=(256, 128)
        Widths of the hidden layers; ``()`` gives a linear map.
    batch_norm : bool, default=False
        Batch normalization after each hidden linear layer.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    """

    _parameter_constraints: dict = {
        "hidden_sizes": ["array-like"],
        "batch_norm": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self, n_features, n_components, hidden_sizes=(256, 128), batch_norm=False, dropout=0.0
    ):
        super().__init__()
        widths = np.asarray(hidden_sizes, dtype=object).ravel()
        if not all(isinstance(w, Integral) and not isinstance(w, bool) and w > 0 for w in widths):
            raise InvalidParameterError(
                f"backbone__hidden_sizes must be a sequence of positive integers; "
                f"got {hidden_sizes!r}."
            )
        layers = [nn.Flatten()]
        width = n_features
        for size in hidden_sizes:
            layers.append(nn.Linear(width, size))
            layers += [nn.BatchNorm1d(size)] if batch_norm else []
            layers.append(nn.ReLU())
            layers += [nn.Dropout(dropout)] if dropout else []
            width = size
        layers.append(nn.Linear(width, n_components))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        """Embed a batch.

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        tensor of shape (n, n_components)
        """
        return self.layers(x)


class CNN(nn.Module):
    """Scholl 2024's encoder: Conv32-Pool-Conv64-Pool-Conv128-FC256-FC(n_components).

    3x3 convolutions with padding 1 and ReLU, 2x2 max pooling. Any image size works: the
    first fully connected layer is sized from ``input_shape``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one sample; ``(H, W)`` means one channel.
    n_components : int
        Output width, the embedding dimension.
    """

    def __init__(self, input_shape, n_components):
        super().__init__()
        channels, height, width = _chw(input_shape)
        self.input_shape = (channels, height, width)
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(),
        )
        flat = 128 * math.ceil(math.ceil(height / 2) / 2) * math.ceil(math.ceil(width / 2) / 2)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, 256),
            nn.ReLU(),
            nn.Linear(256, n_components),
        )

    def forward(self, x):
        """Embed a batch of images (or flat rows of ``input_shape``).

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        tensor of shape (n, n_components)
        """
        return self.classifier(self.features(x.reshape(-1, *self.input_shape)))


def _chw(shape):
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        return (1, *shape)
    if len(shape) == 3:
        return shape
    raise ValueError(
        f"backbone='cnn' needs images of shape (H, W) or (C, H, W) per sample; got {shape}. "
        "Pass images as an array (n, H, W) or (n, C, H, W), or flat rows together with "
        "backbone__input_shape=(C, H, W)."
    )


def _resnet18(input_shape, n_components):
    try:
        import torchvision
    except Exception as exc:  # ImportError, or a torchvision built for another torch
        raise ImportError(
            "backbone='resnet18' needs torchvision: pip install 'sk-embed[vision]' "
            f"(importing it failed: {exc})"
        ) from exc
    channels = _chw(input_shape)[0]
    net = torchvision.models.resnet18(num_classes=n_components)
    if channels != 3:
        net.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return _Reshape(_chw(input_shape), net)


class _Reshape(nn.Module):
    def __init__(self, shape, inner):
        super().__init__()
        self.shape = tuple(shape)
        self.inner = inner

    def forward(self, x):
        return self.inner(x.reshape(-1, *self.shape))


def _mlp(input_shape, n_components, hidden_sizes=(256, 128), batch_norm=False, dropout=0.0):
    return MLP(math.prod(input_shape), n_components, hidden_sizes, batch_norm, dropout)


def _check_arguments(build, params, name, skip, constraints, extra=()):
    """Refuse ``backbone__*`` names that ``build`` does not take (unless it takes
    ``**kwargs``), with the message an unknown ``loss__*`` name gets, and values outside
    ``constraints`` (scikit-learn's ``InvalidParameterError``)."""
    signature = inspect.signature(build).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in signature):
        valid = [p.name for p in signature][skip:] + list(extra)
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"backbone={name} has no parameter(s) "
                f"{', '.join('backbone__' + k for k in unknown)}; its parameters are: "
                f"{', '.join('backbone__' + k for k in valid) or 'none'}."
            )
    validate_parameter_constraints(
        {"backbone__" + k: c for k, c in constraints.items()},
        {"backbone__" + k: v for k, v in params.items() if k in constraints},
        caller_name=f"backbone={name}",
    )


@dataclass(frozen=True)
class Backbone:
    """One entry of :data:`BACKBONES`.

    Parameters
    ----------
    build : callable
        ``build(input_shape, n_components, **backbone_options) -> nn.Module``.
    images : bool
        Whether it needs image samples ``(H, W)`` or ``(C, H, W)`` rather than flat rows.
    summary : str
        One line for listings and the command's help.
    constraints : dict
        scikit-learn-style constraints of ``build``'s options (checked at fit).
    lr : float
        The estimator's learning rate with ``lr=None`` (its default): measured per
        backbone in docs/robustness.md.
    """

    build: Callable
    images: bool
    summary: str
    constraints: dict = field(default_factory=dict)
    lr: float = 1e-3


#: The named backbones: adding one is one entry here.
BACKBONES = {
    # On rows 1e-2 was the best setting (mean accuracy 0.951 over the techniques, 0.934
    # at 3e-3); the cnn collapses at 1e-2 on 28x28 images (8 of 33 fits on zoomed digits
    # end at chance) and trains at 1e-3 (none; every technique >= 0.90). Measured in
    # docs/robustness.md.
    "mlp": Backbone(
        _mlp,
        False,
        "fully connected, on rows (images are flattened)",
        MLP._parameter_constraints,
        lr=1e-2,
    ),
    "cnn": Backbone(CNN, True, "Scholl 2024's Conv32-Pool-Conv64-Pool-Conv128-FC256"),
    "resnet18": Backbone(_resnet18, True, "torchvision's ResNet-18 (needs sk-embed[vision])"),
}


#: The learning rate of a backbone given as a module instance or class: Adam's usual one.
CUSTOM_LR = 1e-3


def default_lr(backbone):
    """The learning rate ``lr=None`` stands for with this ``backbone`` argument.

    Parameters
    ----------
    backbone : str, nn.Module or nn.Module subclass

    Returns
    -------
    float
        The named backbone's own (:data:`BACKBONES`), else :data:`CUSTOM_LR`.
    """
    return BACKBONES[backbone].lr if isinstance(backbone, str) else CUSTOM_LR


def build_backbone(backbone, sample_shape, n_components, params):
    """The encoder module for the estimator's ``backbone`` argument.

    Parameters
    ----------
    backbone : str, nn.Module instance or nn.Module subclass
        A key of :data:`BACKBONES`; a module instance is deep-copied (the user's object
        is never trained in place); a class is instantiated with ``params``.
    sample_shape : tuple of int
        Shape of one input sample.
    n_components : int
        Width of the embedding.
    params : dict
        The estimator's ``backbone__*`` arguments, without the prefix
        (``input_shape`` reshapes flat rows for an image backbone).

    Returns
    -------
    nn.Module
    """
    params = dict(params)
    if isinstance(backbone, nn.Module):
        if params:
            raise ValueError(
                f"backbone__{next(iter(params))} was given, but the backbone is a module "
                "instance: pass the class instead to have it constructed with arguments."
            )
        return copy.deepcopy(backbone)
    if isinstance(backbone, type) and issubclass(backbone, nn.Module):
        constraints = getattr(backbone, "_parameter_constraints", {})  # if it declares some
        _check_arguments(backbone.__init__, params, backbone.__name__, 1, constraints)
        return backbone(**params)
    if backbone not in BACKBONES:  # the estimator validates the name first
        raise ValueError(f"unknown backbone {backbone!r}; use one of {', '.join(BACKBONES)}")
    spec = BACKBONES[backbone]
    input_shape = tuple(params.pop("input_shape", sample_shape))
    if math.prod(input_shape) != math.prod(sample_shape):
        raise ValueError(
            f"backbone__input_shape={input_shape} does not match samples of shape "
            f"{tuple(sample_shape)} ({math.prod(sample_shape)} values each)."
        )
    if spec.images and len(input_shape) == 1:
        raise ValueError(
            f"backbone={backbone!r} needs images, but X has flat rows of {input_shape[0]} "
            "features: pass X as (n, H, W) or (n, C, H, W), or set backbone__input_shape."
        )
    _check_arguments(spec.build, params, repr(backbone), 2, spec.constraints, ("input_shape",))
    return spec.build(input_shape, n_components, **params)


def check_backbone_output(encoder, x, n_components):
    """Raise a clear ValueError when a backbone does not map ``x`` to ``n_components``.

    Parameters
    ----------
    encoder : nn.Module
    x : tensor of shape (n, ...)
        A small batch of inputs.
    n_components : int
    """
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            out = encoder(x)
    finally:
        encoder.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] != n_components:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"the backbone maps a batch of {len(x)} samples to {shape}; it must return "
            f"({len(x)}, n_components) = ({len(x)}, {n_components})."
        )

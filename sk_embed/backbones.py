"""Encoders that map a batch of inputs to ``n_components`` features.

``BACKBONES`` is the table of named ones, ``LIBRARIES`` that of the libraries whose
models are named ``"<library>:<model>"`` (timm, torchvision: optional); ``build_backbone``
turns the estimator's ``backbone`` argument (a name, a module instance or a module class)
into a module, and ``load_backbone_weights`` loads a local file of weights into it. The
penultimate activation is applied on top of it by the network, so every backbone ends
with a plain linear layer of width ``n_components``.
"""

from __future__ import annotations

import copy
import errno
import functools
import importlib
import inspect
import math
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)
from torch import nn

from ._random import layer_generator

ACTIVATIONS = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "selu": nn.SELU,
}


class Dropout(nn.Module):
    """Dropout whose masks come from the fit's own generator.

    torch's ``nn.Dropout`` draws from torch's default generator, which a fit can only
    seed under a process-wide lock (fits in threads would then take turns); this one
    draws from the fit's generators (:func:`sk_embed._random.layer_generator`; each
    rank its own in a data-parallel fit), as the rest of training does, so a seeded fit
    is reproducible and fits in threads run side by side. Outside a fit it draws from
    torch's default generator; in evaluation mode it does nothing.

    Parameters
    ----------
    p : float, default=0.5
        Probability that a value is zeroed, in [0, 1). Kept values are scaled by
        ``1 / (1 - p)``.
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout must be in [0, 1); got {p}")
        self.p = float(p)

    def forward(self, x):
        """``x`` with each value zeroed with probability ``p`` (training mode only).

        Parameters
        ----------
        x : tensor

        Returns
        -------
        tensor
        """
        if not self.training or self.p == 0:
            return x
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=layer_generator(x.device))
        return x * keep / (1 - self.p)

    def extra_repr(self):
        """The rate, as torch prints a module.

        Returns
        -------
        str
        """
        return f"p={self.p}"


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
            layers += [Dropout(dropout)] if dropout else []
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

    3x3 convolutions with padding 1 and ReLU, 2x2 max pooling, and dropout before the
    last layer. Any image size works: the first fully connected layer is sized from
    ``input_shape``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one sample; ``(H, W)`` means one channel.
    n_components : int
        Output width, the embedding dimension.
    dropout : float, default=0.5
        Dropout rate on the 256 features the embedding is projected from (training
        only). Every technique fits its training images perfectly within a few dozen
        epochs; without dropout the techniques that have no margin (softmax, center,
        soc) then generalize worst: on 5,000 real MNIST digits at 2-D, dropout 0.5
        raises softmax and center by about 2 points and soc by 0.5
        (docs/robustness.md). 0 is the paper's encoder.
    """

    _parameter_constraints: dict = {"dropout": [Interval(Real, 0, 1, closed="left")]}

    def __init__(self, input_shape, n_components, dropout=0.5):
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
        # a module of its own, not a step of ``classifier``: the weights' names stay
        # those of the paper's encoder, which saved files hold
        self.dropout = Dropout(dropout)

    def forward(self, x):
        """Embed a batch of images (or flat rows of ``input_shape``).

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        tensor of shape (n, n_components)
        """
        *hidden, projection = self.classifier
        x = self.features(x.reshape(-1, *self.input_shape))
        for layer in hidden:
            x = layer(x)
        return projection(self.dropout(x))


def _chw(shape, name="cnn"):
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        return (1, *shape)
    if len(shape) == 3:
        return shape
    raise ValueError(
        f"backbone={name!r} needs images of shape (H, W) or (C, H, W) per sample; got "
        f"{shape}. Pass images as an array (n, H, W) or (n, C, H, W), or flat rows together "
        "with backbone__input_shape=(C, H, W)."
    )


class BasicBlock(nn.Module):
    """ResNet's basic residual block: two 3x3 convolutions with batch normalization and a
    shortcut (a strided 1x1 convolution and batch normalization where the shape changes).

    Parameters
    ----------
    in_channels : int
        Channels of the block's input.
    channels : int
        Channels of its output.
    stride : int, default=1
        Stride of the first convolution (2 halves the resolution).
    """

    def __init__(self, in_channels, channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x):
        """Apply the block.

        Parameters
        ----------
        x : tensor of shape (n, in_channels, H, W)

        Returns
        -------
        tensor of shape (n, channels, H / stride, W / stride)
        """
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


#: The largest image side (pixels) that gets ResNet-18's small-image stem with ``stem="auto"``.
SMALL_STEM_MAX_SIDE = 64


class ResNet18(nn.Module):
    """ResNet-18 (He et al., 2016): basic blocks in four stages of two, 64-128-256-512
    channels, global average pooling, then a linear projection to ``n_components``.

    Two stems: for small images the one of the CIFAR literature (the SOC paper's encoder):
    a 3x3 convolution with stride 1 and no max pooling; for larger ones the ImageNet
    stem: a 7x7 convolution with stride 2, then 3x3 max pooling with stride 2. Module names
    follow the usual ResNet layout (``conv1``, ``bn1``, ``layer1`` ... ``layer4``, ``fc``).
    About 11.2 million parameters on 3 channels.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one sample, any number of channels; ``(H, W)`` means one channel.
    n_components : int
        Output width, the embedding dimension.
    stem : {"auto", "small", "imagenet"}, default="auto"
        ``"auto"``: the small stem when the larger image side is at most
        :data:`SMALL_STEM_MAX_SIDE` (64) pixels, the ImageNet stem above.
    """

    _parameter_constraints: dict = {"stem": [StrOptions({"auto", "small", "imagenet"})]}

    def __init__(self, input_shape, n_components, stem="auto"):
        super().__init__()
        channels, height, width = _chw(input_shape, "resnet18")
        self.input_shape = (channels, height, width)
        if stem == "auto":
            stem = "small" if max(height, width) <= SMALL_STEM_MAX_SIDE else "imagenet"
        self.stem = stem
        if stem == "small":
            self.conv1 = nn.Conv2d(channels, 64, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(channels, 64, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        stages, width_in = [], 64
        for width_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(
                nn.Sequential(
                    BasicBlock(width_in, width_out, stride), BasicBlock(width_out, width_out)
                )
            )
            width_in = width_out
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, n_components)
        for module in self.modules():  # He initialization of the convolutions
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        """Embed a batch of images (or flat rows of ``input_shape``).

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        tensor of shape (n, n_components)
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(x.reshape(-1, *self.input_shape)))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


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
    # Each backbone's lr is the best of a sweep over the techniques (docs/robustness.md):
    # rows train best at 1e-2, where the cnn's fits on 28x28 images can collapse to
    # chance; at 1e-3 none does.
    "mlp": Backbone(
        _mlp,
        False,
        "fully connected, on rows (images are flattened)",
        MLP._parameter_constraints,
        lr=1e-2,
    ),
    "cnn": Backbone(
        CNN,
        True,
        "Scholl 2024's Conv32-Pool-Conv64-Pool-Conv128-FC256, dropout 0.5 before the projection",
        CNN._parameter_constraints,
    ),
    # Adam's usual 1e-3, as the cnn (not measured for it yet in docs/robustness.md).
    "resnet18": Backbone(
        ResNet18,
        True,
        "ResNet-18 (11M parameters; a 3x3 stem up to 64 pixels, the ImageNet stem above)",
        ResNet18._parameter_constraints,
    ),
}


#: The learning rate of a backbone given as a module instance or class, or a library's
#: named model: Adam's usual one.
CUSTOM_LR = 1e-3


def _import(library, extra):
    """Import an optional library, or an ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(library)
    except Exception as exc:  # ImportError, or a build for another torch (torchvision)
        raise ImportError(
            f"backbone='{library}:<name>' needs {library}: pip install 'sk-embed[{extra}]' "
            f"(from a clone: pip install -e '.[{extra}]'); importing it failed: {exc}"
        ) from exc


class LibraryModel(nn.Module):
    """A library's model without its classifier, then a linear projection to
    ``n_components``: what ``backbone="timm:<name>"`` and ``"torchvision:<name>"`` build.

    Parameters
    ----------
    model : nn.Module
        The library's model, its classifier removed: maps a batch of ``input_shape`` images
        to features (any shape; flattened per sample).
    input_shape : tuple of int
        ``(C, H, W)`` of one sample.
    n_components : int
        Output width, the embedding dimension.
    name : str
        The backbone name, for messages.
    """

    def __init__(self, model, input_shape, n_components, name):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.model = model
        was_training = model.training
        model.eval()
        try:  # the feature width, from one dummy sample
            with torch.no_grad():
                width = self._features(torch.zeros(1, *self.input_shape)).shape[1]
        except (RuntimeError, ValueError, AssertionError) as exc:  # torch's, or the model's
            raise ValueError(
                f"backbone={name!r} does not take samples of shape {self.input_shape}: {exc}"
            ) from exc
        finally:
            model.train(was_training)
        self.projection = nn.Linear(width, n_components)

    def _features(self, x):
        out = self.model(x.reshape(-1, *self.input_shape))
        if isinstance(out, tuple):  # e.g. Inception's (logits, aux_logits) in training
            out = out[0]
        return torch.flatten(out, 1)

    def forward(self, x):
        """Embed a batch of images (or flat rows of ``input_shape``).

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        tensor of shape (n, n_components)
        """
        return self.projection(self._features(x))


def _timm_model(model_name, input_shape, n_components, pretrained=False, **options):
    timm = _import("timm", "timm")
    shape = _chw(input_shape, f"timm:{model_name}")
    try:  # in_chans: timm adapts the first layer (and pretrained weights) to C channels
        model = timm.create_model(
            model_name, pretrained=pretrained, num_classes=0, in_chans=shape[0], **options
        )
    except RuntimeError as exc:
        if "unknown model" not in str(exc).lower():
            raise
        raise ValueError(
            f"timm has no model {model_name!r} ({exc}); see timm.list_models()."
        ) from exc
    return LibraryModel(model, shape, n_components, f"timm:{model_name}")


#: The attributes that hold a torchvision model's classifier, in the order looked for.
_TORCHVISION_CLASSIFIERS = ("fc", "classifier", "heads", "head")


def _torchvision_model(model_name, input_shape, n_components, pretrained=False, **options):
    models = _import("torchvision", "vision").models
    name = f"torchvision:{model_name}"
    shape = _chw(input_shape, name)
    try:
        builder = models.get_model_builder(model_name)
    except ValueError as exc:
        raise ValueError(
            f"torchvision has no model {model_name!r} ({exc}); see "
            "torchvision.models.list_models()."
        ) from exc
    model = builder(weights="DEFAULT" if pretrained else None, **options)
    found = [a for a in _TORCHVISION_CLASSIFIERS if isinstance(getattr(model, a, None), nn.Module)]
    if not found:
        raise ValueError(
            f"backbone={name!r}: no classifier to remove (looked for the attributes "
            f"{', '.join(_TORCHVISION_CLASSIFIERS)}); pass the model as a module instead."
        )
    setattr(model, found[0], nn.Identity())
    return LibraryModel(model, shape, n_components, name)


#: Named models of other libraries: ``backbone="<library>:<model name>"``.
LIBRARIES = {"timm": _timm_model, "torchvision": _torchvision_model}


def is_backbone_name(name):
    """Whether ``name`` names a backbone: a key of :data:`BACKBONES`, or
    ``"timm:<model>"`` / ``"torchvision:<model>"`` (checked when the model is built).

    Parameters
    ----------
    name : object

    Returns
    -------
    bool
    """
    if not isinstance(name, str):
        return False
    library, colon, model = name.partition(":")
    return name in BACKBONES or bool(colon and model and library in LIBRARIES)


def get_backbone(name):
    """The :class:`Backbone` entry of a backbone name.

    Parameters
    ----------
    name : str
        A key of :data:`BACKBONES`, or ``"timm:<model>"`` / ``"torchvision:<model>"``.

    Returns
    -------
    Backbone
        A library's model takes images and ``backbone__pretrained`` (bool, default False:
        True lets the library download its weights); other ``backbone__*`` options go to
        the library's constructor; its default learning rate is :data:`CUSTOM_LR`.
    """
    if not is_backbone_name(name):
        raise ValueError(
            f"unknown backbone {name!r}; use one of {', '.join(BACKBONES)}, or "
            f"'<library>:<model>' with the library one of {', '.join(LIBRARIES)}."
        )
    if name in BACKBONES:
        return BACKBONES[name]
    library, _, model = name.partition(":")
    return Backbone(
        functools.partial(LIBRARIES[library], model),
        True,
        f"{library}'s {model}, without its classifier",
        {"pretrained": ["boolean"]},
        lr=CUSTOM_LR,
    )


class _BackboneNames(StrOptions):
    """scikit-learn's constraint for a backbone name (:func:`is_backbone_name`)."""

    def __init__(self):
        super().__init__(set(BACKBONES))

    def is_satisfied_by(self, val):
        return is_backbone_name(val)

    def __str__(self):
        named = " or ".join(f"'{library}:<model>'" for library in LIBRARIES)
        return f"{super().__str__()}, or a str {named}"


#: The estimator's constraint on a ``backbone`` name: ``[BACKBONE_NAMES, nn.Module, type]``.
BACKBONE_NAMES = _BackboneNames()


def default_lr(backbone):
    """The learning rate ``lr=None`` stands for with this ``backbone`` argument.

    Parameters
    ----------
    backbone : str, nn.Module or nn.Module subclass

    Returns
    -------
    float
        The named backbone's own (:func:`get_backbone`), else :data:`CUSTOM_LR`.
    """
    return get_backbone(backbone).lr if isinstance(backbone, str) else CUSTOM_LR


def build_backbone(backbone, sample_shape, n_components, params):
    """The encoder module for the estimator's ``backbone`` argument.

    Parameters
    ----------
    backbone : str, nn.Module instance or nn.Module subclass
        A name (:func:`get_backbone`); a module instance is deep-copied (the user's object
        is never trained in place); a class is instantiated with ``params``.
    sample_shape : tuple of int
        Shape of one input sample.
    n_components : int
        Width of the embedding.
    params : dict
        The estimator's ``backbone__*`` arguments, without the prefix
        (``input_shape`` reshapes flat rows for an image backbone). ``weights`` is left
        out: it is a file for :func:`load_backbone_weights`, loaded by the caller.

    Returns
    -------
    nn.Module
    """
    params = {k: v for k, v in params.items() if k != "weights"}
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
    spec = get_backbone(backbone)  # the estimator validates the name first
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


def _read_state_dict(path):
    """The state dict in the file ``path``: safetensors or ``torch.save``'s format."""
    if not os.path.isfile(path):
        raise FileNotFoundError(
            errno.ENOENT, f"backbone__weights: no such file {os.fspath(path)!r}", path
        )
    if os.fspath(path).endswith(".safetensors"):
        try:
            from safetensors.torch import load_file
        except Exception as exc:
            raise ImportError(
                "reading .safetensors weights needs safetensors: pip install "
                "'sk-embed[safetensors]' (from a clone: pip install -e '.[safetensors]'); "
                f"importing it failed: {exc}"
            ) from exc
        return load_file(path, device="cpu")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"backbone__weights={os.fspath(path)!r} is not a plain state dict (tensors "
            "only): save module.state_dict() with torch.save, or a .safetensors file. "
            f"torch.load(weights_only=True) said: {exc}"
        ) from exc
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]  # a checkpoint that nests it
    if not isinstance(state, Mapping):
        raise ValueError(
            f"backbone__weights={os.fspath(path)!r} holds a {type(state).__name__}, not a "
            "state dict (a dict of parameter name -> tensor)."
        )
    return state


def _shape(value):
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


def _listing(keys, limit=20):
    keys = list(keys)
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_backbone_weights(encoder, path):
    """Load a local state dict into a built encoder, all of it or nothing.

    Parameters
    ----------
    encoder : nn.Module
        The encoder, as :func:`build_backbone` returns it.
    path : str or os.PathLike
        A ``.safetensors`` file (needs the ``safetensors`` package: ``pip install
        'sk-embed[safetensors]'``), or a file of ``torch.save`` read with
        ``torch.load(path, weights_only=True)``: a state dict, or a dict with the state
        dict under ``"state_dict"``. Its names and shapes must be the encoder's (as
        ``encoder.state_dict()`` gives them).

    Returns
    -------
    nn.Module
        ``encoder``, its parameters and buffers now the file's.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ValueError
        When the file's names or shapes are not the encoder's (the message lists the
        missing and unexpected names and the mismatched shapes), or it holds no state dict.
    ImportError
        For a ``.safetensors`` file without the safetensors package.
    """
    state = _read_state_dict(path)
    own = encoder.state_dict()
    # torch fills a missing BatchNorm counter itself (files older than it, safetensors)
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k}: file {_shape(state[k])}, backbone {_shape(own[k])}"
        for k in own
        if k in state and _shape(state[k]) != _shape(own[k])
    ]
    problems = []
    if missing:
        problems.append(f"missing keys (in the backbone, not in the file): {_listing(missing)}")
    if unexpected:
        problems.append(
            f"unexpected keys (in the file, not in the backbone): {_listing(unexpected)}"
        )
    if shapes:
        problems.append(f"shape mismatches: {_listing(shapes)}")
    if problems:
        raise ValueError(
            f"backbone__weights={os.fspath(path)!r} does not fit the backbone; "
            + "; ".join(problems)
            + "."
        )
    encoder.load_state_dict(state)
    return encoder


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

"""The routing table: which estimator keyword options reach which part of the net.

``<prefix>__<name>`` reaches one part (``loss__margin`` the technique, ``backbone__*`` the
encoder, ``optimizer__*`` the optimizer, ...); skorch's own constructor arguments that
the estimator does not set itself pass through as they are.
"""

from __future__ import annotations

import inspect

import torch
from skorch import NeuralNet

# Routed options: ``<prefix>__<name>`` reaches one part of the net.
OPTION_PREFIXES = ("loss", "backbone", "optimizer", "iterator_train", "iterator_valid", "callbacks")
# skorch's constructor arguments that the estimator sets itself; the rest pass through.
_OWNED = {
    "module", "criterion", "lr", "max_epochs", "batch_size", "device", "verbose", "dataset",
    "warm_start",
}  # fmt: skip
PASS_THROUGH = (
    frozenset(inspect.signature(NeuralNet.__init__).parameters)
    - _OWNED
    - {
        "self",
        "kwargs",
    }
)


def is_option(name):
    """Whether an estimator keyword argument reaches some part of the net.

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    prefix, sep, rest = name.partition("__")
    return name in PASS_THROUGH or bool(sep and rest) and prefix in OPTION_PREFIXES


#: ``optimizer`` names, as ``MLPClassifier`` takes ``solver`` names; a
#: ``torch.optim.Optimizer`` subclass (or any callable that builds one) works too.
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}


def resolve_optimizer(optimizer):
    """The optimizer class for the ``optimizer`` option.

    Parameters
    ----------
    optimizer : str or callable
        A key of :data:`OPTIMIZERS` (any case), or what skorch takes.

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        For an unknown name or something that cannot build an optimizer.
    """
    names = ", ".join(repr(name) for name in OPTIMIZERS)
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; use one of {names} or a "
                             "torch.optim.Optimizer subclass.")  # fmt: skip
        return OPTIMIZERS[optimizer.lower()]
    if not callable(optimizer):
        raise ValueError(
            f"optimizer must be a torch.optim.Optimizer subclass or one of {names}; "
            f"got {optimizer!r}."
        )
    return optimizer


# Devices where every torch optimizer that takes ``fused`` has the kernel (Adagrad's is
# CPU and CUDA only; Adam's also runs on MPS and XPU, where torch's default stays).
_FUSED_DEVICES = frozenset({"cpu", "cuda"})
# Options that choose the update kernel, or that a fused kernel cannot run with.
_KERNEL_OPTIONS = ("optimizer__fused", "optimizer__foreach", "optimizer__differentiable")


def kernel_options(optimizer, options, device):
    """The optimizer's fused kernel, where it has one and the user chose no kernel.

    A fused step updates every parameter in one kernel instead of a handful of tensor
    operations per parameter. On CPU an epoch of the default MLP on rows takes about 0.8
    of the time (docs/performance.md); the update is the same formula, equal to float
    rounding. It is the default only where torch has it (``fused`` in the optimizer's
    signature: Adam, AdamW, SGD, Adagrad) on CPU or CUDA, and never overrides an
    ``optimizer__fused``, ``optimizer__foreach`` or ``optimizer__differentiable`` of the
    user's.

    Parameters
    ----------
    optimizer : callable
        The resolved optimizer class (:func:`resolve_optimizer`).
    options : dict
        The net's keyword arguments, prefixed options included.
    device : str or torch.device

    Returns
    -------
    dict
        ``{"optimizer__fused": True}`` or ``{}``.
    """
    try:
        takes_fused = "fused" in inspect.signature(optimizer).parameters
        device_type = torch.device(device).type
    except (TypeError, ValueError, RuntimeError):  # a callable without a signature
        return {}
    if not takes_fused or device_type not in _FUSED_DEVICES:
        return {}
    if any(name in options for name in _KERNEL_OPTIONS):
        return {}
    return {"optimizer__fused": True}

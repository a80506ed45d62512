"""Techniques that shape the embedded space, one file each, and their registry.

To add one, write a file here that defines its head and loss (subclasses of
:class:`Head` and :class:`Loss`, overriding only what differs) and calls
:func:`register`, then import it below.
"""

from ._base import (
    CrossEntropy,
    DistanceHead,
    Head,
    LinearHead,
    Loss,
    class_means,
    cross_entropy,
    squared_distances,
    weighted_mean,
)
from ._registry import Technique, available_losses, get_technique, register

# Registration order is the order of ``available_losses()``.
from . import (  # noqa: E402,F401  isort:skip
    softmax,
    normalized_softmax,
    cosface,
    arcface,
    sphereface,
    virtual_softmax,
    center,
    contrastive,
    triplet,
    regression,
    soc,
)

__all__ = [
    "CrossEntropy",
    "DistanceHead",
    "Head",
    "LinearHead",
    "Loss",
    "Technique",
    "available_losses",
    "class_means",
    "cross_entropy",
    "get_technique",
    "register",
    "squared_distances",
    "weighted_mean",
]

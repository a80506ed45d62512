"""Softmax: a linear classifier trained with cross-entropy, -log softmax(W z + b)_y."""

from ._base import CrossEntropy, LinearHead
from ._registry import Technique, register

register(
    Technique(
        "softmax",
        head=LinearHead,
        loss=CrossEntropy,
        summary="linear classifier + cross-entropy",
    )
)

"""Normalized softmax: cross-entropy with unit class weights and no bias.

The constraint ``||W_j|| = 1, b_j = 0`` leaves the embedding's norm free. It does not
usually cost accuracy and gives a more regular, radial geometry: each class owns a
direction. It is the softmax technique with ``normalize_weights`` pinned to True.
"""

from types import MappingProxyType

from ._base import CrossEntropy, LinearHead
from ._registry import Technique, register

register(
    Technique(
        "normalized_softmax",
        head=LinearHead,
        loss=CrossEntropy,
        summary="unit-norm class weights, no bias + cross-entropy",
        fixed=MappingProxyType({"normalize_weights": True}),
    )
)

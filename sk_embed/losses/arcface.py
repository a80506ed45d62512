"""ArcFace: additive angular margin, target logit ``s cos(theta_y + m)``, m in radians.

Where ``theta_y + m`` passes ``pi`` the target would stop decreasing with the angle, so
(as insightface's "non-easy margin" and pytorch-metric-learning do) the target there is
``cos(theta_y) - m sin(m)``. ``cos theta`` is clamped inside (-1, 1) before ``acos`` so
gradients stay finite at +-1.

Defaults for a low-dimensional space (the paper's ``m = 0.5, s = 64`` is for 512-D):
``C`` classes are at most ``2 pi / C`` apart in angle in 2-D (0.63 rad for 10 classes)
and ``acos(-1 / (C - 1))`` where a simplex fits; ``m = 0.2`` fits 2-D up to 31 classes,
and a margin above the bound warns. ``s = 16`` as for CosFace.
"""

import math
from numbers import Real
from types import MappingProxyType

import torch
from sklearn.utils._param_validation import Interval

from ._angular import AngularHead, MarginLoss, best_min_cosine, warn_unreachable_margin
from ._registry import Technique, register

_EPS = 1e-7


class ArcFaceLoss(MarginLoss):
    """``-log softmax(s * [cos(theta_j + m 1(j = y))])_y`` with the monotone fallback.

    Parameters
    ----------
    n_components, n_classes : int
    scale : float, default=16.0
        ``s``; also the inverse temperature of ``predict_proba``.
    margin : float, default=0.2
        ``m`` in radians, added to the target angle.
    """

    # an angle added to an angle in [0, pi]
    _parameter_constraints: dict = {"margin": [Interval(Real, 0, math.pi, closed="left")]}

    def __init__(self, n_components, n_classes, scale=16.0, margin=0.2):
        super().__init__(scale)
        self.margin = margin
        bound = math.acos(best_min_cosine(n_classes, n_components))
        warn_unreachable_margin("arcface", margin, bound, n_classes, n_components, " rad")

    def modify_target(self, cos_y, z):
        theta = torch.acos(cos_y.clamp(-1 + _EPS, 1 - _EPS))
        fallback = cos_y - self.margin * math.sin(self.margin)
        return torch.where(theta + self.margin <= math.pi, torch.cos(theta + self.margin), fallback)


register(
    Technique(
        "arcface",
        head=AngularHead,
        loss=ArcFaceLoss,
        fixed=MappingProxyType({"normalize_weights": True}),  # unit weights by definition
        summary="additive angular margin s cos(theta + m) on the unit hypersphere",
    )
)

"""SphereFace (A-Softmax): multiplicative angular margin with an annealed target.

Unit class weights, no bias, free embedding norm. The target logit is
``||z|| psi(theta_y)`` with ``psi(theta) = (-1)^k cos(m theta) - 2k`` for ``theta`` in
``[k pi / m, (k + 1) pi / m]``, which decreases monotonically on ``[0, pi]``. The margin
alone does not train from scratch, so, as in the original code, the target is blended
with the plain one: ``f_y = ||z|| (lambda cos theta_y + psi(theta_y)) / (1 + lambda)``
with ``lambda = max(lambda_min, lambda_base (1 + lambda_gamma * it) ** -lambda_power)``
falling with the training iteration ``it``. The original's values (1000, 0.12, 1, 5)
are the defaults; ``lambda_base = lambda_min = 0`` gives the pure A-Softmax.

A zero angle meets any multiplicative margin, so there is no bound to warn about. The
head's scores (``decision_function``) are the logits ``||z|| cos theta_j``, whose softmax
is ``predict_proba``; ``transform`` gives the unit embedding as for the other angular
techniques.
"""

import math
from numbers import Integral
from types import MappingProxyType

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval

from ._angular import AngularHead, MarginLoss
from ._base import NON_NEGATIVE
from ._registry import Technique, register

_EPS = 1e-7


class SphereHead(AngularHead):
    """Scores are the model's logits ``||z|| cos theta_j`` (unit weights, no bias), so
    ``decision_function`` ranks samples as ``predict_proba`` (their softmax) does.

    Parameters
    ----------
    n_components, n_classes : int
    project : bool, default=True
        ``transform`` returns the unit embedding ``z / ||z||``.
    """

    def __init__(self, n_components, n_classes, project=True):
        super().__init__(n_components, n_classes, scale=1.0, project=project)

    def forward(self, z):
        return F.linear(z, F.normalize(self.weight, dim=1))

    def proba(self, scores, z):
        return torch.softmax(scores, dim=1)

    def cosines(self, scores, z):
        return scores / z.norm(dim=1, keepdim=True).clamp_min(1e-30)


class SphereFaceLoss(MarginLoss):
    """Cross-entropy of ``||z|| cos theta_j`` with the annealed A-Softmax target.

    Parameters
    ----------
    margin : int, default=4
        The angle multiplier ``m``.
    lambda_base, lambda_gamma, lambda_power, lambda_min : float
        The annealing schedule, defaults 1000, 0.12, 1, 5 (the original's).
    """

    _parameter_constraints: dict = {
        "margin": [Interval(Integral, 1, None, closed="left")],
        "lambda_base": [NON_NEGATIVE],
        "lambda_gamma": [NON_NEGATIVE],
        "lambda_power": [NON_NEGATIVE],
        "lambda_min": [NON_NEGATIVE],
    }

    def __init__(
        self, margin=4, lambda_base=1000.0, lambda_gamma=0.12, lambda_power=1.0, lambda_min=5.0
    ):
        super().__init__(scale=1.0)
        self.margin = int(margin)
        self.lambda_base = lambda_base
        self.lambda_gamma = lambda_gamma
        self.lambda_power = lambda_power
        self.lambda_min = lambda_min
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))

    def current_lambda(self):
        """The blend weight at the current training iteration.

        Returns
        -------
        float
        """
        decayed = self.lambda_base * (1 + self.lambda_gamma * float(self.iteration)) ** (
            -self.lambda_power
        )
        return max(self.lambda_min, decayed)

    def psi(self, cos):
        """``(-1)^k cos(m theta) - 2k``, ``k = floor(m theta / pi)``.

        Parameters
        ----------
        cos : tensor
            ``cos theta``.

        Returns
        -------
        tensor
            Same shape.
        """
        theta = torch.acos(cos.clamp(-1 + _EPS, 1 - _EPS))
        k = torch.floor(self.margin * theta / math.pi)
        sign = 1 - 2 * torch.remainder(k, 2)
        return sign * torch.cos(self.margin * theta) - 2 * k

    def modify_target(self, cos_y, z):
        lam = self.current_lambda()
        if self.training:
            self.iteration += 1
        return (lam * cos_y + self.psi(cos_y)) / (1 + lam)

    def logit_scale(self, z):
        return z.norm(dim=1, keepdim=True)


register(
    Technique(
        "sphereface",
        head=SphereHead,
        loss=SphereFaceLoss,
        fixed=MappingProxyType({"normalize_weights": True}),  # unit weights by definition
        summary="multiplicative angular margin psi(m theta), annealed, free norm",
    )
)

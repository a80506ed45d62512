"""CosFace / AM-Softmax: additive cosine margin, target logit ``s (cos theta_y - m)``.

Both the weights and the embedding are unit-normalized (the head's cosines). The papers
use ``s=64, m=0.35`` at 512-D; those do not fit a low-dimensional space, so the
defaults are chosen from two bounds (docs/techniques.md, "Angular margins"):

- margin: ``C`` classes can be at most ``1 - cos(2 pi / C)`` apart in cosine in 2-D
  (0.191 for 10 classes) and ``C / (C - 1)`` where a simplex fits. ``m = 0.1`` is below
  the 2-D bound for up to 14 classes; a margin above the bound warns.
- scale: reaching a posterior ``P`` needs ``s >= (C-1)/C ln((C-1) P / (1-P))``: about 8
  for ``P = 0.999`` and ``C = 10``. ``s = 16`` leaves room for the margin and for
  hundreds of classes.
"""

from numbers import Real
from types import MappingProxyType

from sklearn.utils._param_validation import Interval

from ._angular import AngularHead, MarginLoss, best_min_cosine, warn_unreachable_margin
from ._registry import Technique, register


class CosFaceLoss(MarginLoss):
    """``-log softmax(s * [cos theta_j - m 1(j = y)])_y``.

    Parameters
    ----------
    n_components, n_classes : int
    scale : float, default=16.0
        ``s``; also the inverse temperature of ``predict_proba``.
    margin : float, default=0.1
        ``m``, subtracted from the target cosine.
    """

    _parameter_constraints: dict = {"margin": [Interval(Real, 0, 2, closed="left")]}

    def __init__(self, n_components, n_classes, scale=16.0, margin=0.1):
        super().__init__(scale)
        self.margin = margin
        bound = 1.0 - best_min_cosine(n_classes, n_components)
        warn_unreachable_margin("cosface", margin, bound, n_classes, n_components)

    def modify_target(self, cos_y, z):
        return cos_y - self.margin


register(
    Technique(
        "cosface",
        head=AngularHead,
        loss=CosFaceLoss,
        fixed=MappingProxyType({"normalize_weights": True}),  # unit weights by definition
        summary="additive cosine margin s(cos - m) on the unit hypersphere",
    )
)

"""Regression to fixed class targets: ``||z - t_y||^2`` with a fixed point per class.

Nothing is learned about the classes: the layout is chosen in advance and the encoder
regresses onto it. ``predict`` is the nearest target, ``class_centers_`` are the
targets. ``loss__targets``:

- ``"sphere"`` (default): C points spread evenly on the unit sphere in any dimension,
  found by minimizing a repulsion energy (deterministic given ``random_state``);
- ``"circle"``: Scholl 2024's ring, 2-D only;
- ``"grid"``: Scholl 2024's raster, in [-1, 1]^d, any dimension;
- ``"simplex"``: a regular simplex (``n_components >= C - 1``);
- an array of shape ``(n_classes, n_components)``, used as it is.

The named layouts are scaled by ``loss__radius`` (default 3). The scale matters for
training even though the loss is scale-free in principle (docs/techniques.md has the
measured sweep).

Which class gets which point of a named layout (``loss__assign``): ``"similar"``
(default) gives classes that look alike nearby points, from how often their training
samples are each other's nearest neighbours in the input space; ``"labels"`` takes the
classes in label order (Scholl 2024's). The squared loss's answer for a sample between
two classes is the mean of their targets: in label order two often-confused classes can
sit on opposite sides of the circle, and that mean is then nearest a third class.
"""

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions

from .._random import generator
from ._base import POSITIVE, DistanceHead, Loss, weighted_mean
from ._layout import assign_by_similarity, circle, grid, simplex, spread_on_sphere
from ._registry import Technique, register

LAYOUTS = {
    "sphere": lambda c, d: spread_on_sphere(c, d, dtype=torch.float64),
    "circle": circle,
    "grid": grid,
    "simplex": simplex,
}


class TargetHead(DistanceHead):
    """Scores are negative squared distances to the fixed targets.

    Parameters
    ----------
    n_components, n_classes : int
    targets : {"sphere", "circle", "grid", "simplex"} or array of shape (n_classes, n_components)
    radius : float, default=3.0
        Scale of a named layout (the sphere's radius, the grid's half-width).
    temperature : float, default=1.0
    assign : {"similar", "labels"}, default="similar"
        Which class gets which point of a named layout: classes that look alike get
        nearby points (:func:`~sk_embed.losses._layout.assign_by_similarity`), or the
        classes take the points in label order. An array of targets is used as given.
    """

    _parameter_constraints: dict = {
        "targets": [StrOptions(set(LAYOUTS)), "array-like"],
        "radius": [POSITIVE],
        "assign": [StrOptions({"similar", "labels"})],
    }

    def __init__(
        self, n_components, n_classes, targets="sphere", radius=3.0, temperature=1.0,
        assign="similar",
    ):  # fmt: skip
        super().__init__(n_components, n_classes, temperature)
        points = make_targets(targets, n_classes, n_components)
        self.centers.copy_(radius * points if isinstance(targets, str) else points)
        self.assign = assign
        self.arranges = assign == "similar" and isinstance(targets, str)

    def arrange(self, similarity):
        """Give classes that look alike nearby targets (``assign="similar"``).

        Parameters
        ----------
        similarity : tensor of shape (n_classes, n_classes)
            As for :meth:`~sk_embed.losses.Head.arrange`.
        """
        targets = self.centers.detach().cpu().double().numpy()
        order = assign_by_similarity(similarity.cpu().numpy(), targets, generator())
        self.centers.copy_(self.centers[torch.as_tensor(order, device=self.centers.device)])

    def place_centers(self, z, y, sample_weight=None):
        """Nothing to place: the centers are the fixed targets.

        Parameters
        ----------
        z, y, sample_weight : tensor
            As for :meth:`~sk_embed.losses.Head.place_centers`.
        """


def make_targets(targets, n_classes, n_components):
    """The target layout for ``loss__targets``.

    Parameters
    ----------
    targets : str or array-like of shape (n_classes, n_components)
        A layout name of ``LAYOUTS`` or the targets themselves.
    n_classes, n_components : int

    Returns
    -------
    tensor of shape (n_classes, n_components)
        Unit scale for a named layout.
    """
    if isinstance(targets, str):
        if targets not in LAYOUTS:
            raise ValueError(
                f"loss__targets={targets!r} is not one of {', '.join(map(repr, LAYOUTS))} "
                "or an array of shape (n_classes, n_components)"
            )
        return LAYOUTS[targets](n_classes, n_components).float()
    array = np.asarray(targets, dtype=np.float64)
    if array.shape != (n_classes, n_components):
        raise ValueError(
            f"loss__targets has shape {array.shape}; it must be (n_classes, n_components) "
            f"= ({n_classes}, {n_components})"
        )
    if not np.isfinite(array).all():
        raise ValueError("loss__targets contains NaN or infinity")
    return torch.tensor(array, dtype=torch.float32)


class TargetRegressionLoss(Loss):
    """``mean_i ||z_i - t_{y_i}||^2``: the head's scores are ``-||z - t_j||^2``."""

    def forward(self, scores, z, y, head, sample_weight=None):
        return weighted_mean(-scores.gather(1, y.unsqueeze(1)).squeeze(1), sample_weight)


register(
    Technique(
        "regression",
        head=TargetHead,
        loss=TargetRegressionLoss,
        summary="regress the embedding onto a fixed target per class",
    )
)

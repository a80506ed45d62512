"""What the angular-margin techniques share: a cosine head and a target-logit loss.

The head scores a sample by the cosines between its embedding and the class weights;
the loss scales the cosines and changes only the target class's entry before the
cross-entropy. Each technique's file overrides :meth:`MarginLoss.modify_target`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._caller import warn
from ._base import POSITIVE, Head, Loss, class_means, cross_entropy
from ._layout import spread_on_sphere


class AngularHead(Head):
    """Cosine classifier: scores are ``cos(theta_j)`` between ``z`` and unit weights ``W_j``.

    Parameters
    ----------
    n_components, n_classes : int
    scale : float
        Inverse temperature: ``predict_proba`` is ``softmax(scale * cos)``.
    project : bool, default=True
        ``transform`` returns ``z / ||z||``, the projection onto the unit hypersphere
        where the technique works (Scholl 2024's view); False gives the raw ``z``.
    """

    _parameter_constraints: dict = {"scale": [POSITIVE], "project": ["boolean"]}

    def __init__(self, n_components, n_classes, scale=1.0, project=True):
        super().__init__(n_components, n_classes)
        self.scale = scale
        self.project = project
        # Class directions start evenly spread: random ones can start almost together,
        # and in a low-dimensional space they then never part (two classes share an arc).
        self.weight = nn.Parameter(spread_on_sphere(n_classes, n_components))

    def forward(self, z):
        return F.linear(F.normalize(z, dim=1), F.normalize(self.weight, dim=1))

    def proba(self, scores, z):
        return torch.softmax(self.scale * scores, dim=1)

    def transform(self, z):
        return F.normalize(z, dim=1) if self.project else z

    @property
    def centers(self):
        """The unit class directions ``W_j / ||W_j||``."""
        return F.normalize(self.weight.detach(), dim=1)

    def place_centers(self, z, y, sample_weight=None):
        """Nothing to place: the class directions are the trained weights.

        Parameters
        ----------
        z, y, sample_weight : tensor
            As for :meth:`~sk_embed.losses.Head.place_centers`.
        """

    def score_samples(self, scores, z):
        """The largest cosine to a class direction.

        Parameters
        ----------
        scores, z : tensor
            As for :meth:`~sk_embed.losses.Head.score_samples`.

        Returns
        -------
        tensor of shape (n,)
        """
        return self.cosines(scores, z).max(dim=1).values

    def cosines(self, scores, z):
        """``cos theta_j`` from the scores.

        Parameters
        ----------
        scores : tensor of shape (n, n_classes)
        z : tensor of shape (n, n_components)

        Returns
        -------
        tensor of shape (n, n_classes)
            The scores themselves here; heads whose scores are not cosines override it.
        """
        return scores

    def add_classes(self, z, y, n_new):
        """Imprinting: a new class's direction is the normalized mean unit embedding.

        Parameters
        ----------
        z, y, n_new
            As for :meth:`~sk_embed.losses.Head.add_classes`.
        """
        self._grow("weight", F.normalize(class_means(F.normalize(z, dim=1), y, n_new), dim=1))
        self.n_classes += n_new


class MarginLoss(Loss):
    """Cross-entropy of ``logit_scale * cos`` with the target class's cosine modified.

    Parameters
    ----------
    scale : float
        The constant the cosines are multiplied by.
    """

    _parameter_constraints: dict = {"scale": [POSITIVE]}

    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def modify_target(self, cos_y, z):
        """The target class's modified cosine (its logit before scaling).

        Parameters
        ----------
        cos_y : tensor of shape (n, 1)
            Cosine between each embedding and its class direction.
        z : tensor of shape (n, n_components)

        Returns
        -------
        tensor of shape (n, 1)
        """
        raise NotImplementedError  # pragma: no cover

    def logit_scale(self, z):
        """What the (modified) cosines are multiplied by.

        Parameters
        ----------
        z : tensor of shape (n, n_components)

        Returns
        -------
        float or tensor of shape (n, 1)
            ``scale`` here; a per-sample column for SphereFace.
        """
        return self.scale

    def forward(self, scores, z, y, head, sample_weight=None):
        cos = head.cosines(scores, z)
        cos_y = cos.gather(1, y.unsqueeze(1))
        target = self.modify_target(cos_y, z)
        logits = cos.scatter(1, y.unsqueeze(1), target)
        return cross_entropy(self.logit_scale(z) * logits, y, sample_weight)


def best_min_cosine(n_classes, n_components):
    """The smallest possible largest cosine between ``n_classes`` unit vectors.

    Exact in 2-D (a regular polygon: ``cos(2 pi / C)``) and where a regular simplex
    fits (``d >= C - 1``: ``-1 / (C - 1)``); in between the simplex value is a lower
    bound, so margin checks there are loose.

    Parameters
    ----------
    n_classes, n_components : int

    Returns
    -------
    float
    """
    if n_classes < 2:
        return -1.0
    if n_components == 1:
        return -1.0 if n_classes == 2 else 1.0
    if n_components == 2:
        return math.cos(2 * math.pi / n_classes)
    return -1.0 / (n_classes - 1)


def warn_unreachable_margin(name, margin, bound, n_classes, n_components, unit=""):
    """Warn when ``margin`` exceeds what ``n_classes`` classes can have in this dimension.

    Parameters
    ----------
    name : str
        The technique.
    margin, bound : float
        The requested margin and the largest one the classes can meet.
    n_classes, n_components : int
    unit : str, default=""
        Appended to the numbers in the message (``" rad"``).
    """
    if margin > bound:
        warn(
            f"{name}: loss__margin={margin}{unit} cannot be met by {n_classes} classes in "
            f"{n_components}-D: the bound is {bound:.3f}{unit} (classes spread as far apart "
            "as the dimension allows); training will not separate them by that margin.",
            UserWarning,
        )

"""Center loss (Wen et al., 2016): softmax loss + ``lambda/2 ||z - c_y||^2``.

Each class has a center ``c_j`` in the embedded space, held by the head. The centers are
not trained by the optimizer: after each training batch they move toward their class's
batch samples by the paper's rule ``c_j -= alpha * sum_i (c_j - z_i) / (1 + n_j)`` (over
the ``n_j`` samples of class ``j`` in the batch), starting at zero. The head applies the
rule after every optimizer step (:meth:`~sk_embed.losses.Head.after_step`), so the loss
only reads the centers. The pull term is averaged over the batch like the
cross-entropy. The linear classifier may be normalized (``loss__normalize_weights=True``:
Scholl 2024's normalized center loss).

Defaults: ``center_weight = 0.01`` (the paper's face setting, 0.003, is for 512-D
features of large norm; docs/techniques.md has the measured sweep) and ``alpha = 0.5``
as in the paper.
"""

from numbers import Real

import torch
from sklearn.utils._param_validation import Interval

from ._base import (
    NON_NEGATIVE,
    LinearHead,
    Loss,
    center_spread,
    cross_entropy,
    squared_distances,
    weighted_mean,
)
from ._registry import Technique, register


class CenterLossHead(LinearHead):
    """A linear classifier that also holds the learned class centers.

    Parameters
    ----------
    n_components, n_classes : int
    normalize_weights : bool, default=False
        Unit class weights, no bias.
    alpha : float, default=0.5
        The centers' update rate, in [0, 1].
    """

    _parameter_constraints: dict = {"alpha": [Interval(Real, 0, 1, closed="both")]}

    def __init__(self, n_components, n_classes, normalize_weights=False, alpha=0.5):
        super().__init__(n_components, n_classes, normalize_weights)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"loss__alpha must be in [0, 1]; got {alpha}")
        self.alpha = alpha

    @torch.no_grad()
    def after_step(self, z, y, sample_weight=None):
        """The paper's step ``c_j -= alpha * sum_{i: y_i = j} (c_j - z_i) / (1 + n_j)``.

        With weights, each sample counts by its weight: ``n_j`` is the sum of the
        weights of class ``j`` and ``z_i`` enters as ``w_i z_i``.

        Parameters
        ----------
        z : tensor of shape (n, n_components)
            Embeddings of one training batch.
        y : tensor of shape (n,)
            Their class indices.
        sample_weight : tensor of shape (n,), optional
        """
        z = z.to(self.centers.dtype)
        if sample_weight is None:
            n = torch.bincount(y, minlength=len(self.centers)).to(z.dtype).unsqueeze(1)
        else:
            w = sample_weight.to(z)
            n = torch.zeros(len(self.centers), dtype=z.dtype, device=z.device)
            n = n.index_add_(0, y, w).unsqueeze(1)
            z = z * w.unsqueeze(1)
        sums = torch.zeros_like(self.centers).index_add_(0, y, z)
        self.centers -= self.alpha * ((n * self.centers - sums) / (1 + n))

    def place_centers(self, z, y, sample_weight=None):
        """Nothing to place: the centers were learned during training.

        Parameters
        ----------
        z, y, sample_weight : tensor
            As for :meth:`~sk_embed.losses.Head.place_centers`.
        """

    def score_samples(self, scores, z):
        """Minus the squared distance to the nearest center, in units of the mean
        squared distance between two centers (:func:`~sk_embed.losses._base.center_spread`).

        Parameters
        ----------
        scores, z : tensor
            As for :meth:`~sk_embed.losses.Head.score_samples`.

        Returns
        -------
        tensor of shape (n,)
        """
        centers = self.centers.to(z)
        return -squared_distances(z, centers).min(dim=1).values / center_spread(centers)


class CenterLoss(Loss):
    """``CE(scores, y) + center_weight / 2 * mean_i ||z_i - c_{y_i}||^2``.

    Parameters
    ----------
    center_weight : float, default=0.01
        ``lambda``, the weight of the pull toward the head's centers.
    """

    _parameter_constraints: dict = {"center_weight": [NON_NEGATIVE]}

    def __init__(self, center_weight=0.01):
        super().__init__()
        self.center_weight = center_weight

    def forward(self, scores, z, y, head, sample_weight=None):
        pull = weighted_mean((z - head.centers.to(z.dtype)[y]).pow(2).sum(1), sample_weight)
        return cross_entropy(scores, y, sample_weight) + self.center_weight / 2 * pull


register(
    Technique(
        "center",
        head=CenterLossHead,
        loss=CenterLoss,
        summary="softmax + pull toward learned class centers",
    )
)

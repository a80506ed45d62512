"""Contrastive loss (Hadsell, Chopra and LeCun, 2006) over the pairs of a batch.

Same-class pairs are pulled together, ``1/2 D^2``; different-class pairs pushed past the
margin, ``1/2 max(0, m - D)^2``, with ``D`` the Euclidean distance. A batch holds far more
negative than positive pairs, so the two kinds are averaged separately and added:
neither swamps the other. Training batches are class-balanced (P classes x 4 samples)
by default so that every batch has positive pairs. There is no classifier layer:
prediction is the nearest mean training embedding.

``squared=False, normalize=True, average="nonzero"`` with ``margin=1`` is
pytorch-metric-learning's ``ContrastiveLoss()``: ``D`` and ``max(0, m - D)`` on unit
embeddings, each kind averaged over its non-zero terms.
"""

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import StrOptions

from ._base import POSITIVE, Loss
from ._pairs import AVERAGES, MeanEmbeddingHead, average, pair_distances, pair_masks
from ._registry import Technique, register


class ContrastiveLoss(Loss):
    """Mean positive-pair term + mean negative-pair term.

    Parameters
    ----------
    margin : float, default=1.0
        ``m``: different-class pairs farther apart than this cost nothing.
    squared : bool, default=True
        Hadsell's squared terms ``1/2 D^2``, ``1/2 max(0, m - D)^2``; False for
        ``D`` and ``max(0, m - D)``.
    normalize : bool, default=False
        Compare unit embeddings ``z / ||z||``.
    average : {"all", "nonzero"}, default="all"
        Average each kind over all its pairs or over its non-zero terms.
    """

    _parameter_constraints: dict = {
        "margin": [POSITIVE],  # 0 leaves only the pull: every embedding collapses
        "squared": ["boolean"],
        "normalize": ["boolean"],
        "average": [StrOptions(set(AVERAGES))],
    }

    def __init__(self, margin=1.0, squared=True, normalize=False, average="all"):
        super().__init__()
        self.margin = margin
        self.squared = squared
        self.normalize = normalize
        self.average = average

    def forward(self, scores, z, y, head, sample_weight=None):
        # Over the whole matrix: every unordered pair counts twice, which leaves the means
        # as they are and saves gathering the pairs.
        d = pair_distances(z, normalize=self.normalize, squared=False)
        pos, neg = pair_masks(y)
        hinge = F.relu(self.margin - d)
        if self.squared:
            d, hinge = d.pow(2) / 2, hinge.pow(2) / 2
        w = None if sample_weight is None else torch.outer(sample_weight, sample_weight)
        return average(d, self.average, pos, w) + average(hinge, self.average, neg, w)


register(
    Technique(
        "contrastive",
        head=MeanEmbeddingHead,
        loss=ContrastiveLoss,
        summary="pull same-class pairs together, push others past a margin",
        samples_per_class=4,
    )
)

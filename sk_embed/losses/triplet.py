"""Triplet loss: ``max(0, D(a, p) - D(a, n) + m)`` over mined triplets of a batch.

``D`` is the squared Euclidean distance (Scholl 2024's form; FaceNet's too, on unit
embeddings with ``m = 0.2``). Triplets come from the miner ``loss__mining``:
``all`` valid triplets (default), ``semi_hard`` (FaceNet's: per positive pair the
nearest negative farther than the positive), ``batch_hard`` (per anchor its farthest positive
and nearest negative) or ``random``. Batch-hard mining from scratch can collapse the
embedding onto one point, where the loss sits at ``m``: use it to fine-tune
(docs/techniques.md has the measured comparison). Training batches are class-balanced
(P classes x 4 samples) by default. No classifier layer:
prediction is the nearest mean training embedding.

``squared=False, normalize=True, average="nonzero"`` is pytorch-metric-learning's
``TripletMarginLoss`` (with ``BatchHardMiner`` for ``mining="batch_hard"``).
"""

from sklearn.utils._param_validation import StrOptions

from ._base import NON_NEGATIVE, Loss
from ._pairs import AVERAGES, MINERS, MeanEmbeddingHead, average, mine, pair_distances
from ._registry import Technique, register


class TripletLoss(Loss):
    """Mean hinge ``max(0, D_ap - D_an + m)`` over the mined triplets.

    Parameters
    ----------
    margin : float, default=1.0
        ``m``.
    mining : {"all", "semi_hard", "batch_hard", "random"}, default="all"
        Which triplets of the batch count. ``semi_hard`` trains faster but collapses
        the embedding at the default learning rate on digits (docs/techniques.md).
    squared : bool, default=True
        Squared Euclidean distances; False for Euclidean.
    normalize : bool, default=False
        Compare unit embeddings ``z / ||z||`` (FaceNet).
    average : {"all", "nonzero"}, default="nonzero"
        Average over all mined triplets, or over those with a non-zero loss (so easy
        triplets do not dilute the hard ones as training goes on).
    """

    _parameter_constraints: dict = {
        "margin": [NON_NEGATIVE],
        "mining": [StrOptions(set(MINERS))],
        "squared": ["boolean"],
        "normalize": ["boolean"],
        "average": [StrOptions(set(AVERAGES))],
    }

    def __init__(self, margin=1.0, mining="all", squared=True, normalize=False, average="nonzero"):
        super().__init__()
        self.margin = margin
        self.mining = mining
        self.squared = squared
        self.normalize = normalize
        self.average = average

    def forward(self, scores, z, y, head, sample_weight=None):
        d = pair_distances(z, normalize=self.normalize, squared=self.squared)
        a, p, n = mine(d.detach(), y, self.mining)
        w = sample_weight
        w = None if w is None else w[a] * w[p] * w[n]  # a triplet weighs all three
        return average((d[a, p] - d[a, n] + self.margin).clamp_min(0), self.average, weight=w)


register(
    Technique(
        "triplet",
        head=MeanEmbeddingHead,
        loss=TripletLoss,
        summary="anchor closer to a positive than to a negative by a margin, mined",
        samples_per_class=4,
    )
)

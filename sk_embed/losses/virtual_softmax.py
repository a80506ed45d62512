"""Virtual Softmax (Chen et al., NeurIPS 2018): a virtual negative class per sample.

Training adds one logit to the softmax denominator: the virtual class's weight is
``W_virt = ||W_y|| z / ||z||``, so its logit is ``W_virt . z = ||W_y|| ||z||``. Since
``W_y . z <= ||W_y|| ||z||``, the virtual logit is never below the target logit, so
``p_y <= 1/2``: **the training loss cannot fall below ln 2 = 0.693**. That is the
method, not a bug. It pushes the target logit toward its Cauchy-Schwarz bound, i.e. the
embedding toward its class weight's direction. Prediction uses the C real logits only.

No bias, and the norms must stay free: with unit weights and unit embeddings the
virtual logit would be a constant. No clipping of the virtual logit (one public port
clips it to [1e-10, 15], which changes the objective), and norms are per sample.
"""

import torch

from ._base import LinearHead, Loss, cross_entropy
from ._registry import Technique, register


class VirtualSoftmaxHead(LinearHead):
    """A bias-free linear classifier ``W z``.

    Parameters
    ----------
    n_components, n_classes : int
    normalize_weights : bool, default=False
        Unit class weights (the virtual logit then depends on ``||z||`` only).
    """

    has_bias = False


class VirtualSoftmaxLoss(Loss):
    """``-log [exp(W_y z) / (sum_j exp(W_j z) + exp(||W_y|| ||z||))]``."""

    def forward(self, scores, z, y, head, sample_weight=None):
        weight_norm_y = head.class_weights().norm(dim=1)[y]
        virtual = (weight_norm_y * z.norm(dim=1)).unsqueeze(1)
        logits = torch.cat([scores, virtual.to(scores.dtype)], dim=1)
        return cross_entropy(logits, y, sample_weight)


register(
    Technique(
        "virtual_softmax",
        head=VirtualSoftmaxHead,
        loss=VirtualSoftmaxLoss,
        summary="softmax with a virtual negative logit ||W_y|| ||z|| (training only)",
    )
)

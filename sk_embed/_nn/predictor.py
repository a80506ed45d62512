"""What a fitted network answers, written once for the estimator and the exported model.

The network's class columns are in the order classes were added (``add_classes``
appends); the estimator's are in the order of its sorted ``classes_``. ``columns`` maps
one to the other, and every answer below is given in the estimator's order.
"""

from __future__ import annotations

import torch
from torch import nn

#: What the network answers, as the estimator's methods of the same name do (``predict``:
#: the index of each sample's class in ``classes_``).
ANSWERS = ("predict", "decision_function", "predict_proba", "score_samples", "transform")


def answer(head, scores, z, columns, output):
    """One answer from the head's ``scores`` and the raw embeddings ``z``.

    Parameters
    ----------
    head : Head
        The technique's head that gave ``scores``.
    scores : tensor of shape (n, n_classes)
        In the network's column order.
    z : tensor of shape (n, n_components)
    columns : tensor of int
        The network column of each class, in the estimator's order.
    output : str
        One of :data:`ANSWERS`.

    Returns
    -------
    tensor
        ``(n,)`` for ``predict``, ``score_samples`` and a two-class
        ``decision_function`` (class 1's score minus class 0's); ``(n, n_classes)`` or
        ``(n, n_components)`` otherwise, in the dtype of ``scores`` and ``z``.
    """
    if output == "transform":
        return head.transform(z)
    scores = scores.index_select(1, columns)
    if output == "predict":
        return scores.argmax(dim=1)
    if output == "predict_proba":
        return head.proba(scores, z)
    if output == "score_samples":
        return head.score_samples(scores, z)
    if scores.shape[1] == 2:
        return scores[:, 1] - scores[:, 0]
    return scores


class Predictor(nn.Module):
    """Raw input -> standardization -> encoder -> head -> one answer: a trained module
    served as one function of its input (what :func:`~sk_embed._nn.export.export_onnx`
    writes).

    Parameters
    ----------
    module : EmbeddingModule
    output : str
        One of :data:`ANSWERS`.
    columns : array-like of int
        The network column of each class, in the estimator's order.
    """

    def __init__(self, module, output, columns):
        super().__init__()
        self.module = module
        self.output = output
        self.register_buffer("columns", torch.as_tensor(columns, dtype=torch.long))

    def forward(self, x):
        """The answer for a batch of raw input.

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        tensor
        """
        scores, z = self.module(x)
        return answer(self.module.head, scores, z, self.columns, self.output)

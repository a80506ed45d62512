"""Self-organizing class embeddings (Pisoni, 2023): each class is a Gaussian.

Class ``j`` is ``N(mu_j, diag(sigma_j^2))`` in the embedded space; the logits of a
sample are the log-densities ``log N(z; mu_j, sigma_j)`` (unit ``sigma`` by default, so
``-1/2 ||z - mu_j||^2`` up to a constant that cancels in the softmax). The loss is the
mean of two cross-entropies: the samples' against their class, and each class mean's
against its own class when scored among all class means (with label smoothing, 0.1 as
in the reference notebook, which keeps the means from drifting apart without end). No
stop-gradient: both terms move the means. Means start small (variance scaling 0.1).
Two departures, measured on digits and explained at the parameters: the samples' term
is label-smoothed too (``loss__label_smoothing``) and the means move faster than the
encoder (``loss__mean_speed``); set them to 0 and 1 for the reference's objective and
optimizer.

``predict_proba`` is the softmax of the log-densities, ``decision_function`` the
log-densities, ``score_samples`` (open set) the largest log-density, ``class_centers_``
the means. A new class (``add_classes``) gets a mean, started at its samples' mean and
fitted by a few gradient steps of the class model alone, the encoder and the old means
fixed.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._base import POSITIVE, PROBABILITY, Head, Loss, class_means, cross_entropy
from ._registry import Technique, register


def soc_objective(head, scores, y, label_smoothing, mean_label_smoothing, sample_weight=None):
    """``(CE(y, scores) + CE_smoothed(j, log N(mu_j))) / 2``, the SOC training objective.

    Shared by :class:`SOCLoss` (training) and :meth:`GaussianHead.add_classes` (fitting
    new means), so both optimize the same thing.

    Parameters
    ----------
    head : GaussianHead
    scores : tensor of shape (n, n_classes)
        The samples' log-densities.
    y : tensor of shape (n,)
        Class indices.
    label_smoothing, mean_label_smoothing : float
        Label smoothing of the samples' term and of the class-means term.
    sample_weight : tensor of shape (n,), optional
        Weights of the samples' term (the class-means term is one per class).

    Returns
    -------
    tensor
        A scalar.
    """
    classes = torch.arange(head.n_classes, device=scores.device)
    mean_scores = head.log_density(head.centers.to(scores.dtype))
    mean_term = F.cross_entropy(mean_scores, classes, label_smoothing=mean_label_smoothing)
    sample_term = cross_entropy(scores, y, sample_weight, label_smoothing=label_smoothing)
    return (sample_term + mean_term) / 2


class GaussianHead(Head):
    """Scores are the Gaussian log-densities of ``z`` under each class.

    Parameters
    ----------
    n_components, n_classes : int
    learn_scale : bool, default=False
        Learn a diagonal scale ``sigma_j`` per class (log-parametrized) instead of 1.
    mean_speed : float, default=10.0
        The means are stored divided by this factor, so the optimizer moves them this
        many times faster than the encoder's weights (Adam: ``lr * mean_speed`` per step,
        0.1 with the default ``lr=1e-2``). At the encoder's own rate the means barely
        leave their small start while the encoder pushes the samples far out, and the
        log-density then scores unknown samples, near the origin, above known ones. Much
        faster (100 at ``lr=1e-2``) lets samples and means chase each other out, and the
        open-set AUROC falls (docs/open_set.md has the measurements).
    mean_label_smoothing, label_smoothing : float, default=0.1
        The objective's smoothing (see :class:`SOCLoss`), which :meth:`add_classes`
        fits new means under.
    """

    log_densities = True

    _parameter_constraints: dict = {
        "learn_scale": ["boolean"],
        "mean_speed": [POSITIVE],
        "mean_label_smoothing": [PROBABILITY],
        "label_smoothing": [PROBABILITY],
    }

    def __init__(
        self,
        n_components,
        n_classes,
        learn_scale=False,
        mean_speed=10.0,
        mean_label_smoothing=0.1,
        label_smoothing=0.1,
    ):
        super().__init__(n_components, n_classes)
        self.learn_scale = learn_scale
        self.mean_speed = mean_speed
        self.mean_label_smoothing = mean_label_smoothing
        self.label_smoothing = label_smoothing
        self.raw_centers = nn.Parameter(
            math.sqrt(0.1 / n_components) * torch.randn(n_classes, n_components) / mean_speed
        )
        self.log_scales = nn.Parameter(
            torch.zeros(n_classes, n_components), requires_grad=learn_scale
        )

    @property
    def centers(self):
        """The class means ``mu_j`` (stored divided by ``mean_speed``)."""
        return self.raw_centers * self.mean_speed

    def forward(self, z):
        return self.log_density(z)

    def log_density(self, x):
        """``log N(x_i; mu_j, diag sigma_j^2)`` for every row ``x_i`` and class ``j``.

        Parameters
        ----------
        x : tensor of shape (n, n_components)

        Returns
        -------
        tensor of shape (n, n_classes)
        """
        inv = torch.exp(-self.log_scales)  # (C, d)
        diff = (x.unsqueeze(1) - self.centers.to(x.dtype)) * inv.to(x.dtype)  # (n, C, d)
        const = self.n_components * math.log(2 * math.pi) / 2
        return -0.5 * diff.pow(2).sum(-1) - self.log_scales.sum(1).to(x.dtype) - const

    def place_centers(self, z, y, sample_weight=None):
        """Nothing to place: the means were trained.

        Parameters
        ----------
        z, y, sample_weight : tensor
            As for :meth:`~sk_embed.losses.Head.place_centers`.
        """

    def add_classes(self, z, y, n_new, steps=100, lr=0.05):
        """New means from their samples: start at the sample means, then ``steps`` Adam
        steps of the SOC objective (with the smoothing it was trained with) on the new
        samples, over the new means (and scales) only.

        Parameters
        ----------
        z, y, n_new
            As for :meth:`~sk_embed.losses.Head.add_classes`.
        steps : int, default=100
        lr : float, default=0.05
            Adam's learning rate, in the means' units.
        """
        n_old = self.n_classes
        start = class_means(z, y, n_new)
        self._grow("raw_centers", start / self.mean_speed)
        self._grow("log_scales", torch.zeros_like(start))
        self.n_classes += n_new
        new = [self.raw_centers, self.log_scales] if self.learn_scale else [self.raw_centers]
        # the means are stored divided by mean_speed: step them by lr in the means' units
        groups = [{"params": [self.raw_centers], "lr": lr / self.mean_speed}]
        if self.learn_scale:
            groups.append({"params": [self.log_scales], "lr": lr})
        opt = torch.optim.Adam(groups)
        with torch.enable_grad():
            for _ in range(steps):
                opt.zero_grad()
                soc_objective(
                    self,
                    self.log_density(z),
                    y + n_old,
                    self.label_smoothing,
                    self.mean_label_smoothing,
                ).backward()
                for p in new:  # only the new classes move: Adam leaves zero-grad rows
                    p.grad[:n_old] = 0
                opt.step()


class SOCLoss(Loss):
    """``(CE(y, log N(z)) + CE_smoothed(j, log N(mu_j))) / 2``.

    Parameters
    ----------
    mean_label_smoothing : float, default=0.1
        Label smoothing of the class-means term (the reference's).
    label_smoothing : float, default=0.1
        Label smoothing of the samples' term. Gaussian logits with a shared scale are a
        linear classifier in disguise: without smoothing the cross-entropy keeps pushing
        samples away from every mean, their own included, and the log-density stops
        meaning "close to a class" (docs/open_set.md has the measurement).
    """

    _parameter_constraints: dict = {
        "mean_label_smoothing": [PROBABILITY],
        "label_smoothing": [PROBABILITY],
    }

    def __init__(self, mean_label_smoothing=0.1, label_smoothing=0.1):
        super().__init__()
        self.label_smoothing = label_smoothing
        self.mean_label_smoothing = mean_label_smoothing

    def forward(self, scores, z, y, head, sample_weight=None):
        return soc_objective(
            head, scores, y, self.label_smoothing, self.mean_label_smoothing, sample_weight
        )


register(
    Technique(
        "soc",
        head=GaussianHead,
        loss=SOCLoss,
        summary="each class a Gaussian; logits are log-densities; class means self-organize",
    )
)

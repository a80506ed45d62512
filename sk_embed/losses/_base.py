"""The two pieces every technique supplies: a head and a loss.

A *head* maps the embedding ``z`` to class scores; it lives inside the skorch module, so
it is all that ``predict`` needs. A *loss* maps ``(scores, z, y, head)`` to a scalar; it
is the skorch criterion, and learnable loss state (center-loss centers, ...) lives there
so skorch hands it to the optimizer. The head is passed to the loss at call time (not
stored in it), so no parameter is registered twice.

A technique overrides only the step that differs from these bases.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval
from torch import nn

# Constraints on technique options, scikit-learn's vocabulary (``_parameter_constraints``).
# np.inf as an open bound keeps infinity out; NaN is in no interval.
POSITIVE = Interval(Real, 0, np.inf, closed="neither")
NON_NEGATIVE = Interval(Real, 0, np.inf, closed="left")
PROBABILITY = Interval(Real, 0, 1, closed="left")


class Head(nn.Module):
    """Base class of heads: embedding ``z`` -> class scores.

    Subclasses implement :meth:`forward` and may override the other hooks, each of which
    has the behaviour of a plain softmax classifier by default. Every head has
    ``centers``, a tensor of shape ``(n_classes, n_components)``: where each class sits
    in the embedded space (the estimator's ``class_centers_``).

    Parameters
    ----------
    n_components : int
        Dimension of the embedding.
    n_classes : int
        Number of classes.
    """

    #: Whether the scores are class log-densities (plots draw them as contours).
    log_densities = False

    #: scikit-learn-style constraints of the constructor's options, by name; a subclass
    #: lists its own and inherits its bases' (the registry checks ``loss__`` options
    #: against them at fit).
    _parameter_constraints: dict = {}

    def __init__(self, n_components, n_classes):
        super().__init__()
        self.n_components = n_components
        self.n_classes = n_classes
        if not isinstance(getattr(type(self), "centers", None), property):
            # placed by place_centers, unless a subclass derives them from its parameters
            self.register_buffer("centers", torch.zeros(n_classes, n_components))

    def forward(self, z):  # pragma: no cover - abstract
        """Class scores of a batch of raw embeddings.

        Parameters
        ----------
        z : tensor of shape (n, n_components)

        Returns
        -------
        scores : tensor of shape (n, n_classes)
        """
        raise NotImplementedError

    def proba(self, scores, z):
        """Class probabilities from the scores and raw embeddings.

        Parameters
        ----------
        scores : tensor of shape (n, n_classes)
            What :meth:`forward` returned for ``z``.
        z : tensor of shape (n, n_components)
            The raw embeddings.

        Returns
        -------
        proba : tensor of shape (n, n_classes)
            The softmax of the scores by default.
        """
        return torch.softmax(scores, dim=1)

    def transform(self, z):
        """What ``transform`` returns for the raw embedding ``z``.

        Parameters
        ----------
        z : tensor of shape (n, n_components)

        Returns
        -------
        tensor of shape (n, n_components)
            ``z`` itself by default.
        """
        return z

    #: Whether :meth:`arrange` wants to know which classes look alike (the net then makes
    #: one pass over the training inputs at the start of a fresh fit).
    arranges = False

    def arrange(self, similarity):
        """Place the classes before training, knowing which of them look alike.

        Called once at the start of a fresh fit, before the first step, when the head's
        class sets ``arranges``; does nothing by default (regression gives classes that
        look alike nearby targets).

        Parameters
        ----------
        similarity : tensor of shape (n_classes, n_classes), float64
            How often the classes' training samples have each other's as nearest
            neighbours in the input space (:func:`sk_embed._nn.training.class_neighbours`):
            symmetric, zero on the diagonal.
        """

    def after_step(self, z, y, sample_weight=None):
        """Called after every optimizer step of training with the batch's raw embeddings
        (detached), as the step computed them; does nothing by default (center loss moves
        its centers here).

        Parameters
        ----------
        z : tensor of shape (n, n_components)
        y : tensor of shape (n,)
            The batch's class indices.
        sample_weight : tensor of shape (n,), optional
            Passed only by a weighted fit.
        """

    def place_centers(self, z, y, sample_weight=None):
        """Place the class positions computed from the training embeddings.

        Called once after training with the raw training embeddings ``z`` and the
        encoded labels ``y`` (and ``sample_weight`` when the fit was weighted). The
        default stores each class's (weighted) mean embedding (after :meth:`embed`) in
        the ``centers`` buffer; heads whose positions are learned or fixed (classifier
        directions, Gaussian means, targets) leave them as they are.

        Parameters
        ----------
        z : tensor of shape (n, n_components)
        y : tensor of shape (n,)
            Class indices ``0..n_classes-1``.
        sample_weight : tensor of shape (n,), optional
            Passed only by a weighted fit.
        """
        means = class_means(self.transform(z), y, self.n_classes, sample_weight)
        self.centers.copy_(means.to(self.centers))

    def score_samples(self, scores, z):
        """Open-set score: how much a sample looks like *some* known class.

        Parameters
        ----------
        scores : tensor of shape (n, n_classes)
        z : tensor of shape (n, n_components)

        Returns
        -------
        tensor of shape (n,)
            Higher means more known; the largest score by default (max logit for softmax).
        """
        return scores.max(dim=1).values

    def add_classes(self, z, y, n_new):
        """Place ``n_new`` new classes from a few raw embeddings ``z`` (encoder frozen).

        Grows the head in place, ``centers`` included.

        Parameters
        ----------
        z : tensor of shape (n, n_components)
            Raw embeddings of the new classes' samples.
        y : tensor of shape (n,)
            The new classes' indices ``0..n_new-1``.
        n_new : int
            How many classes to add.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot place new classes; its technique's file says how"
        )

    def keep_classes(self, n):
        """Keep the first ``n`` classes only (reserved classes are dropped this way).

        A head's class rows are its own parameters and buffers whose first dimension is
        ``n_classes``; :meth:`add_classes` grows them, this cuts them.

        Parameters
        ----------
        n : int
        """
        own = [*self.named_parameters(recurse=False), *self.named_buffers(recurse=False)]
        for name, tensor in own:
            if tensor.dim() and tensor.shape[0] == self.n_classes:
                self._set_rows(name, tensor.detach()[:n].clone())
        self.n_classes = n

    def _grow(self, name, rows):
        """Append ``rows`` to the class-indexed parameter or buffer ``name``."""
        old = getattr(self, name)
        self._set_rows(name, torch.cat([old.detach(), rows.to(old)]))

    def _set_rows(self, name, rows):
        """Replace the class-indexed parameter or buffer ``name`` by ``rows``."""
        old = getattr(self, name)
        if isinstance(old, nn.Parameter):
            setattr(self, name, nn.Parameter(rows, requires_grad=old.requires_grad))
        else:
            setattr(self, name, rows)


class LinearHead(Head):
    """A linear classifier ``W z + b``.

    Parameters
    ----------
    n_components, n_classes : int
        Embedding dimension and number of classes.
    normalize_weights : bool, default=False
        Constrain every class weight to unit norm and drop the bias
        (``||W_j|| = 1, b_j = 0``).
    """

    #: Subclasses set False for a classifier without bias whatever ``normalize_weights``.
    has_bias = True

    _parameter_constraints: dict = {"normalize_weights": ["boolean"]}

    def __init__(self, n_components, n_classes, normalize_weights=False):
        super().__init__(n_components, n_classes)
        self.normalize_weights = normalize_weights
        layer = nn.Linear(n_components, n_classes, bias=self.has_bias and not normalize_weights)
        self.weight = layer.weight
        self.bias = layer.bias

    def class_weights(self):
        """The class weights as used in the forward pass.

        Returns
        -------
        tensor of shape (n_classes, n_components)
            Unit rows when ``normalize_weights``.
        """
        return F.normalize(self.weight, dim=1) if self.normalize_weights else self.weight

    def forward(self, z):
        return F.linear(z, self.class_weights(), self.bias)

    def add_classes(self, z, y, n_new):
        """Weight imprinting: each new class's weight is its normalized mean embedding,
        scaled to the mean norm of the existing weights; its bias the mean bias; its
        center its mean embedding.

        With ``normalize_weights`` this is exact imprinting. Without it the caveat is
        that a softmax weight's norm and bias matter as much as its direction, and the
        imprinted ones are only an average guess: expect new classes to win or lose
        more samples than their direction alone would say.

        Parameters
        ----------
        z, y, n_new
            As for :meth:`~sk_embed.losses.Head.add_classes`.
        """
        means = class_means(z, y, n_new)
        scale = self.weight.detach().norm(dim=1).mean()
        self._grow("weight", F.normalize(means, dim=1) * scale)
        if self.bias is not None:
            self._grow("bias", self.bias.detach().mean().expand(n_new))
        self._grow("centers", means)
        self.n_classes += n_new


class DistanceHead(Head):
    """Scores are negative squared distances to one point per class.

    For techniques without a classifier layer: ``predict`` is the nearest class center,
    ``decision_function`` the negative squared distances, ``predict_proba`` their
    softmax at ``temperature``. The ``centers`` are the mean training embeddings
    (:meth:`Head.place_centers`) unless a subclass places them otherwise.

    Parameters
    ----------
    n_components, n_classes : int
    temperature : float, default=1.0
        ``predict_proba = softmax(-||z - c_j||^2 / temperature)``.
    """

    _parameter_constraints: dict = {"temperature": [POSITIVE]}

    def __init__(self, n_components, n_classes, temperature=1.0):
        super().__init__(n_components, n_classes)
        self.temperature = temperature

    def forward(self, z):
        return -squared_distances(self.transform(z), self.centers.to(z.dtype))

    def proba(self, scores, z):
        return torch.softmax(scores / self.temperature, dim=1)

    def score_samples(self, scores, z):
        """Minus the squared distance to the nearest center, in units of the mean
        squared distance between two centers (:func:`center_spread`).

        Parameters
        ----------
        scores, z : tensor
            As for :meth:`Head.score_samples`.

        Returns
        -------
        tensor of shape (n,)
        """
        return scores.max(dim=1).values / center_spread(self.centers.to(scores.dtype))

    def add_classes(self, z, y, n_new):
        """New class centers: the mean (embedded) sample of each new class.

        Parameters
        ----------
        z, y, n_new
            As for :meth:`~sk_embed.losses.Head.add_classes`.
        """
        self._grow("centers", class_means(self.transform(z), y, n_new))
        self.n_classes += n_new


class Loss(nn.Module):
    """Base class of losses: ``(scores, z, y, head, sample_weight) -> scalar``.

    A loss reads what it needs from the head (weights, centers) and never writes into it.
    With ``sample_weight``, every per-sample term is weighted: a mean over samples becomes
    :func:`weighted_mean`. Without it, the loss is computed exactly as unweighted.
    """

    #: As :attr:`Head._parameter_constraints`.
    _parameter_constraints: dict = {}

    def forward(self, scores, z, y, head, sample_weight=None):  # pragma: no cover - abstract
        """The training objective of a batch.

        Parameters
        ----------
        scores : tensor of shape (n, n_classes)
            The head's scores of the batch.
        z : tensor of shape (n, n_components)
            The raw embeddings.
        y : tensor of shape (n,)
            Class indices.
        head : Head
            The head that gave the scores, for losses that read its parameters.
        sample_weight : tensor of shape (n,), optional
            Non-negative weights of the samples; None weighs them alike.

        Returns
        -------
        tensor
            A scalar.
        """
        raise NotImplementedError


class CrossEntropy(Loss):
    """Cross-entropy of the head's scores, the softmax loss.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        Mass moved from the true class to a uniform distribution over all classes
        (as in ``torch.nn.functional.cross_entropy``).
    """

    _parameter_constraints: dict = {"label_smoothing": [PROBABILITY]}

    def __init__(self, label_smoothing=0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, scores, z, y, head, sample_weight=None):
        return cross_entropy(scores, y, sample_weight, label_smoothing=self.label_smoothing)


def weighted_mean(values, sample_weight=None):
    """The mean of per-sample ``values``; with weights, ``sum(w v) / sum(w)``.

    A batch whose weights are all zero gives a zero that still has a gradient, never NaN.

    Parameters
    ----------
    values : tensor of shape (n,)
    sample_weight : tensor of shape (n,), optional

    Returns
    -------
    tensor
        A scalar.
    """
    if sample_weight is None:
        return values.mean()
    w = sample_weight.to(values.dtype)
    return (values * w).sum() / w.sum().clamp_min(1e-12)


def cross_entropy(logits, y, sample_weight=None, **kwargs):
    """``F.cross_entropy``, as the weighted mean of its per-sample terms with weights.

    Parameters
    ----------
    logits : tensor of shape (n, n_classes)
    y : tensor of shape (n,)
    sample_weight : tensor of shape (n,), optional
    **kwargs
        Passed to ``F.cross_entropy`` (``label_smoothing``).

    Returns
    -------
    tensor
        A scalar.
    """
    if sample_weight is None:
        return F.cross_entropy(logits, y, **kwargs)
    return weighted_mean(F.cross_entropy(logits, y, reduction="none", **kwargs), sample_weight)


def squared_distances(a, b, floor=0.0):
    """``||a_i - b_j||^2`` for all pairs, by one matrix product, never below ``floor``.

    Parameters
    ----------
    a : tensor of shape (n, d)
    b : tensor of shape (m, d)
    floor : float, default=0.0

    Returns
    -------
    tensor of shape (n, m)
    """
    d = torch.addmm((a * a).sum(1, keepdim=True) + (b * b).sum(1), a, b.T, alpha=-2)
    return d.clamp_min(floor)


def center_spread(centers):
    """Mean squared distance between two distinct class centers: the unit of the
    distance-based open-set scores.

    A technique without a bound on its embedding's scale (``triplet``, ``center``) ends
    each fit at another scale, so a score threshold measured on one fit (say, of
    :class:`~sk_embed.OpenSetClassifier`'s cross-validation folds) would not hold for
    another (the refit on all samples). In this unit it does (docs/open_set_study.md
    measures the known rate it keeps).

    Parameters
    ----------
    centers : tensor of shape (m, d)

    Returns
    -------
    tensor
        A positive scalar (1 with fewer than two distinct centers).
    """
    if len(centers) < 2:
        return centers.new_ones(())
    d = squared_distances(centers, centers)
    spread = d.sum() / (len(centers) * (len(centers) - 1))  # the diagonal is 0
    return spread if spread > 0 else centers.new_ones(())


def class_means(Z, y, n_classes, sample_weight=None):
    """Mean of the rows of ``Z`` for each class ``0..n_classes-1``, weighted by
    ``sample_weight`` when given.

    Parameters
    ----------
    Z : tensor of shape (n, d)
    y : tensor of shape (n,)
        Class indices.
    n_classes : int
    sample_weight : tensor of shape (n,), optional

    Returns
    -------
    tensor of shape (n_classes, d)
        NaN rows for classes without a sample (or whose weights are all zero).
    """
    sums = torch.zeros(n_classes, Z.shape[1], dtype=Z.dtype, device=Z.device)
    if sample_weight is None:
        sums.index_add_(0, y, Z)
        counts = torch.bincount(y, minlength=n_classes).to(Z.dtype)
    else:
        w = sample_weight.to(Z)
        sums.index_add_(0, y, Z * w.unsqueeze(1))
        counts = torch.zeros(n_classes, dtype=Z.dtype, device=Z.device).index_add_(0, y, w)
    return sums / counts.unsqueeze(1)

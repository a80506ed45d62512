"""How training adapts to the user's data: input standardization, learning-rate
schedules and the stopping rule.

These are the pieces :class:`sk_embed._nn.net.EmbeddingNet` runs its epochs with; they hold no
technique-specific code. The measurements behind the defaults are in
``docs/robustness.md`` (``benchmarks/robustness.py``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.sparsefuncs import mean_variance_axis
from torch import nn

from .._caller import warn
from .data import Batch, SparseRows
from .distributed import merge_moments

# A feature whose spread is this small next to its magnitude is constant up to float
# rounding: it is centered but not divided (scikit-learn's StandardScaler does the same
# with zero variance).
_CONSTANT = 1e-6
# The other features are divided by at least this fraction of the median spread, so a
# nearly constant one (an image's border pixel) is not blown up into a large input.
# Measured against no floor and one global scale in docs/robustness.md.
_FLOOR = 0.3
# A fit's training accuracy must get this fraction of the way from always answering the
# most frequent class to perfect, else it learned nothing (warn_collapsed).
_LEARNED = 0.1


def stats_shape(input_shape):
    """Shape of the standardization statistics for samples of ``input_shape``.

    Rows ``(n_features,)`` get one statistic per feature; images ``(C, H, W)`` one per
    channel; single-channel images ``(H, W)`` one for the whole image.

    Parameters
    ----------
    input_shape : tuple of int

    Returns
    -------
    tuple of int
    """
    if len(input_shape) == 1:
        return tuple(input_shape)
    if len(input_shape) == 2:
        return (1, 1)
    return (input_shape[0],) + (1,) * (len(input_shape) - 1)


class Standardize(nn.Module):
    """``(x - mean) / scale``, with statistics fitted on the training inputs.

    It is the module's first layer, so ``transform``, ``predict``, pickling and the GPU
    all use the statistics fitted at ``fit``. Constant features (or channels) are centered
    and left unscaled; the others are divided by their standard deviation, but by no
    less than 0.3 times the median one.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample; see :func:`stats_shape`.
    """

    def __init__(self, input_shape):
        super().__init__()
        shape = stats_shape(tuple(input_shape))
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("scale", torch.ones(shape))

    @torch.no_grad()
    def fit(self, X, sample_weight=None):
        """Fit mean and scale to the training inputs (in float64; dense inputs as one
        batch of :meth:`fit_batches`).

        Sparse rows are not centered, so zeros stay zeros, and are divided by one common
        scale, their root-mean-square norm: dividing each feature by its own spread (as
        ``StandardScaler(with_mean=False)`` does) blows up rare features, which costs a
        low-dimensional embedding of text much of its accuracy (docs/weights.md).

        Parameters
        ----------
        X : tensor of shape (n, *input_shape), or SparseRows
        sample_weight : tensor of shape (n,), optional
            Weighted mean and standard deviation; samples of weight 0 do not count.

        Returns
        -------
        self
        """
        if isinstance(X, SparseRows):
            weights = None if sample_weight is None else sample_weight.cpu().double().numpy()
            mean, var = mean_variance_axis(X.matrix, axis=0, weights=weights)
            rms_norm = float(np.sqrt((var + mean**2).sum()))  # sqrt of E ||x||^2
            self.mean.zero_()
            self.scale.fill_(rms_norm if rms_norm > 0 else 1.0)
            return self
        return self.fit_batches([Batch(X, None, sample_weight)])

    @torch.no_grad()
    def fit_batches(self, batches):
        """Fit mean and scale in one streaming pass over batches (in float64): the same
        statistics as one batch of the whole input, to float rounding, with memory
        bounded by a batch. Weighted where the batches carry sample weights; samples of
        weight 0 do not count.

        Parameters
        ----------
        batches : iterable of Batch

        Returns
        -------
        self
        """
        # Reduced over the samples and the sample dimensions a statistic is shared along.
        dims = [0] + [d + 1 for d, size in enumerate(self.mean.shape) if size == 1]
        total = mean = m2 = None
        for batch in batches:
            X, weight = batch.X.double(), batch.sample_weight
            w = (
                torch.ones(len(X), dtype=X.dtype, device=X.device)
                if weight is None
                else weight.to(X)
            )
            w = w.view(-1, *[1] * (X.dim() - 1)).expand_as(X)
            n_b = w.sum(dim=dims, keepdim=True)[0]
            if not (n_b > 0).all():
                continue  # a batch of weight 0 adds nothing
            mean_b = (w * X).sum(dim=dims, keepdim=True)[0] / n_b
            m2_b = (w * (X - mean_b).pow(2)).sum(dim=dims, keepdim=True)[0]
            if total is None:
                total, mean, m2 = n_b, mean_b, m2_b
                continue
            # Chan et al.'s pairwise update: stable where sum(x^2) - n mean^2 is not.
            delta = mean_b - mean
            merged = total + n_b
            mean = mean + delta * n_b / merged
            m2 = m2 + m2_b + delta.pow(2) * total * n_b / merged
            total = merged
        total, mean, m2 = merge_moments(total, mean, m2, like=self.mean)  # over the ranks
        std = (m2 / total).sqrt()
        constant = std <= _CONSTANT * mean.abs()
        if (~constant).any():
            std = std.clamp_min(_FLOOR * std[~constant].median())
        self.mean.copy_(mean)
        self.scale.copy_(torch.where(constant, torch.ones_like(std), std))
        return self

    def forward(self, x):
        """Standardize a batch.

        Parameters
        ----------
        x : tensor of shape (n, *input_shape)

        Returns
        -------
        tensor of the same shape
        """
        return (x - self.mean) / self.scale


#: How :func:`class_neighbours` reads the training inputs: a fixed random subset of at
#: most this many samples, inputs wider than ``NEIGHBOUR_FEATURES`` hashed to that many
#: features (each feature to one of them, with a random sign: distances keep their
#: expected values), and this many nearest neighbours of each sample.
NEIGHBOUR_SAMPLES = 2000
NEIGHBOUR_FEATURES = 1024
NEIGHBOURS = 10


@torch.no_grad()
def class_neighbours(batches, n_rows, n_classes, n_features):
    """How often the classes' samples have each other's as nearest neighbours in the
    input space, each feature in units of its standard deviation.

    One pass over the batches keeps a fixed random subset of the samples (the same on
    every rank and every call); among them, each sample's nearest neighbours are counted
    by class.

    Parameters
    ----------
    batches : iterable of Batch
        The training data in its order, with its labels (samples of weight 0 are left
        out; other weights do not count).
    n_rows : int
        Samples the batches hold.
    n_classes : int
    n_features : int
        Values per sample.

    Returns
    -------
    tensor of shape (n_classes, n_classes), float64
        ``s_ij + s_ji``, where ``s_ij`` is the share of the neighbours of class ``i``'s
        samples that are of class ``j``; zero on the diagonal.
    """
    draws = torch.Generator().manual_seed(0)
    width = min(n_features, NEIGHBOUR_FEATURES)
    bucket = torch.randint(0, width, (n_features,), generator=draws)
    sign = torch.randint(0, 2, (n_features,), generator=draws).double() * 2 - 1
    keep = torch.zeros(n_rows, dtype=torch.bool)
    keep[torch.randperm(n_rows, generator=draws)[:NEIGHBOUR_SAMPLES]] = True
    rows, labels, start = [], [], 0
    for batch in batches:
        end = start + len(batch.y)
        mine = keep[start:end].clone()
        start = end
        if batch.sample_weight is not None:
            mine &= batch.sample_weight.cpu() > 0
        if not mine.any():
            continue
        X = batch.X.to_dense() if batch.X.layout != torch.strided else batch.X
        X = X.reshape(len(X), -1)[mine.to(X.device)].double().cpu()
        if width < n_features:
            X = torch.zeros(len(X), width, dtype=X.dtype).index_add_(1, bucket, X * sign)
        rows.append(X)
        labels.append(batch.y.cpu()[mine].long())
    similarity = torch.zeros(n_classes, n_classes, dtype=torch.float64)
    if not rows:
        return similarity
    X, y = torch.cat(rows), torch.cat(labels)
    std = X.std(0, correction=0)
    X = (X - X.mean(0)) / torch.where(std > 0, std, torch.ones_like(std))
    k = min(NEIGHBOURS, len(X) - 1)
    if k < 1:
        return similarity
    X = X.float()  # at most 2,000 x 1,024: float32 distances are enough to rank neighbours
    distances = torch.cdist(X, X).fill_diagonal_(math.inf)
    found = y[distances.topk(k, dim=1, largest=False).indices]
    counts = torch.zeros(n_classes, n_classes, dtype=torch.float64)
    counts.index_put_(
        (y.repeat_interleave(k), found.reshape(-1)),
        torch.ones(found.numel(), dtype=torch.float64),
        accumulate=True,
    )
    shares = counts / counts.sum(1, keepdim=True).clamp_min(1.0)
    similarity = shares + shares.T
    return similarity.fill_diagonal_(0.0)


def constant_lr(lr, epoch, max_epochs, stale):
    """The initial learning rate throughout.

    Parameters
    ----------
    lr : float
        The initial learning rate.
    epoch : int
        The epoch about to run, from 0.
    max_epochs : int
    stale : int
        Epochs since the monitored value last improved by ``tol``.

    Returns
    -------
    float
    """
    return lr


def cosine_lr(lr, epoch, max_epochs, stale):
    """Cosine annealing from ``lr`` to 0 over ``max_epochs``.

    Parameters
    ----------
    lr, epoch, max_epochs, stale
        As for :func:`constant_lr`.

    Returns
    -------
    float
    """
    return 0.5 * lr * (1 + math.cos(math.pi * epoch / max(max_epochs, 1)))


class PlateauLR:
    """Divide the learning rate by ``factor`` after every ``patience`` epochs without
    improvement (as ``MLPClassifier``'s ``learning_rate="adaptive"``).

    Parameters
    ----------
    patience : int, default=3
    factor : float, default=10
    """

    def __init__(self, patience=3, factor=10.0):
        self.patience = patience
        self.factor = factor
        self.lr = None

    def __call__(self, lr, epoch, max_epochs, stale):
        """The learning rate of the coming epoch.

        Parameters
        ----------
        lr, epoch, max_epochs, stale
            As for :func:`constant_lr`.

        Returns
        -------
        float
        """
        if epoch == 0 or self.lr is None:
            self.lr = lr
        elif stale and stale % self.patience == 0:
            self.lr /= self.factor
        return self.lr


class AnnealLR:
    """Hold the learning rate until the monitored value stalls, then anneal it to 0
    along a half cosine over ``tail`` epochs, and say that training is done.

    The tail begins at the earlier of: ``patience`` epochs without improvement (by
    ``tol``; only when a stopping rule is on), and ``tail`` epochs before the bound on
    epochs (at the first epoch, when the bound is shorter), so a fit that the bound ends
    is annealed as well. A fit that a stall ends spends its last epochs at a falling
    rate, instead of running on at a low one while the training loss keeps improving by
    more than ``tol`` and the held-out accuracy does not (docs/robustness.md).

    Parameters
    ----------
    tail : int
        Epochs of annealing, ``n_iter_no_change``.
    horizon : int or None
        The bound on epochs (``max_epochs``); None where there is none (a
        ``partial_fit`` step).
    stalls : bool
        Whether a stall begins the tail (False with ``tol=None``: a fixed budget).
    patience : int, default=2
        Epochs without improvement that make a stall.
    """

    def __init__(self, tail, horizon, stalls, patience=2):
        self.tail = max(int(tail), 1)
        self.horizon = horizon
        self.stalls = stalls
        self.patience = patience
        self.start = None
        self.stalled = False
        self.done = False

    def __call__(self, lr, epoch, max_epochs, stale):
        """The learning rate of the coming epoch.

        Parameters
        ----------
        lr, epoch, max_epochs, stale
            As for :func:`constant_lr`.

        Returns
        -------
        float
        """
        if self.start is None:
            if self.stalls and stale >= self.patience:
                self.start, self.stalled = epoch, True
            elif self.horizon is not None and epoch >= self.horizon - self.tail:
                # a bound shorter than the tail anneals over all of it
                self.start, self.tail = epoch, max(self.horizon - epoch, 1)
        if self.start is None:
            return lr
        step = epoch - self.start + 1  # 1 .. tail
        self.done = step >= self.tail
        return 0.5 * lr * (1 + math.cos(math.pi * step / (self.tail + 1)))


#: ``lr_schedule`` choices: name -> factory of ``f(lr, epoch, max_epochs, stale) -> lr``.
#: Each factory takes the fit's ``tail`` (``n_iter_no_change``), ``horizon`` (the bound
#: on epochs, None for a ``partial_fit`` step) and ``stalls`` (whether a stopping rule
#: is on); a schedule with a true ``done`` attribute ends training.
SCHEDULES = {
    "anneal": AnnealLR,
    "plateau": lambda **_: PlateauLR(),
    "cosine": lambda **_: cosine_lr,
    "constant": lambda **_: constant_lr,
}


#: How the stopping rule reads the training loss (:class:`Stopper`'s ``window`` and
#: ``takeoff``). An augmented batch's loss is compared as the mean of 3 epochs: on digit
#: images with ``augment="shift"`` a single epoch above the best began the annealed tail
#: while the loss was still falling in trend. Whatever the batches, no epoch counts as
#: stale before the loss has fallen 10% below its first epoch's (for at most
#: ``n_iter_no_change`` epochs): ``triplet`` on the cnn sits at its margin for several
#: epochs before it falls, and a stall there ended fits before they had learned.
AUGMENTED_WINDOW = 3
TAKEOFF = 0.1


class Stopper:
    """scikit-learn's stopping rule: stop after ``n_iter_no_change`` epochs in which the
    monitored value did not improve on its best by more than ``tol``.

    The monitored value is the training loss (lower is better) or, with early stopping,
    the validation accuracy (higher is better). Two refinements read the training loss
    as a trend rather than epoch by epoch:

    - ``window``: the value compared is the mean of the last ``window`` epochs' values
      (1: the epoch's own). The loss of augmented batches moves up and down from epoch
      to epoch while it falls in trend; a single epoch above the best is then noise,
      not a stall.
    - ``takeoff``: no epoch counts as stale before the loss has fallen by this share of
      its first epoch's value, for at most ``n_iter_no_change`` epochs. Some losses
      stay flat for a few epochs before they fall (triplets of an embedding that starts
      collapsed sit at the margin); a stall there is the start, not the end.

    Parameters
    ----------
    tol : float or None
        None never stops early.
    n_iter_no_change : int
    higher_is_better : bool
    window : int, default=1
    takeoff : float or None, default=None
        None (the validation accuracy) counts every epoch.
    """

    def __init__(self, tol, n_iter_no_change, higher_is_better, window=1, takeoff=None):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.sign = 1.0 if higher_is_better else -1.0
        self.window = max(int(window), 1)
        self.takeoff = takeoff
        self.values = []
        self.best = -math.inf  # of the epochs' own values
        self.best_epoch = None
        self.best_trend = -math.inf  # of the window means
        self.stale = 0
        self.waited = 0
        self.flying = takeoff is None

    def update(self, value, epoch):
        """Record one epoch's value.

        Parameters
        ----------
        value : float
        epoch : int

        Returns
        -------
        improved : bool
            Whether this epoch's own value is the best so far (the epoch whose weights
            early stopping keeps).
        """
        self.values.append(value)
        signed = self.sign * value
        trend = self.sign * float(np.mean(self.values[-self.window :]))
        if not self.flying:  # has the loss left its first value by the takeoff share?
            first = self.sign * self.values[0]
            self.flying = trend > first + self.takeoff * abs(first)
        if len(self.values) > 1 and not self.flying and self.waited < self.n_iter_no_change:
            self.waited += 1
        else:
            tol = 0.0 if self.tol is None else self.tol
            self.stale = 0 if trend > self.best_trend + tol else self.stale + 1
        self.best_trend = max(self.best_trend, trend)
        improved = signed > self.best
        if improved:
            self.best, self.best_epoch = signed, epoch
        return improved

    @property
    def best_value(self):
        """The best monitored value, in its own sign."""
        return self.sign * self.best

    @property
    def done(self):
        """Whether the rule says stop."""
        return self.tol is not None and self.stale >= self.n_iter_no_change


# A training loss this many times the first epoch's (or its square, at all) has diverged.
_DIVERGED = 1e3


def largest_weight(module):
    """The largest absolute parameter value of ``module`` (0.0 without parameters).

    Parameters
    ----------
    module : nn.Module

    Returns
    -------
    float
    """
    return max(
        (float(p.detach().abs().max()) for p in module.parameters() if p.numel()), default=0.0
    )


class DivergenceCheck:
    """Raise when training has diverged: a loss or a weight that is no longer finite, a
    loss grown by orders of magnitude, or weights blown far past their start (a network
    that a huge step left dead predicts one class with a finite, constant loss).

    Parameters
    ----------
    module : nn.Module
        Its weights now are the reference; they are checked after every epoch.
    what : str
        Names the technique in the message, e.g. ``"loss='softmax'"``.
    """

    def __init__(self, module, what):
        self.module = module
        self.what = what
        self.initial_weight = largest_weight(module)

    def __call__(self, losses, lr):
        """Check after an epoch.

        Parameters
        ----------
        losses : list of float
            The training loss of each epoch so far.
        lr : float
            The learning rate of the last epoch, named in the message.

        Raises
        ------
        FloatingPointError
            Naming the epoch, the technique, the loss and the learning rate to lower.
        """
        loss, weight, start = losses[-1], largest_weight(self.module), self.initial_weight
        exploded = loss > _DIVERGED * max(losses[0], 1.0) or loss > _DIVERGED**2
        blown = not math.isfinite(weight) or weight > _DIVERGED**2 * max(start, 1e-3)
        if math.isfinite(loss) and not exploded and not blown:
            return
        raise FloatingPointError(
            f"Training diverged: {self.what} reached a training loss of {loss:.3g} at epoch "
            f"{len(losses)} (epoch 1: {losses[0]:.3g}; largest weight {weight:.3g}, "
            f"{start:.3g} at the start). Lower lr (now {lr:g}), or check X for extreme values."
        )


def warn_collapsed(what, lr, scores, y, epochs, min_epochs):
    """Warn when a fit learned nothing: the model answers its own training data hardly
    better than always answering the most frequent class.

    That is where a collapsed fit ends (every sample embedded alike, or a loss stuck at
    ln C): the stopping rule sees a flat loss and calls it converged. Any model that
    learned something beats the most frequent class on the data it was trained on.

    Parameters
    ----------
    what : str
        Names the technique, e.g. ``"loss='sphereface'"``.
    lr : float
        The initial learning rate, named in the message.
    scores : tensor of shape (n, n_classes)
        The fitted model's class scores of the training samples.
    y : tensor of shape (n,)
        Their encoded labels.
    epochs : int
        Epochs this fit ran; fits shorter than ``min_epochs`` are not judged (a
        ``partial_fit`` step, a deliberately short fit).
    min_epochs : int

    Returns
    -------
    bool
        Whether it warned.
    """
    if epochs < min_epochs or len(y) == 0:
        return False
    y = y.to(scores.device)
    accuracy = float((scores.argmax(1) == y).float().mean())
    majority = float(torch.bincount(y).max()) / len(y)
    # Learning nothing is not only answering one class: also a tenth of the way from it
    # to perfect (0.19 for 10 balanced classes, 0.55 for 2), which no model that trained
    # for n_iter_no_change epochs stays below on its own training data.
    if accuracy > majority + _LEARNED * (1 - majority):
        return False
    warn(
        f"{what} with lr={lr:g} did not learn: after {epochs} epochs the model answers "
        f"its own training data with accuracy {accuracy:.3f}, no better than always "
        f"answering the most frequent class ({majority:.3f}); the embedding has "
        "collapsed. Try a lower lr (e.g. a tenth), standardize=True, or another "
        "technique or backbone.",
        ConvergenceWarning,
    )
    return True


def warn_unconverged(what, epochs, monitored, tol):
    """Warn that the bound on epochs came before the stopping rule.

    Parameters
    ----------
    what : str
        Names the technique, e.g. ``"loss='softmax'"``.
    epochs : int
        The bound that was reached.
    monitored : str
        What the rule watched (``"training loss"``, ``"validation accuracy"``).
    tol : float
    """
    warn(
        f"{what}: max_epochs={epochs} reached while the {monitored} was still improving by "
        f"more than tol={tol}; raise max_epochs (or tol).",
        ConvergenceWarning,
    )

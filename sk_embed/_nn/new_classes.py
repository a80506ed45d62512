"""New classes on a trained network, and the check that they leave the known ones theirs.

``add_classes`` places new classes from a few samples each with the encoder frozen (the
technique's head decides how: :meth:`~sk_embed.losses.Head.add_classes`). New positions
can land where known classes are and take their samples, so before anything changes
the grown head scores samples of the known classes:

- the samples a fit keeps for that (:class:`Guard`): up to ``GUARD_SIZE`` embeddings of
  known samples, spread over the data; the rows ``early_stopping`` held out show what
  new samples would, and training rows, which the model fits more tightly, are checked
  with Gaussian noise of ``GUARD_NOISE`` times each scaled input feature's spread;
- or the user's own samples of the known classes (``X_known``).

When the new classes would take more than ``DAMAGE`` of those samples, ``on_damage``
decides: ``"limit"`` lowers every new class's score by one amount (a score offset,
held by :class:`~sk_embed._nn.module.EmbeddingModule`) so that they take at most
``LIMIT``; ``"warn"`` and ``"raise"`` warn or refuse. Training again clears the offsets.
docs/open_set.md has the measurements these constants come from.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import torch

from .._caller import warn

#: Known samples a fit keeps for the check: enough for a share of 0.3% to be 3 samples.
GUARD_SIZE = 1000
#: The share of the known samples new classes may take before on_damage acts: the drop
#: in known-class accuracy the project bounds (3 points).
DAMAGE = 0.03
#: Noise on kept training rows, in units of each scaled feature's spread: the smallest
#: that makes training rows taken about as often as held-out ones (larger overstates it).
GUARD_NOISE = 0.3
#: on_damage="limit": the share of the checked samples new classes may still take; held-
#: out samples are taken more often than the checked ones, so this is well under DAMAGE.
LIMIT = 0.003
#: What on_damage may be.
ON_DAMAGE = ("limit", "warn", "raise", "ignore")


class Guard(NamedTuple):
    """Embeddings of known samples a fit keeps for the check.

    Attributes
    ----------
    embeddings : tensor of shape (n, n_components)
    held_out : bool
        Whether they are of validation rows ``early_stopping`` held out (else of
        training rows, with noise).
    """

    embeddings: torch.Tensor
    held_out: bool

    @classmethod
    def keep(cls, net, data):
        """The guard of a fit that trained ``net`` on ``data``.

        Parameters
        ----------
        net : EmbeddingNet
            Trained.
        data : TensorDataset
            Its training data.

        Returns
        -------
        Guard
        """
        held_out = net.validation_rows_
        held_out = held_out is not None and len(held_out) > 0
        pool = np.asarray(net.validation_rows_) if held_out else np.arange(len(data))
        spread = np.unique(np.linspace(0, len(pool) - 1, GUARD_SIZE).astype(int))
        rows = data.X[pool[spread]]
        if held_out:
            return cls(net.scores_and_embedding(rows)[1], True)
        return cls(noisy_embedding(net, rows, GUARD_NOISE), False)

    def to_file(self):
        """The guard as JSON values for the model file.

        Returns
        -------
        dict
        """
        return {"known_embeddings": self.embeddings.tolist(), "held_out": self.held_out}

    @classmethod
    def from_file(cls, fields):
        """The guard :meth:`to_file` wrote.

        Parameters
        ----------
        fields : dict

        Returns
        -------
        Guard
        """
        embeddings = torch.tensor(fields["known_embeddings"], dtype=torch.float32)
        return cls(embeddings, fields["held_out"])


def noisy_embedding(net, X, noise):
    """Raw embeddings ``z`` of ``X`` with Gaussian noise added to the scaled input:
    ``noise`` times each input feature's standard deviation over ``X``, seeded by the
    net's seed. For any input the net takes (rows, images, sparse rows, a dataset): the
    noise is added to what the input scaling gives, batch by batch.

    Parameters
    ----------
    net : EmbeddingNet
    X : tensor or rows of shape (n, ...)
    noise : float

    Returns
    -------
    z : tensor of shape (n, n_components)
    """
    moments = []
    scaler = net.module_.scaler

    def collect(module, inputs, output):
        x = output.detach().to("cpu", torch.float64)  # float64 on any device
        moments.append((len(x), x.sum(0), (x * x).sum(0)))

    hook = scaler.register_forward_hook(collect)
    try:
        net.scores_and_embedding(X)
    finally:
        hook.remove()
    n = sum(m[0] for m in moments)
    mean = sum(m[1] for m in moments) / n
    sd = (sum(m[2] for m in moments) / n - mean * mean).clamp(min=0).sqrt().float()
    generator = torch.Generator().manual_seed(net.seed)  # the same draws on any device

    def perturb(module, inputs, output):
        draw = torch.randn(output.shape, generator=generator) * (noise * sd)
        return output + draw.to(output.device, output.dtype)

    hook = scaler.register_forward_hook(perturb)
    try:
        return net.scores_and_embedding(X)[1]
    finally:
        hook.remove()


def add_classes(net, X, y, labels, on_damage, X_known=None):
    """Grow ``net`` (a copy of the fitted net; it is changed in place) by the classes of
    ``y``, checked as ``on_damage`` says.

    Parameters
    ----------
    net : EmbeddingNet
    X : tensor or rows
        Samples of the new classes, on the net's device.
    y : ndarray of int
        Each sample's new class, ``0..n_new-1``.
    labels : ndarray
        The label of every class by network column, the new ones last (for messages).
    on_damage : str
        One of :data:`ON_DAMAGE`.
    X_known : tensor or rows, optional
        Samples of the known classes to check on; else the net's :class:`Guard`.
    """
    module = net.module_
    head = module.head
    n_new = int(y.max()) + 1
    z = net.scores_and_embedding(X)[1].to(net.device)
    local = torch.as_tensor(y, dtype=torch.long, device=net.device)
    lowering = 0.0
    if on_damage != "ignore":  # try on a copy first: a refusal changes nothing
        trial = copy.deepcopy(module)
        trial.head.add_classes(z, local, n_new)
        lower_new_classes(trial, n_new, 0.0)  # earlier offsets get the new columns
        guard = net.guard_
        if X_known is not None:
            known, source = net.scores_and_embedding(X_known)[1], "samples in X_known"
        elif guard.held_out:
            known, source = guard.embeddings, "validation samples early_stopping held out"
        else:
            known = guard.embeddings
            source = "training samples the model kept, with noise as new samples vary"
        lowering = _check_damage(module, trial, labels, on_damage, z, local, known, source)
    head.add_classes(z, local, n_new)
    lower_new_classes(module, n_new, lowering)
    net.n_classes = head.n_classes


def _check_damage(module, grown, labels, on_damage, z_new, local, z, source):
    """Warn or raise when ``grown`` (the module with the new classes, placed from
    ``z_new`` labelled ``local``) would give known-class embeddings ``z`` (the ``source``
    the message names) to a new class; with ``"limit"``, return how much to lower the
    new classes' scores (0.0 otherwise)."""
    with torch.no_grad():
        z = z.to(z_new.device)
        before = module.scores(z).argmax(1).cpu().numpy()
        scores = grown.scores(z)
        own = grown.scores(z_new)
    n_known = module.head.n_classes
    after = scores.argmax(1).cpu().numpy()
    taken = after >= n_known
    lowering = 0.0
    if on_damage == "limit" and taken.mean() > LIMIT:
        # by how much each kept sample's best new class beats its best known one
        lead = scores[:, n_known:].max(1).values - scores[:, :n_known].max(1).values
        lowering = float(torch.quantile(lead.double(), 1 - LIMIT))
    if taken.mean() <= DAMAGE:
        return lowering
    victims = labels[np.unique(before[taken])].tolist()
    takers = labels[np.unique(after[taken])].tolist()
    share = (
        f"add_classes: the new classes {takers!r} would take {taken.mean():.0%} of the "
        f"known classes' {source} (from classes {victims!r})"
    )
    advice = (
        "Train with reserve_classes to leave room for new classes (docs/open_set.md), "
        "or refit on all classes."
    )
    if on_damage == "limit":
        own[:, n_known:] -= lowering
        won = int((own.argmax(1) == local + n_known).sum())
        message = (
            f"{share}. They were added with their scores lowered by {lowering:.3g}, so "
            f"that they take at most {LIMIT:.1%}: the known classes keep their "
            f"accuracy, and the new classes now win {won} of the {len(local)} samples "
            f"they were added from. {advice} Pass on_damage='ignore' to add them at full "
            "strength, or 'raise' to refuse such an addition."
        )
    else:
        message = (
            f"{share}; accuracy on the known classes will drop. {advice} Pass "
            "on_damage='limit' to add them with their scores lowered so that they take "
            f"at most {LIMIT:.1%}, 'raise' to refuse such an addition, 'ignore' to add "
            "silently."
        )
    if on_damage == "raise":
        raise ValueError(message)
    warn(message, UserWarning)
    return lowering


def lower_new_classes(module, n_new, amount):
    """Lower the scores of the last ``n_new`` classes (just added) by ``amount``.

    Every class's score then has its offset added wherever the module scores (predict,
    probabilities, ``score_samples``); classes without one get 0.

    Parameters
    ----------
    module : EmbeddingModule
    n_new : int
        How many classes were added last (already counted in the head's ``n_classes``).
    amount : float
        Non-negative; 0 adds no offset (and no buffer when there is none yet).
    """
    offsets = module.score_offsets
    if offsets is None and amount == 0:
        return
    if offsets is None:
        offsets = torch.zeros(module.head.n_classes - n_new, device=module.head.centers.device)
    added = torch.full((n_new,), -float(amount), device=offsets.device)
    module.score_offsets = torch.cat([offsets, added])


def clear_offsets(module):
    """Drop every score offset: the classes compete as they are (training goes on).

    Parameters
    ----------
    module : EmbeddingModule
    """
    module.score_offsets = None

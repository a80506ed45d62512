"""Augmentations of training batches, written as batched torch operations.

The estimator's ``augment`` parameter takes a name of :data:`AUGMENTATIONS`, a list of
them, or a callable of your own. Each is applied to every training batch on the training
device, in the network's input shape and in the input's units (before the input
standardization); prediction and the validation batches of ``early_stopping`` are never
augmented. Inside a fit, the built-ins draw from the fit's own generator, seeded by
``random_state``, so two fits with the same seed are identical, whatever runs beside them;
called directly, they draw from torch's default generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._random import generator


def _is_image_shape(shape):
    return len(shape) in (2, 3)


def shift(X, fraction=0.125):
    """Translate each image by a random offset of up to ``fraction`` of its side, in
    both directions, padding with zeros.

    Parameters
    ----------
    X : tensor of shape (n, H, W) or (n, C, H, W)
    fraction : float, default=0.125
        The largest offset as a fraction of the side (at least one pixel).

    Returns
    -------
    tensor of the same shape and dtype
    """
    n, (height, width) = len(X), X.shape[-2:]
    ph, pw = max(1, int(height * fraction)), max(1, int(width * fraction))
    padded = F.pad(X, (pw, pw, ph, ph))
    planes = padded.reshape(n, -1, (height + 2 * ph) * (width + 2 * pw))
    draws = generator(X.device)
    dy = torch.randint(0, 2 * ph + 1, (n, 1, 1), device=X.device, generator=draws)
    dx = torch.randint(0, 2 * pw + 1, (n, 1, 1), device=X.device, generator=draws)
    rows = dy + torch.arange(height, device=X.device).view(1, -1, 1)
    cols = dx + torch.arange(width, device=X.device).view(1, 1, -1)
    index = (rows * (width + 2 * pw) + cols).reshape(n, 1, -1).expand(-1, planes.shape[1], -1)
    return planes.gather(2, index).reshape(X.shape)


def flip(X):
    """Mirror each image left to right with probability one half.

    Parameters
    ----------
    X : tensor of shape (n, H, W) or (n, C, H, W)

    Returns
    -------
    tensor of the same shape and dtype
    """
    mirrored = torch.rand(len(X), device=X.device, generator=generator(X.device)) < 0.5
    return torch.where(mirrored.view(-1, *[1] * (X.dim() - 1)), X.flip(-1), X)


#: The built-in augmentations by name; each works on images ``(n, H, W)`` or
#: ``(n, C, H, W)``.
AUGMENTATIONS = {"shift": shift, "flip": flip}


class Compose:
    """Apply augmentations one after the other.

    Parameters
    ----------
    steps : list of callable
    """

    def __init__(self, steps):
        self.steps = list(steps)

    def __call__(self, X):
        for step in self.steps:
            X = step(X)
        return X

    def __repr__(self):
        return f"Compose({self.steps!r})"


def resolve_augment(augment, input_shape):
    """The callable that ``augment`` names.

    Parameters
    ----------
    augment : None, str, callable or list of them
        A name of :data:`AUGMENTATIONS`, a callable taking and returning a batch, or a
        list of both (applied in order).
    input_shape : tuple of int
        The shape of one sample; the built-ins need images.

    Returns
    -------
    callable or None

    Raises
    ------
    ValueError
        For an unknown name (the message lists the built-ins) or a built-in on rows.
    """
    if augment is None:
        return None
    steps = list(augment) if isinstance(augment, (list, tuple)) else [augment]
    resolved = []
    for step in steps:
        if callable(step):
            resolved.append(step)
            continue
        if not isinstance(step, str) or step not in AUGMENTATIONS:
            raise ValueError(
                f"augment={step!r} is not a built-in augmentation; the built-ins are "
                f"{sorted(AUGMENTATIONS)}, or pass a callable that takes a batch tensor "
                "and returns one of the same shape and dtype."
            )
        if not _is_image_shape(tuple(input_shape)):
            raise ValueError(
                f"augment={step!r} works on images (samples of shape (H, W) or (C, H, W)); "
                f"the samples here have shape {tuple(input_shape)}. Pass a callable for "
                "rows."
            )
        resolved.append(AUGMENTATIONS[step])
    return resolved[0] if len(resolved) == 1 else Compose(resolved)


class AugmentedBatches:
    """Training batches with their inputs augmented; the loss and every callback see
    the augmented batch.

    Parameters
    ----------
    batches : iterable of Batch
        Named batches (``X``, ``y``, ``sample_weight``).
    augment : callable
    """

    def __init__(self, batches, augment):
        self.batches = batches
        self.augment = augment
        # A batch can be a view of the training copy: a callable of the user's own gets
        # a copy of it, so working in place changes nothing of the data (the built-ins
        # never write to their input).
        steps = augment.steps if isinstance(augment, Compose) else [augment]
        self._copies = any(step not in AUGMENTATIONS.values() for step in steps)

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for batch in self.batches:
            X = batch.X
            out = self.augment(X.clone() if self._copies else X)
            if not torch.is_tensor(out) or out.shape != X.shape or out.dtype != X.dtype:
                got = (
                    f"shape {tuple(out.shape)} and dtype {out.dtype}"
                    if torch.is_tensor(out)
                    else f"a {type(out).__name__}"
                )
                raise ValueError(
                    f"augment={self.augment!r} returned {got} for a batch of shape "
                    f"{tuple(X.shape)} and dtype {X.dtype}; it must return a tensor of the "
                    "same shape and dtype."
                )
            if not torch.isfinite(out).all():
                raise ValueError(
                    f"augment={self.augment!r} returned NaN or infinity for a batch whose "
                    "inputs are finite."
                )
            yield batch._replace(X=out)

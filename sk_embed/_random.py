"""The random draws of a fit come from generators the fit owns.

torch's default generator is one per process: two fits seeding it in two threads would
interleave their draws, and seeding it would change the caller's stream. So a fit holds
its own ``torch.Generator`` (one per device type) in a context variable, which is per
thread, and every draw of sk-embed's training code (augmentations, mixes, random mining)
takes it from :func:`generator`, and a layer that draws in its forward pass (sk-embed's
dropout) from :func:`layer_generator`. Outside a fit, :func:`generator` gives None:
torch's default generator, as any torch function uses.

Only building a module draws from torch's default generator (``nn.Linear`` and the other
layers initialize themselves from it): :func:`global_seed` seeds it for that, under a
process-wide lock, and puts the caller's state back.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading

import torch

_GENERATORS = contextvars.ContextVar("sk_embed_generators", default=None)
# A stream of this rank's own for the draws of a module's forward pass (layer_generator).
_LAYER_GENERATORS = contextvars.ContextVar("sk_embed_layer_generators", default=None)
# Held while torch's default generator is seeded for a fit (see global_seed).
_GLOBAL_LOCK = threading.RLock()


class FitGenerators:
    """One seeded generator per device type, made when first asked for.

    Parameters
    ----------
    seed : int
    cpu_state : torch.ByteTensor, optional
        A state to start the CPU generator from instead of ``seed``.
    """

    def __init__(self, seed, cpu_state=None):
        self.seed = seed
        cpu = torch.Generator()
        if cpu_state is None:
            cpu.manual_seed(seed)
        else:
            cpu.set_state(cpu_state)
        self._by_device = {"cpu": cpu}

    def on(self, device):
        """The generator for ``device``.

        Parameters
        ----------
        device : str or torch.device

        Returns
        -------
        torch.Generator
        """
        device = torch.device(device)
        key = device.type if device.type == "cpu" else str(device)
        if key not in self._by_device:
            self._by_device[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._by_device[key]


def generator(device="cpu"):
    """The current fit's generator for ``device``; None outside a fit.

    Parameters
    ----------
    device : str or torch.device, default="cpu"

    Returns
    -------
    torch.Generator or None
        Pass it as ``generator=`` to torch's random functions (None draws from torch's
        default generator).
    """
    generators = _GENERATORS.get()
    return None if generators is None else generators.on(device)


def layer_generator(device="cpu"):
    """The generator of the draws a module makes in its forward pass (dropout masks).

    In a data-parallel fit each rank draws its rows' masks from a stream of its own (the
    ranks' rows differ, and the shared stream, which every rank must advance alike, is
    left alone); elsewhere this is :func:`generator`.

    Parameters
    ----------
    device : str or torch.device, default="cpu"

    Returns
    -------
    torch.Generator or None
    """
    own = _LAYER_GENERATORS.get()
    return generator(device) if own is None else own.on(device)


@contextlib.contextmanager
def _source(variable, generators):
    token = variable.set(generators)
    try:
        yield generators
    finally:
        variable.reset(token)


def layer_draws(generators):
    """Make ``generators`` the source of :func:`layer_generator` inside the block.

    Parameters
    ----------
    generators : FitGenerators
    """
    return _source(_LAYER_GENERATORS, generators)


def fit_draws(generators):
    """Make ``generators`` the source of :func:`generator` inside the block (this thread
    and context only).

    Parameters
    ----------
    generators : FitGenerators
    """
    return _source(_GENERATORS, generators)


@contextlib.contextmanager
def global_seed(seed, device):
    """Seed torch's default generator inside the block, under a process-wide lock; the
    caller's state is put back at the end.

    For what cannot take a generator: building modules, and modules of one's own that
    draw in their forward pass (dropout).

    Parameters
    ----------
    seed : int
    device : str or torch.device
        Its CUDA generator is seeded and put back too.
    """
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with _GLOBAL_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def float32_with_grad():
    """Run the block in float32 by default, with gradients on, whatever the caller set
    (``torch.set_default_dtype``, ``torch.no_grad``, ``torch.inference_mode``)."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        with torch.inference_mode(False), torch.enable_grad():
            yield
    finally:
        torch.set_default_dtype(dtype)

"""Hooks that sphinx-gallery calls before each example: how long its fits train, and how
many threads each takes.

The suite builds the site to check that every example runs and draws its figures, not
what the fits reach. With ``SK_EMBED_GALLERY_MAX_EPOCHS`` set, :func:`reset_max_epochs`
makes every ``EmbeddingClassifier`` the example builds without its own ``max_epochs``
stop at that many epochs (about 100 s of fitting becomes about 20). ``make docs`` leaves
it unset: the published pages show full fits. The suite builds from a copy of docs/ and
examples/, so a quick build never fills the gallery cache that ``make docs`` reuses.

The examples run ``SK_EMBED_GALLERY_JOBS`` at a time (default 2, ``parallel`` in
conf.py), and :func:`share_cores` gives each the machine's cores divided among them, so
two examples at once do not each start a thread per core.
"""

import os
import warnings

from sk_embed import EmbeddingClassifier

_DEFAULTS = EmbeddingClassifier.__init__.__kwdefaults__
_MAX_EPOCHS = _DEFAULTS["max_epochs"]


def jobs():
    """Examples run at a time: ``SK_EMBED_GALLERY_JOBS``, default 2."""
    return max(1, int(os.environ.get("SK_EMBED_GALLERY_JOBS", "2")))


def reset_max_epochs(gallery_conf, fname, when=None):
    """sphinx-gallery's reset hook: the default ``max_epochs`` for the next example. A
    quick build cuts the fits short on purpose, so it also silences the warnings that
    such fits raise (``ConvergenceWarning``, a damaged ``add_classes``): they would say
    nothing about the examples as ``make docs`` runs them."""
    quick = os.environ.get("SK_EMBED_GALLERY_MAX_EPOCHS")
    _DEFAULTS["max_epochs"] = int(quick) if quick else _MAX_EPOCHS
    if quick:
        warnings.simplefilter("ignore")


def share_cores(gallery_conf, fname, when=None):
    """sphinx-gallery's reset hook: torch threads for the next example, the cores shared
    among the examples that run at once (``OMP_NUM_THREADS`` wins where it is set)."""
    import torch

    threads = os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(int(threads) if threads else max(1, (os.cpu_count() or 1) // jobs()))

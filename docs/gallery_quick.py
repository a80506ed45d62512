"""A quick gallery for the test suite's site build.

The suite builds the site to check that every example runs and draws its figures, not
what the fits reach. With ``SK_EMBED_GALLERY_MAX_EPOCHS`` set, sphinx-gallery calls
:func:`reset_max_epochs` before each example and every ``EmbeddingClassifier`` the
example builds without its own ``max_epochs`` stops at that many epochs (about 100 s of
fitting becomes about 20). ``make docs`` leaves it unset: the published pages show full
fits. The suite builds from a copy of docs/ and examples/, so a quick build never fills
the gallery cache that ``make docs`` reuses.
"""

import os

from sk_embed import EmbeddingClassifier

_DEFAULTS = EmbeddingClassifier.__init__.__kwdefaults__
_MAX_EPOCHS = _DEFAULTS["max_epochs"]


def reset_max_epochs(gallery_conf, fname, when=None):
    """sphinx-gallery's reset hook: the default ``max_epochs`` for the next example."""
    quick = os.environ.get("SK_EMBED_GALLERY_MAX_EPOCHS")
    _DEFAULTS["max_epochs"] = int(quick) if quick else _MAX_EPOCHS

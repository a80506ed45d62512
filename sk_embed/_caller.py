"""Warnings that point at the user's own line.

A warning raised deep in a fit (``ConvergenceWarning`` from the training loop) would
otherwise name a file of sk-embed, skorch or scikit-learn, and a ``warnings`` filter on the
user's module would not match it.
"""

from __future__ import annotations

import sys
import warnings

# Frames of these packages are not the user's (joblib and the standard library's thread
# pools: a fit run by cross_val_score or a pool points at the call that started it).
_INSIDE = (
    "sk_embed",
    "skorch",
    "sklearn",
    "torch",
    "contextlib",
    "joblib",
    "concurrent",
    "threading",
)


def warn(message, category=UserWarning):
    """``warnings.warn`` at the first frame outside sk-embed, skorch, scikit-learn, torch.

    Parameters
    ----------
    message : str
    category : type of Warning, default=UserWarning
    """
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in _INSIDE:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)

"""sk-embed: design, compare and use the embedded space of deep classifiers.

``import sk_embed`` loads the estimator and the technique registry only; the
``benchmark``, ``datasets``, ``metrics`` and ``plotting`` submodules load on first use
(matplotlib only when a figure is drawn).
"""

import importlib

from ._nn import notebook_launcher
from .estimator import EmbeddingClassifier
from .losses import available_losses
from .open_set import OpenSetClassifier

__version__ = "0.1.0"

_SUBMODULES = ("benchmark", "datasets", "metrics", "plotting")

__all__ = [
    "EmbeddingClassifier",
    "OpenSetClassifier",
    "__version__",
    "available_losses",
    "notebook_launcher",
    *_SUBMODULES,
]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))

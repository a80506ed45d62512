"""sk-embed: design, compare and use the embedded space of deep classifiers."""

from . import benchmark, datasets, metrics, plotting
from .estimator import EmbeddingClassifier
from .losses import available_losses

__version__ = "0.1.0"

__all__ = [
    "EmbeddingClassifier",
    "__version__",
    "available_losses",
    "benchmark",
    "datasets",
    "metrics",
    "plotting",
]

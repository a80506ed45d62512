"""The torch and skorch side of the estimator: the network, its training loop and its
data path.

The estimator imports this package's entry points only (the names below); nothing here
imports the estimator.
"""

from .data import DatasetRows, check_device, input_rows, validation_options
from .distributed import agreed, data_parallel, notebook_launcher, write_once
from .export import OUTPUTS
from .module import PRECISIONS, check_precision
from .net import EmbeddingNet, TrainingRecord
from .new_classes import ON_DAMAGE
from .routing import OPTIMIZERS, OPTION_PREFIXES, PASS_THROUGH, is_option
from .training import SCHEDULES

__all__ = [
    "DatasetRows",
    "OPTIMIZERS",
    "PRECISIONS",
    "ON_DAMAGE",
    "OUTPUTS",
    "OPTION_PREFIXES",
    "PASS_THROUGH",
    "SCHEDULES",
    "EmbeddingNet",
    "TrainingRecord",
    "agreed",
    "check_device",
    "input_rows",
    "check_precision",
    "data_parallel",
    "is_option",
    "notebook_launcher",
    "validation_options",
    "write_once",
]

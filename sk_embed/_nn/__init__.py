"""The torch and skorch side of the estimator: the network, its training loop and its
data path.

The estimator imports this package's entry points only (the names below); nothing here
imports the estimator.
"""

from .data import (
    ArrayRows,
    DatasetRows,
    SparseRows,
    TensorDataset,
    check_device,
    check_finite_rows,
    check_float32_range,
)
from .export import OUTPUTS, export_onnx
from .module import PRECISIONS, check_precision
from .net import EmbeddingNet, TrainingRecord
from .routing import OPTIMIZERS, OPTION_PREFIXES, PASS_THROUGH, is_option
from .training import SCHEDULES

__all__ = [
    "ArrayRows",
    "DatasetRows",
    "OPTIMIZERS",
    "PRECISIONS",
    "OUTPUTS",
    "OPTION_PREFIXES",
    "PASS_THROUGH",
    "SCHEDULES",
    "EmbeddingNet",
    "SparseRows",
    "TensorDataset",
    "TrainingRecord",
    "check_device",
    "check_finite_rows",
    "check_float32_range",
    "check_precision",
    "export_onnx",
    "is_option",
]

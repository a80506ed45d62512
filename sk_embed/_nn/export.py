"""Export of a trained module to ONNX: the whole path from raw input to one output."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import warnings

import torch

from .predictor import Predictor

#: What an exported model can compute, as the estimator's methods of the same name do.
OUTPUTS = ("transform", "predict_proba", "decision_function")


def export_onnx(module, path, output, columns, input_shape, opset_version=18):
    """Write ``module`` (in eval mode, on the CPU) as an ONNX model with a dynamic batch.

    Parameters
    ----------
    module : EmbeddingModule
        The trained module; training-only parts (the decoder) are not on its path.
    path : str or path-like
    output : str
        One of :data:`OUTPUTS`.
    columns : ndarray of int
        The network column of each class in the estimator's order.
    input_shape : tuple of int
        Shape of one sample.
    opset_version : int, default=18

    Returns
    -------
    str
        The path written.
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write {os.fspath(path)!r}: the folder {folder!r} does not exist."
        )
    module = copy.deepcopy(module)  # the model stays as it is
    module.autocast = None  # served in float32: ONNX runtimes choose their own precision
    served = Predictor(module, output, columns).cpu().eval()
    example = torch.zeros(2, *input_shape, dtype=torch.float32)
    with torch.no_grad(), warnings.catch_warnings(), _quiet("torch.onnx"):
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        torch.onnx.export(
            served,
            (example,),
            os.fspath(path),
            input_names=["X"],
            output_names=[output],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            opset_version=opset_version,
            dynamo=True,
            verbose=False,
            # one self-contained file, as ONNX holds up to 2 GB; weights beyond go beside
            external_data=_size(served) >= _ONNX_LIMIT,
        )
    return os.fspath(path)


# What one ONNX file holds (protobuf's limit), less room for the graph itself.
_ONNX_LIMIT = 2**31 - 2**26


def _size(module):
    """Bytes of ``module``'s parameters and buffers."""
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


@contextlib.contextmanager
def _quiet(name):
    """Keep a logger to errors inside the block (the exporter logs, e.g., each
    torchvision operator it skips when torchvision is absent)."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)

"""The model file: a fitted estimator saved so that it loads without running code.

The file is a torch archive read back with ``torch.load(weights_only=True)``, whose
unpickler builds tensors, strings and plain containers only. It holds:

- ``"model"``: JSON text with the constructor parameters, the classes, the fitted
  attributes and the net's training history;
- ``"module"`` and ``"criterion"``: the state dicts (tensors, saved from the CPU, so a
  model trained on a GPU loads on a machine without one);
- ``"sha256"``: a digest of all of the above, checked at load, so a truncated, damaged or
  edited file is an error rather than a model that predicts NaN. It detects damage; it is
  not a signature against someone who rewrites the digest too.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings

import numpy as np
import torch

from ._nn import OPTIMIZERS

FORMAT = "sk-embed-model"
VERSION = 1
_LABEL_TYPES = (str, int, float, bool)
_PARTS = {"model": str, "module": dict, "criterion": dict, "sha256": str}


def _encode(name, value):
    """A parameter value as JSON, tuples, dicts (``class_weight``: their keys are labels)
    and optimizer classes tagged; TypeError naming the parameter for anything else."""
    if isinstance(value, (np.generic, torch.device)):
        value = value.item() if isinstance(value, np.generic) else str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, tuple):
        return {"tuple": [_encode(name, v) for v in value]}
    if isinstance(value, list):
        return [_encode(name, v) for v in value]
    if isinstance(value, dict):
        return {"dict": [[_encode(name, k), _encode(name, v)] for k, v in value.items()]}
    for key, cls in OPTIMIZERS.items():
        if value is cls:
            return {"optimizer": key}
    raise TypeError(
        f"save cannot store the parameter {name}={value!r}: a file that loads without "
        "running code holds JSON values, named backbones and named optimizers only. Use a "
        "named one, or pickle the estimator (and load pickles from trusted sources only)."
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(_decode(v) for v in value["tuple"])
        if "dict" in value:
            return {_decode(k): _decode(v) for k, v in value["dict"]}
        return OPTIMIZERS[value["optimizer"]]
    return value


def encode_labels(array, what):
    """A label array as ``{"dtype", "values"}``.

    Parameters
    ----------
    array : ndarray
    what : str
        Names the array in the error.

    Returns
    -------
    dict

    Raises
    ------
    TypeError
        For labels JSON cannot hold.
    """
    values = array.tolist()
    if array.dtype.kind not in "biufUO" or not all(isinstance(v, _LABEL_TYPES) for v in values):
        raise TypeError(f"save stores {what} of str, int, float or bool only; got {array.dtype}.")
    return {"dtype": "object" if array.dtype.kind == "O" else array.dtype.str, "values": values}


def _json_scalar(value):
    """numpy scalars (in the history and fitted attributes) as Python numbers; anything
    else JSON cannot hold is an error, never a string in its place."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"save cannot store {value!r} ({type(value).__name__}) as JSON.")


def _digest(model, tensors):
    sha = hashlib.sha256(model.encode())
    for part in ("module", "criterion"):
        for name, t in sorted(tensors[part].items()):
            sha.update(f"{part}.{name}{t.dtype}{tuple(t.shape)}".encode())
            sha.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def encode_params(params):
    """Constructor parameters as JSON values.

    Parameters
    ----------
    params : dict

    Returns
    -------
    dict

    Raises
    ------
    TypeError
        Naming a parameter JSON cannot hold (a module or callback object).
    """
    return {name: _encode(name, value) for name, value in params.items()}


def decode_params(params):
    """The constructor parameters :func:`encode_params` wrote.

    Parameters
    ----------
    params : dict

    Returns
    -------
    dict
    """
    return {name: _decode(value) for name, value in params.items()}


def decode_labels(labels):
    """The label array :func:`encode_labels` wrote.

    Parameters
    ----------
    labels : dict

    Returns
    -------
    ndarray
    """
    return np.array(labels["values"], dtype=labels["dtype"])


def write(path, model, module_state, criterion_state):
    """Write a model file.

    Parameters
    ----------
    path : str or path-like
    model : dict
        JSON-able description of the estimator (parameters, classes, fitted values,
        the net's history).
    module_state, criterion_state : dict of tensors
        State dicts; saved from the CPU.
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot save to {os.fspath(path)!r}: the folder {folder!r} does not exist."
        )
    text = json.dumps(model, default=_json_scalar)
    tensors = {
        "module": {k: v.detach().cpu() for k, v in module_state.items()},
        "criterion": {k: v.detach().cpu() for k, v in criterion_state.items()},
    }
    payload = {"format": FORMAT, "version": VERSION, "model": text, **tensors}
    payload["sha256"] = _digest(text, tensors)
    torch.save(payload, os.fspath(path))


def read(path):
    """Read a model file written by :func:`write`, without running code from it.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    model : dict
    module_state, criterion_state : dict of tensors

    Raises
    ------
    ValueError
        When the file is not a model file, is of another version, is truncated, or was
        changed after it was written (its checksum does not match).
    """
    try:
        with warnings.catch_warnings():  # torch's remarks on foreign files: we say why
            warnings.simplefilter("ignore")
            payload = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # zip errors, refused globals, truncation
        raise ValueError(
            f"{os.fspath(path)!r} is not a readable sk-embed model file (truncated, damaged "
            f"or not written by save): {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a model written by save.")
    if payload.get("version") != VERSION:
        raise ValueError(
            f"{os.fspath(path)!r} is a model file of version {payload.get('version')!r}; "
            f"this sk-embed reads version {VERSION}."
        )
    if not all(isinstance(payload.get(k), t) for k, t in _PARTS.items()) or _digest(
        payload["model"], payload
    ) != payload.get("sha256"):
        raise ValueError(
            f"{os.fspath(path)!r} was damaged or changed after it was written: its "
            "checksum does not match its contents."
        )
    return json.loads(payload["model"]), payload["module"], payload["criterion"]

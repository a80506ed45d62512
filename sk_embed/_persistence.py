"""Saving a fitted estimator in a file that loads without running code.

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
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._module import seeded
from ._net import REPORTED
from ._routing import OPTIMIZERS

FORMAT = "sk-embed-model"
VERSION = 1
_LABEL_TYPES = (str, int, float, bool)
_PARTS = {"model": str, "module": dict, "criterion": dict, "sha256": str}


def _encode(name, value):
    """A parameter value as JSON, tuples and optimizer classes tagged; TypeError naming
    the parameter for anything else."""
    if isinstance(value, (np.generic, torch.device)):
        value = value.item() if isinstance(value, np.generic) else str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, tuple):
        return {"tuple": [_encode(name, v) for v in value]}
    if isinstance(value, list):
        return [_encode(name, v) for v in value]
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
        return OPTIMIZERS[value["optimizer"]]
    return value


def _labels(array, what):
    """A label array as ``{"dtype", "values"}``; TypeError for labels JSON cannot hold."""
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


class PersistenceMixin:
    """``save`` and ``load`` for :class:`~sk_embed.EmbeddingClassifier`."""

    def save(self, path):
        """Write the fitted model to ``path``: weights as tensors, everything else as JSON.

        :meth:`load` reads it back without running code (no pickle), with identical
        predictions, for every technique and after ``add_classes``. Not stored: the
        optimizer's state (``warm_start`` and ``partial_fit`` after a load start a fresh
        optimizer). Parameters must be JSON values, a named backbone and optimizer; a
        module or callback object cannot be stored this way (pickle can).

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        self : EmbeddingClassifier
        """
        check_is_fitted(self)
        params = {k: _encode(k, v) for k, v in self.get_params(deep=False).items()}
        fitted = {name: getattr(self, name) for name in REPORTED}
        fitted.update(input_shape_=list(self.input_shape_), n_features_in_=self.n_features_in_)
        model = {
            "params": params,
            "classes": _labels(self.classes_, "classes"),
            "columns": self._columns.tolist(),
            "feature_names_in": (
                _labels(self.feature_names_in_, "feature names")
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "fitted": fitted,
            "seed": self.net_.seed,
            "history": self.net_.history_.to_list(),
        }
        text = json.dumps(model, default=_json_scalar)
        tensors = {
            "module": {k: v.detach().cpu() for k, v in self.net_.module_.state_dict().items()},
            "criterion": {
                k: v.detach().cpu() for k, v in self.net_.criterion_.state_dict().items()
            },
        }
        payload = {"format": FORMAT, "version": VERSION, "model": text, **tensors}
        payload["sha256"] = _digest(text, tensors)
        torch.save(payload, os.fspath(path))
        return self

    @classmethod
    def load(cls, path, *, device="cpu"):
        """Read a model written by :meth:`save`, without running code from the file.

        Parameters
        ----------
        path : str or path-like
        device : str or torch.device, default="cpu"
            Where the loaded model runs (its ``device`` parameter); a model trained on a
            GPU loads on a machine without one.

        Returns
        -------
        EmbeddingClassifier

        Raises
        ------
        ValueError
            When the file is not a model written by ``save``, is truncated, or was changed
            after it was written (its checksum does not match).
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
        model = json.loads(payload["model"])
        estimator = cls(**{k: _decode(v) for k, v in model["params"].items()})
        estimator.device = device
        estimator._restore(model, payload)
        return estimator

    def _restore(self, model, payload):
        """Set the fitted attributes and rebuild the net from a loaded file's parts."""
        classes = model["classes"]
        self.classes_ = np.array(classes["values"], dtype=classes["dtype"])
        self._columns = np.array(model["columns"], dtype=np.intp)
        if model["feature_names_in"] is not None:
            self.feature_names_in_ = np.array(model["feature_names_in"]["values"], dtype=object)
        for name, value in model["fitted"].items():
            setattr(self, name, value)
        self.input_shape_ = tuple(self.input_shape_)
        self._n_features_out = self.n_components
        net = self._new_net(len(self.classes_), model["seed"], self._options())
        with seeded(model["seed"], net.device):
            net.initialize()
        net.release_reserve()  # built with what training alone uses
        net.module_.load_state_dict(payload["module"])
        net.criterion_.load_state_dict(payload["criterion"])
        net.history_ = History(model["history"])
        net.interrupted_ = False
        for name in REPORTED:
            setattr(net, name, getattr(self, name))
        self.net_ = net
        self.class_centers_ = self._numpy(net.module_.head.centers)[self._columns]

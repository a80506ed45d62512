"""Growing a fitted model: ``partial_fit``, ``warm_start``'s continued training, and
``add_classes``.

Each keeps the fitted encoder. ``partial_fit`` and ``warm_start`` train it further on
labels of known classes; ``add_classes`` places new classes without training it.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ._data import TensorDataset
from ._net import REPORTED
from ._params import all_or_nothing

# The estimator's parameters that may change between calls that go on training.
_ONGOING = ("lr", "max_epochs", "tol", "n_iter_no_change", "lr_schedule", "batch_size", "verbose")


class IncrementalMixin:
    """``partial_fit``, ``add_classes`` and the continued training behind ``warm_start``."""

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train one epoch on ``X, y``, from the current weights once fitted.

        As scikit-learn's ``SGDClassifier`` and ``MLPClassifier``: the first call needs
        every class in ``classes`` and builds the model (with its input standardization
        fitted on that first ``X``); later calls go on from the fitted weights and the
        optimizer's state. No stopping rule applies and no ``ConvergenceWarning`` is given.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
            Labels, all among ``classes`` (first call) or ``classes_``.
        classes : array-like of shape (n_classes,), optional
            Every class there will be; required on the first call, ignored afterwards.

        Returns
        -------
        self : EmbeddingClassifier
        """
        with all_or_nothing(self):
            if not hasattr(self, "net_"):
                if classes is None:
                    raise ValueError(
                        "classes must be passed on the first call to partial_fit (every "
                        "class there will be)."
                    )
                self._fit(X, y, classes=classes, epochs=1)
            else:
                self._train_on(X, y, epochs=1)
        if self.net_.interrupted_:
            raise KeyboardInterrupt
        return self

    def _encode_known(self, y, classes):
        """The network's column of each label; every label must be one of ``classes``."""
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        unknown = np.setdiff1d(np.unique(y), classes)
        if len(unknown):
            raise ValueError(
                f"y has labels the model was not built for: {unknown.tolist()!r}; the classes "
                f"are {classes.tolist()!r} (add_classes adds new ones)."
            )
        return np.searchsorted(classes, y)

    def _train_on(self, X, y, epochs=None):
        """Go on training the fitted network on known classes (``warm_start``,
        ``partial_fit``); the loss curve and ``n_iter_`` continue."""
        X = self._validate_X(X)
        check_consistent_length(X, y)
        columns = self._columns[self._encode_known(y, self.classes_)]
        for name in _ONGOING:
            setattr(self.net_, name, self._net_value(name))
        y_t = torch.as_tensor(columns, dtype=torch.long, device=self.net_.device)
        before = {name: getattr(self, name) for name in ("n_iter_", "loss_curve_")}
        self.net_.train(TensorDataset(self._tensor(X), y_t), columns, fresh=False, epochs=epochs)
        for name in REPORTED:
            setattr(self, name, getattr(self.net_, name))
        self.n_iter_ += before["n_iter_"]
        self.loss_curve_ = before["loss_curve_"] + self.loss_curve_
        if self.best_loss_ is not None:
            self.best_loss_ = min(self.loss_curve_)
        self.class_centers_ = self._numpy(self.net_.module_.head.centers)[self._columns]

    def add_classes(self, X, y):
        """Add new classes from a few samples each, without retraining the encoder.

        The encoder stays frozen; the technique's head places each new class from its
        samples' embeddings (imprinted weights, a mean embedding as center, or fitted
        class means, as the technique's file says). Afterwards ``classes_``,
        ``predict``, ``predict_proba``, ``decision_function`` and ``class_centers_``
        cover old and new classes. Refit to train the encoder on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the new classes only.
        y : array-like of shape (n_samples,)
            Their labels; none may be a class the estimator already knows.

        Returns
        -------
        self : EmbeddingClassifier
        """
        X = self._validate_X(X)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        new, local = np.unique(y, return_inverse=True)
        _check_label_kind(self.classes_, new)
        known = new[np.isin(new, self.classes_)]
        if len(known):
            raise ValueError(
                f"add_classes adds new classes only; already known: {known.tolist()!r}"
            )
        _, z = self.net_.infer_dataset(self._tensor(X))
        head = self.net_.module_.head
        local_t = torch.as_tensor(local, dtype=torch.long, device=self.net_.device)
        head.add_classes(z.to(self.net_.device), local_t, len(new))

        net_labels = np.concatenate([self.classes_[np.argsort(self._columns)], new])
        self._columns = np.argsort(net_labels, kind="stable")
        self.classes_ = net_labels[self._columns]
        self.class_centers_ = self._numpy(head.centers)[self._columns]
        return self


# Label kinds that mix without changing what predict returns.
_KINDS = {
    "b": "bool",
    "i": "number",
    "u": "number",
    "f": "number",
    "U": "str",
    "S": "str",
    "O": "str",
}


def _check_label_kind(classes, new):
    """Refuse new labels that would turn ``classes_`` into another type (ints into
    strings, say): ``predict`` would then silently return other labels for known classes."""
    kind = _KINDS.get(classes.dtype.kind)
    merged = _KINDS.get(np.concatenate([classes, new]).dtype.kind)
    if kind != merged:
        raise ValueError(
            f"add_classes got labels of type {new.dtype} for a model whose classes are of type "
            f"{classes.dtype}; adding them would change the type of classes_ and of what "
            "predict returns. Pass labels of the same type as classes_."
        )

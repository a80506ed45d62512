"""Labels and the network's class columns.

The estimator's ``classes_`` are sorted, as scikit-learn's are; the network's output
columns are in the order the classes came (the fitted ones, then each ``add_classes``
call's). ``columns[i]`` is the network column of ``classes_[i]``.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d


def check_label_values(y):
    """Refuse labels that scikit-learn would reject without saying which: a None, or
    labels of two kinds (numbers and strings) in one ``y``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        Naming the first such label and its index.
    """
    if y.dtype.kind != "O":
        return
    for i, label in enumerate(y):
        if label is None or (isinstance(label, float) and label != label):
            raise ValueError(
                f"y[{i}] is {label!r}: every sample needs a class label (drop the "
                "unlabelled samples before fit)."
            )
    kinds = np.array([isinstance(label, (str, bytes)) for label in y])
    if kinds.any() and not kinds.all():
        i = int(np.argmin(kinds == kinds[0]))
        raise ValueError(
            f"y mixes labels of two kinds: y[0] is {y[0]!r} ({type(y[0]).__name__}) and "
            f"y[{i}] is {y[i]!r} ({type(y[i]).__name__}); use one kind for every label."
        )


def encode_known(y, classes):
    """The index in ``classes`` of each label; every label must be one of ``classes``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    classes : ndarray of shape (n_classes,)
        Sorted.

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        Naming the labels that are not classes.
    """
    y = column_or_1d(y, warn=True)
    check_label_values(y)
    check_classification_targets(y)
    unknown = np.setdiff1d(np.unique(y), classes)
    if len(unknown):
        raise ValueError(
            f"y has labels the model was not built for: {unknown.tolist()!r}; the classes "
            f"are {classes.tolist()!r} (add_classes adds new ones)."
        )
    return np.searchsorted(classes, y)


def append_classes(classes, columns, new):
    """The classes and their columns once the network has grown a column per new class.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        Sorted.
    columns : ndarray of shape (n_classes,)
        The network column of each class.
    new : ndarray of shape (n_new,)
        Sorted new labels, none of them in ``classes``; their columns follow the others.

    Returns
    -------
    classes, columns : ndarray of shape (n_classes + n_new,)

    Raises
    ------
    ValueError
        When a label is known already, or is of another type than ``classes``.
    """
    _check_label_kind(classes, new)
    known = new[np.isin(new, classes)]
    if len(known):
        raise ValueError(f"add_classes adds new classes only; already known: {known.tolist()!r}")
    by_column = np.concatenate([classes[np.argsort(columns)], new])
    columns = np.argsort(by_column, kind="stable")
    return by_column[columns], columns


def class_weights(class_weight, classes, y, incremental=False):
    """The weight of each class, as ``compute_class_weight`` gives it, checked.

    Parameters
    ----------
    class_weight : dict, "balanced" or None
    classes : ndarray of shape (n_classes,)
        Sorted.
    y : ndarray of shape (n_samples,)
        The labels they are computed from (``"balanced"``).
    incremental : bool, default=False
        Whether ``y`` is a first ``partial_fit`` call's (named in the error).

    Returns
    -------
    ndarray of shape (n_classes,) or None
        None without ``class_weight``.

    Raises
    ------
    ValueError
        For a class the model does not have, a weight that is negative or not finite,
        and ``"balanced"`` with a class that ``y`` does not hold.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, dict):
        unknown = [c for c in class_weight if c not in set(classes.tolist())]
        if unknown:
            raise ValueError(
                f"class_weight names classes that y does not have: {unknown!r}; the classes "
                f"are {classes.tolist()!r}."
            )
        values = np.asarray(list(class_weight.values()), dtype=np.float64)
        if not np.isfinite(values).all() or (values < 0).any():
            raise ValueError(
                f"class_weight values must be finite and non-negative; got {class_weight!r}."
            )
    missing = np.setdiff1d(classes, y)
    if class_weight == "balanced" and len(missing):
        where = "the first partial_fit call's y" if incremental else "y"
        raise ValueError(
            f"class_weight='balanced' counts the classes in {where}, which has no sample "
            f"of {missing.tolist()!r}. Pass every class in that call, or a dict of weights."
        )
    return compute_class_weight(class_weight, classes=classes, y=y)


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
    """Refuse new labels that would turn ``classes`` into another type (ints into
    strings, say): ``predict`` would then silently return other labels for known classes."""
    kind = _KINDS.get(classes.dtype.kind)
    merged = _KINDS.get(np.concatenate([classes, new]).dtype.kind)
    if kind != merged:
        raise ValueError(
            f"add_classes got labels of type {new.dtype} for a model whose classes are of type "
            f"{classes.dtype}; adding them would change the type of classes_ and of what "
            "predict returns. Pass labels of the same type as classes_."
        )

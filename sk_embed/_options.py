"""Routed keyword options on the estimator: ``loss__margin``, ``optimizer__weight_decay``,
``callbacks``, ...

They are stored as attributes as they come (``__init__`` stays plain assignment), listed
by ``get_params`` so ``clone`` and ``GridSearchCV`` see them, set by ``set_params``, and
checked at fit against the net's routing table. Also :func:`all_or_nothing`, which keeps
an estimator's fitted state whole when a fit fails.
"""

from __future__ import annotations

import contextlib

from ._nn import OPTION_PREFIXES, PASS_THROUGH, is_option


def set_options(estimator, options):
    """Store routed options as attributes of ``estimator``.

    Only a name that would hide a method or a fitted attribute is refused at once; the
    rest is checked at fit (:func:`routed_options`), as scikit-learn checks every
    parameter.

    Parameters
    ----------
    estimator : BaseEstimator
    options : dict

    Raises
    ------
    TypeError
        As Python does for an unexpected keyword argument.
    """
    for key, value in options.items():
        if key.startswith("_") or key.endswith("_") or hasattr(type(estimator), key):
            raise TypeError(
                f"{type(estimator).__name__} got an unexpected keyword argument {key!r}"
            )
        setattr(estimator, key, value)


def option_names(estimator):
    """The names of the routed options ``estimator`` holds.

    Parameters
    ----------
    estimator : BaseEstimator

    Returns
    -------
    list of str
    """
    named = set(estimator._get_param_names())
    return [
        k for k in vars(estimator) if k not in named and not (k.startswith("_") or k.endswith("_"))
    ]


def routed_options(estimator):
    """The routed options of ``estimator`` as a dict, each checked to reach some part.

    Parameters
    ----------
    estimator : BaseEstimator

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        Naming every option that reaches nothing.
    """
    unknown = [k for k in option_names(estimator) if not is_option(k)]
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for "
            f"{type(estimator).__name__}; routed options start with one of "
            f"{', '.join(p + '__' for p in OPTION_PREFIXES)}, or are skorch arguments "
            f"({', '.join(sorted(PASS_THROUGH))})."
        )
    return {k: getattr(estimator, k) for k in option_names(estimator)}


def is_routed(key, param_names):
    """Whether a ``set_params`` key is a routed option rather than a constructor
    parameter (``loss__margin`` is an option, not a nested estimator's parameter).

    Parameters
    ----------
    key : str
    param_names : set of str
        The constructor's parameters.

    Returns
    -------
    bool
    """
    head, sep, _ = key.partition("__")
    return head not in param_names or bool(sep) and head in OPTION_PREFIXES


@contextlib.contextmanager
def all_or_nothing(estimator):
    """Put the estimator's attributes back as they were if the block raises anything.

    A fit that fails part-way (bad input found late, a callback's exception, an
    interrupt) then leaves the previous fitted model, or an unfitted estimator, never a
    mix of the two.

    Parameters
    ----------
    estimator : object
    """
    before = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(before)
        raise

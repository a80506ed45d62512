"""Routed keyword options on a scikit-learn estimator: ``loss__margin``,
``optimizer__weight_decay``, ``callbacks``, ...

They are stored as attributes as they come (``__init__`` stays plain assignment), listed
by ``get_params`` so ``clone`` and ``GridSearchCV`` see them, set by ``set_params``, and
checked at fit against the net's routing table (:func:`sk_embed._routing.is_option`).
Also :func:`all_or_nothing`, which keeps an estimator's fitted state whole when a fit
fails.
"""

from __future__ import annotations

import contextlib

from ._routing import OPTION_PREFIXES, PASS_THROUGH, is_option


class RoutedParamsMixin:
    """``get_params`` / ``set_params`` for a signature plus routed ``**kwargs``."""

    def _set_options(self, options):
        # Only a name that would hide a method or a fitted attribute is refused at once;
        # the rest is checked at fit, as scikit-learn checks every parameter.
        for key, value in options.items():
            if key.startswith("_") or key.endswith("_") or hasattr(type(self), key):
                raise TypeError(f"{type(self).__name__} got an unexpected keyword argument {key!r}")
            setattr(self, key, value)

    def _option_names(self):
        named = set(self._get_param_names())
        return [
            k for k in vars(self) if k not in named and not (k.startswith("_") or k.endswith("_"))
        ]

    def _routed_options(self):
        """The routed options as a dict; ValueError naming any that reaches nothing."""
        unknown = [k for k in self._option_names() if not is_option(k)]
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(map(repr, unknown))} for "
                f"{type(self).__name__}; routed options start with one of "
                f"{', '.join(p + '__' for p in OPTION_PREFIXES)}, or are skorch arguments "
                f"({', '.join(sorted(PASS_THROUGH))})."
            )
        return {k: getattr(self, k) for k in self._option_names()}

    def get_params(self, deep=True):
        """Parameters of the estimator, the routed options included.

        Parameters
        ----------
        deep : bool, default=True
            Passed to scikit-learn (there are no nested estimators).

        Returns
        -------
        dict
        """
        params = super().get_params(deep=deep)
        params.update({k: getattr(self, k) for k in self._option_names()})
        return params

    def set_params(self, **params):
        """Set parameters, routed options (``loss__margin``, ...) included.

        Parameters
        ----------
        **params
            Constructor parameters and routed options.

        Returns
        -------
        self
        """
        named = set(self._get_param_names())

        def routed(key):  # ``loss__margin`` is an option, not a nested estimator's param
            head, sep, _ = key.partition("__")
            return head not in named or bool(sep) and head in OPTION_PREFIXES

        self._set_options({k: v for k, v in params.items() if routed(k)})
        return super().set_params(**{k: v for k, v in params.items() if not routed(k)})


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

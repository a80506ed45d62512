"""The technique registry: a name -> (head class, loss class) map.

Adding a technique is adding one file that calls :func:`register`. A technique's own
options (``loss__<name>`` on the estimator) are the keyword arguments of its head's and
loss's constructors, with their defaults: there is no second list to keep. An option
both constructors take reaches both.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import MappingProxyType

from sklearn.utils._param_validation import validate_parameter_constraints

# Constructor arguments the network supplies itself; never ``loss__`` options.
STRUCTURAL = ("n_components", "n_classes")

_REGISTRY: dict[str, Technique] = {}


def declared_constraints(cls):
    """The ``_parameter_constraints`` of ``cls`` and of its bases, the nearest winning.

    Parameters
    ----------
    cls : type

    Returns
    -------
    dict
    """
    merged = {}
    for klass in reversed(cls.__mro__):
        merged.update(vars(klass).get("_parameter_constraints", {}))
    return merged


def _init_params(cls):
    return {
        name: p.default
        for name, p in inspect.signature(cls).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


@dataclass(frozen=True)
class Technique:
    """One way of shaping the embedded space.

    Parameters
    ----------
    name : str
        The registered name, the estimator's ``loss``.
    head : type
        A :class:`~sk_embed.losses.Head` subclass (embedding -> class scores).
    loss : type
        A :class:`~sk_embed.losses.Loss` subclass ((scores, z, y, head) -> scalar; with
        a ``sample_weight`` argument, it trains on weighted samples too).
    summary : str
        One line for listings.
    fixed : mapping
        Options the technique pins, e.g. ``{"normalize_weights": True}`` for the
        normalized softmax. Passing a pinned option with its pinned value is accepted;
        another value is an error.
    samples_per_class : int or None
        Default of ``iterator_train__samples_per_class``: training batches of P classes
        x K samples (pair and triplet losses need positives in every batch), or None
        for plain shuffling.
    """

    name: str
    head: type
    loss: type
    summary: str = ""
    fixed: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    samples_per_class: int | None = None

    @property
    def takes_sample_weight(self):
        """Whether the technique's loss weighs samples (its ``forward`` takes
        ``sample_weight``)."""
        return "sample_weight" in inspect.signature(self.loss.forward).parameters

    def parameters(self):
        """The technique's own options and their defaults (``loss__<name>``).

        Returns
        -------
        dict
            ``{name: default}``; an option both constructors take has the loss's default.
        """
        params = {}
        for cls in (self.loss, self.head):
            for name, default in _init_params(cls).items():
                if name not in STRUCTURAL and name not in self.fixed:
                    params.setdefault(name, default)
        return params

    def constraints(self):
        """What each of the technique's options accepts, in scikit-learn's vocabulary.

        Returns
        -------
        dict
            ``{name: [constraint, ...]}`` for every name of :meth:`parameters`, gathered
            from the head's and the loss's ``_parameter_constraints``.
        """
        declared = {**declared_constraints(self.head), **declared_constraints(self.loss)}
        return {name: declared[name] for name in self.parameters() if name in declared}

    def check_params(self, params):
        """Refuse options the technique does not have, pinned ones set otherwise, and
        values outside an option's constraints.

        Parameters
        ----------
        params : dict
            The ``loss__`` options without their prefix.

        Raises
        ------
        ValueError
            Naming the option and the technique's options.
        sklearn.utils._param_validation.InvalidParameterError
            Naming the option and what it accepts (a ``ValueError`` and a ``TypeError``).
        """
        valid = self.parameters()
        for name, value in params.items():
            if name in self.fixed and value != self.fixed[name]:
                raise ValueError(
                    f"loss={self.name!r} pins loss__{name}={self.fixed[name]!r}; got {value!r}."
                )
        unknown = sorted(set(params) - set(valid) - set(self.fixed))
        if unknown:
            raise ValueError(
                f"loss={self.name!r} has no parameter(s) "
                f"{', '.join('loss__' + k for k in unknown)}; its parameters are: "
                f"{', '.join('loss__' + k for k in valid) or 'none'}."
            )
        constraints = self.constraints()
        validate_parameter_constraints(
            {"loss__" + k: c for k, c in constraints.items()},
            {"loss__" + k: v for k, v in params.items() if k in constraints},
            caller_name=f"loss={self.name!r}",
        )

    def _make(self, cls, n_components, n_classes, params):
        self.check_params(params)
        context = {
            "n_components": n_components,
            "n_classes": n_classes,
            **self.parameters(),
            **params,
            **self.fixed,
        }
        accepted = _init_params(cls)
        return cls(**{k: v for k, v in context.items() if k in accepted})

    def build_head(self, n_components, n_classes, params=None):
        """The technique's head for these sizes and ``loss__`` options.

        Parameters
        ----------
        n_components, n_classes : int
        params : dict, optional
            The ``loss__`` options without their prefix.

        Returns
        -------
        Head
        """
        return self._make(self.head, n_components, n_classes, dict(params or {}))

    def build_loss(self, n_components, n_classes, params=None):
        """The technique's loss for these sizes and ``loss__`` options.

        Parameters
        ----------
        n_components, n_classes : int
        params : dict, optional
            The ``loss__`` options without their prefix.

        Returns
        -------
        Loss
        """
        return self._make(self.loss, n_components, n_classes, dict(params or {}))

    def build(self, n_components, n_classes, params=None):
        """Both pieces, for a training loop of one's own.

        Parameters
        ----------
        n_components, n_classes : int
        params : dict, optional
            The ``loss__`` options without their prefix.

        Returns
        -------
        head : Head
        loss : Loss
        """
        return (
            self.build_head(n_components, n_classes, params),
            self.build_loss(n_components, n_classes, params),
        )


def register(technique):
    """Add a technique to the registry.

    Parameters
    ----------
    technique : Technique
        Its name must be new.

    Returns
    -------
    Technique
        The same record.
    """
    if technique.name in _REGISTRY:
        raise ValueError(f"a technique named {technique.name!r} is already registered")
    _REGISTRY[technique.name] = technique
    return technique


def get_technique(name):
    """The registered technique called ``name``.

    Parameters
    ----------
    name : str

    Returns
    -------
    Technique

    Raises
    ------
    ValueError
        Naming the available techniques.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown loss {name!r}; available losses: {', '.join(available_losses())}"
        ) from None


def available_losses():
    """Names of the registered techniques, in registration order.

    Returns
    -------
    list of str
    """
    return list(_REGISTRY)

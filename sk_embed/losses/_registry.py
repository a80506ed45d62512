"""The technique registry: a name -> (head class, loss class) map.

Adding a technique is adding one file that calls :func:`register`. A technique's own
hyperparameters (``loss__<name>`` on the estimator) are the keyword arguments of its
head's and loss's constructors, with their defaults: there is no second list to keep.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import MappingProxyType

# Constructor arguments the estimator supplies itself; never ``loss__`` parameters.
STRUCTURAL = ("n_components", "n_classes", "normalize_weights")

_REGISTRY: dict[str, Technique] = {}


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
        A :class:`~sk_embed.losses.Loss` subclass ((scores, z, y, head) -> scalar).
    summary : str
        One line for listings.
    fixed : mapping
        Constructor arguments the technique pins whatever the estimator says, e.g.
        ``{"normalize_weights": True}`` for the normalized softmax.
    samples_per_class : int or None
        Default of ``iterator_train__samples_per_class``: training batches of P classes
        x K samples (pair and triplet losses need positives in every batch), or None
        for plain shuffling.
    log_densities : bool
        Whether the scores are class log-densities, which plots then draw as contours.
    """

    name: str
    head: type
    loss: type
    summary: str = ""
    fixed: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    samples_per_class: int | None = None
    log_densities: bool = False

    def parameters(self):
        """The technique's own hyperparameters and their defaults (``loss__<name>``).

        A parameter both constructors take (an angular technique's ``scale``) reaches
        both, with the loss's default.
        """
        params = {}
        for cls in (self.loss, self.head):
            for name, default in _init_params(cls).items():
                if name not in STRUCTURAL and name not in self.fixed:
                    params.setdefault(name, default)
        return params

    def build(self, n_components, n_classes, normalize_weights=False, params=None):
        """Construct ``(head, loss)`` for the given sizes and ``loss__`` parameters.

        Raises
        ------
        ValueError
            On a parameter the technique does not have, or ``normalize_weights=True``
            for a technique without a linear classifier.
        """
        params = dict(params or {})
        valid = self.parameters()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"loss={self.name!r} has no parameter(s) "
                f"{', '.join('loss__' + k for k in unknown)}; its parameters are: "
                f"{', '.join('loss__' + k for k in valid) or 'none'}."
            )
        context = {"n_components": n_components, "n_classes": n_classes, **valid, **params}
        if normalize_weights:
            if "normalize_weights" not in _init_params(self.head) | dict(self.fixed):
                raise ValueError(
                    f"loss={self.name!r} has no linear classifier: "
                    "normalize_weights=True does not apply to it."
                )
            context["normalize_weights"] = True
        context.update(self.fixed)

        def make(cls):
            accepted = _init_params(cls)
            return cls(**{k: v for k, v in context.items() if k in accepted})

        return make(self.head), make(self.loss)


def register(technique):
    """Add a :class:`Technique` to the registry (its name must be new); returns it."""
    if technique.name in _REGISTRY:
        raise ValueError(f"a technique named {technique.name!r} is already registered")
    _REGISTRY[technique.name] = technique
    return technique


def get_technique(name):
    """The registered :class:`Technique` called ``name``; ValueError naming the choices."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown loss {name!r}; available losses: {', '.join(available_losses())}"
        ) from None


def available_losses():
    """Names of the registered techniques, in registration order."""
    return list(_REGISTRY)

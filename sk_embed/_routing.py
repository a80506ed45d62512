"""The routing table: which estimator keyword options reach which part of the net.

``<prefix>__<name>`` reaches one part (``loss__margin`` the technique, ``backbone__*`` the
encoder, ``optimizer__*`` the optimizer, ...); skorch's own constructor arguments that
the estimator does not set itself pass through as they are.
"""

from __future__ import annotations

import inspect

from skorch import NeuralNet

# Routed options: ``<prefix>__<name>`` reaches one part of the net.
OPTION_PREFIXES = ("loss", "backbone", "optimizer", "iterator_train", "iterator_valid", "callbacks")
# skorch's constructor arguments that the estimator sets itself; the rest pass through.
_OWNED = {
    "module", "criterion", "lr", "max_epochs", "batch_size", "device", "verbose", "dataset",
    "warm_start",
}  # fmt: skip
PASS_THROUGH = (
    frozenset(inspect.signature(NeuralNet.__init__).parameters)
    - _OWNED
    - {
        "self",
        "kwargs",
    }
)


def is_option(name):
    """Whether an estimator keyword argument reaches some part of the net.

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    prefix, sep, rest = name.partition("__")
    return name in PASS_THROUGH or bool(sep and rest) and prefix in OPTION_PREFIXES

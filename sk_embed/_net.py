"""The skorch side: the torch module, the ``NeuralNet`` that trains it, and option routing.

The estimator hands the net its structural arguments (technique, backbone, sizes, seed)
and every routed option as it came (``loss__*``, ``backbone__*``, skorch's own); the net
builds the module and the criterion from them in ``initialize_module`` /
``initialize_criterion``, the way skorch builds its parts from prefixed parameters.
"""

from __future__ import annotations

import contextlib
import inspect

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch import nn

from ._data import TensorBatches, TensorDataset
from .backbones import ACTIVATIONS, build_backbone, check_backbone_output
from .losses import Loss, get_technique

# Routed options: ``<prefix>__<name>`` reaches one part of the net.
OPTION_PREFIXES = ("loss", "backbone", "optimizer", "iterator_train", "iterator_valid", "callbacks")
# skorch's constructor arguments that the estimator sets itself; the rest pass through.
_OWNED = {"module", "criterion", "lr", "max_epochs", "batch_size", "device", "verbose", "dataset"}
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


class EmbeddingModule(nn.Module):
    """encoder -> penultimate activation -> embedding ``z`` -> head -> class scores.

    ``forward`` returns ``(scores, z)``: the scores are what prediction needs, the
    embedding is what losses and ``transform`` need.

    Parameters
    ----------
    encoder : nn.Module
        Maps a batch to ``(batch, n_components)``.
    activation : nn.Module
        The penultimate activation.
    head : Head
        The technique's head.
    """

    def __init__(self, encoder, activation, head):
        super().__init__()
        self.encoder = encoder
        self.activation = activation
        self.head = head

    def embed(self, x):
        """The raw embedding ``z`` of a batch.

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        tensor of shape (n, n_components)
        """
        return self.activation(self.encoder(x))

    def forward(self, x):
        """``(scores, z)`` of a batch.

        Parameters
        ----------
        x : tensor of shape (n, ...)

        Returns
        -------
        scores : tensor of shape (n, n_classes)
        z : tensor of shape (n, n_components)
        """
        z = self.embed(x)
        return self.head(z), z


@contextlib.contextmanager
def seeded(seed, device):
    """Seed torch inside the block; the caller's global RNG state is left as it was.

    Parameters
    ----------
    seed : int
    device : str or torch.device
        Its CUDA generator is forked too.
    """
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class EmbeddingNet(NeuralNet):
    """skorch's loop for an :class:`EmbeddingModule`, with a criterion that also sees the
    embedding and the head.

    Parameters
    ----------
    technique : str
        A registered technique; ``loss__*`` options reach its head and loss.
    backbone : str, nn.Module or nn.Module subclass
        See :func:`sk_embed.backbones.build_backbone`; ``backbone__*`` options reach it.
    activation : str
        A key of ``ACTIVATIONS``.
    n_components, n_classes : int
    input_shape : tuple of int
        Shape of one sample.
    seed : int
        Seeds initialization and every random draw of training (shuffling included);
        the caller's global RNG state is left as it was.
    **kwargs
        skorch's arguments and the routed options. Defaults: Adam, no validation split,
        shuffled tensor batches (class-balanced where the technique asks for it).

    Notes
    -----
    Two per-batch costs of skorch that exceed a small model's own step are cut without
    changing what happens: the train/eval switch (a walk over every submodule) is
    skipped when the mode is already right, and callbacks are only called for the
    events they override.
    """

    prefixes_ = [*NeuralNet.prefixes_, "loss", "backbone"]

    def __init__(
        self,
        technique,
        backbone,
        activation,
        n_components,
        n_classes,
        input_shape,
        seed,
        *,
        optimizer=torch.optim.Adam,
        train_split=None,
        iterator_train=TensorBatches,
        iterator_valid=TensorBatches,
        **kwargs,
    ):
        self.technique = technique
        self.backbone = backbone
        self.activation = activation
        self.n_components = n_components
        self.n_classes = n_classes
        self.input_shape = tuple(input_shape)
        self.seed = seed
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault(
            "iterator_train__samples_per_class", get_technique(technique).samples_per_class
        )
        super().__init__(
            module=EmbeddingModule,
            criterion=Loss,
            optimizer=optimizer,
            train_split=train_split,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            **kwargs,
        )

    # -- building the parts from prefixed options --------------------------------------

    def initialize_module(self):
        """Build encoder, activation and the technique's head from ``backbone__*`` and
        ``loss__*``.

        Returns
        -------
        self
        """
        technique = get_technique(self.technique)
        encoder = build_backbone(
            self.backbone, self.input_shape, self.n_components, self.get_params_for("backbone")
        )
        check_backbone_output(encoder, torch.zeros(2, *self.input_shape), self.n_components)
        head = technique.build_head(self.n_components, self.n_classes, self.get_params_for("loss"))
        self.module_ = EmbeddingModule(encoder, ACTIVATIONS[self.activation](), head)
        return self

    def initialize_criterion(self):
        """Build the technique's loss from ``loss__*``.

        Returns
        -------
        self
        """
        technique = get_technique(self.technique)
        self.criterion_ = technique.build_loss(
            self.n_components, self.n_classes, self.get_params_for("loss")
        )
        return self

    def get_default_callbacks(self):
        """skorch's defaults (without PrintLog when silent: it formats a table row every
        epoch even when nothing is printed), then the technique's own.

        Returns
        -------
        list of (str, Callback)
        """
        defaults = super().get_default_callbacks()
        if not self.verbose:
            defaults = [(n, cb) for n, cb in defaults if n != "print_log"]
        own = [(name, cls()) for name, cls in get_technique(self.technique).callbacks]
        return defaults + own

    # -- training ------------------------------------------------------------------------

    def fit(self, X, y=None, **fit_params):
        """Train from scratch, seeded; the class positions are placed at the end.

        Parameters
        ----------
        X : TensorDataset
        y : ndarray of shape (n,)
            Encoded labels.
        **fit_params
            Passed to skorch.

        Returns
        -------
        self
        """
        with seeded(self.seed, self.device):
            self.iterator_train__generator = torch.Generator().manual_seed(self.seed)
            return super().fit(X, y, **fit_params)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """The one step after training: the head places the class positions it computes
        from the training embeddings (:meth:`~sk_embed.losses.Head.fit_points`).

        Parameters
        ----------
        net : EmbeddingNet
            This net (skorch's hook signature).
        X : TensorDataset
            The training data.
        y : ndarray of shape (n,)
            Encoded labels.
        **kwargs
            skorch's other values.
        """
        _, z = self.forward(X, training=False)
        self.module_.head.fit_points(z, torch.as_tensor(y, dtype=torch.long))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The technique's loss of ``(scores, z)`` against the labels, given the head.

        Parameters
        ----------
        y_pred : tuple
            ``(scores, z)`` from the module.
        y_true : tensor of shape (n,)
        X : tensor, optional
        training : bool

        Returns
        -------
        tensor
            A scalar.
        """
        scores, z = y_pred
        return self.criterion_(scores, z, y_true.to(scores.device), self.module_.head)

    def infer_dataset(self, X):
        """``(scores, z)`` of a whole input tensor, in eval mode, on the CPU.

        Parameters
        ----------
        X : tensor of shape (n, ...)

        Returns
        -------
        scores : tensor of shape (n, n_classes)
        z : tensor of shape (n, n_components)
        """
        return self.forward(TensorDataset(X), training=False)

    # -- skorch's per-batch overhead -------------------------------------------------------

    def _set_training(self, training=True):
        if self.module_.training != training or self.criterion_.training != training:
            super()._set_training(training)

    def initialize_callbacks(self):
        """skorch's callbacks, and an empty table of who listens to which event.

        Returns
        -------
        self
        """
        super().initialize_callbacks()
        self._listeners = {}
        return self

    def notify(self, method_name, **cb_kwargs):
        """Call the net's own hook, then only the callbacks that override it.

        Parameters
        ----------
        method_name : str
            The event, e.g. ``"on_batch_end"``.
        **cb_kwargs
            The event's values.
        """
        listeners = self._listeners.get(method_name)
        if listeners is None:
            base = getattr(Callback, method_name)
            listeners = self._listeners[method_name] = [
                cb for _, cb in self.callbacks_ if getattr(type(cb), method_name) is not base
            ]
        getattr(self, method_name)(self, **cb_kwargs)  # the net's own hook keeps history
        for cb in listeners:
            getattr(cb, method_name)(self, **cb_kwargs)

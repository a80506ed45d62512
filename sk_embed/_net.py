"""The skorch side: the torch module, the ``NeuralNet`` that trains it, and option routing.

The estimator hands the net its structural arguments (technique, backbone, sizes, seed)
and every routed option as it came (``loss__*``, ``backbone__*``, skorch's own); the net
builds the module and the criterion from them in ``initialize_module`` /
``initialize_criterion``, the way skorch builds its parts from prefixed parameters.
"""

from __future__ import annotations

import copy
import warnings
from types import SimpleNamespace

import torch
from skorch import NeuralNet
from skorch.dataset import ValidSplit

from ._data import TensorBatches, TensorDataset, _tensors
from ._fastpath import FastEventsMixin
from ._module import EmbeddingModule, seeded
from ._reserve import ReserveMixin
from ._routing import resolve_optimizer
from ._training import (
    SCHEDULES,
    DivergenceCheck,
    Standardize,
    Stopper,
    warn_collapsed,
    warn_unconverged,
)
from .backbones import ACTIVATIONS, build_backbone, check_backbone_output
from .losses import Loss, get_technique

#: What :meth:`EmbeddingNet.fit_loop` reports; the estimator copies these as its fitted
#: attributes.
REPORTED = ("n_iter_", "loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_")


class EmbeddingNet(FastEventsMixin, ReserveMixin, NeuralNet):
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
    standardize : bool, default=True
        Fit a :class:`~sk_embed._training.Standardize` layer on the training inputs.
    tol : float or None, default=1e-4
        Stop when the monitored value has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; None runs ``max_epochs`` epochs.
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Monitor the accuracy on a stratified, seeded ``validation_fraction`` of the
        training data, and restore the best epoch's weights; otherwise the training loss.
    validation_fraction : float, default=0.1
    lr_schedule : str, default="plateau"
        A key of :data:`~sk_embed._training.SCHEDULES`.
    reserve_classes : int, default=0
    reconstruction : float, default=0.0
        Forward-compatible training (:mod:`sk_embed._reserve`), in a fresh fit.
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
        standardize=True,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        lr_schedule="plateau",
        reserve_classes=0,
        reconstruction=0.0,
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
        self.standardize = standardize
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.lr_schedule = lr_schedule
        self.reserve_classes = reserve_classes
        self.reconstruction = reconstruction
        if early_stopping:
            if train_split is not None:
                raise ValueError(
                    "early_stopping=True holds out validation_fraction of the training data "
                    "itself; do not pass train_split as well."
                )
            train_split = ValidSplit(validation_fraction, stratified=True, random_state=seed)
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault(
            "iterator_train__samples_per_class", get_technique(technique).samples_per_class
        )
        super().__init__(
            module=EmbeddingModule,
            criterion=Loss,
            optimizer=resolve_optimizer(optimizer),
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
        head = technique.build_head(
            self.n_components, self.head_classes(), self.get_params_for("loss")
        )
        scaler = Standardize(self.input_shape) if self.standardize else None
        self.module_ = EmbeddingModule(encoder, ACTIVATIONS[self.activation](), head, scaler)
        self.module_.decoder = self.decoder()
        return self

    def initialize_criterion(self):
        """Build the technique's loss from ``loss__*``.

        Returns
        -------
        self
        """
        technique = get_technique(self.technique)
        self.criterion_ = technique.build_loss(
            self.n_components, self.head_classes(), self.get_params_for("loss")
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
        return self.train(X, y, fresh=True, **fit_params)

    def train(self, X, y, *, fresh, epochs=None, **fit_params):
        """Train from scratch (``fresh``) or on from the current weights, seeded.

        Going on keeps the weights, the optimizer's state and the input standardization;
        its random draws are seeded by the seed and the epochs already run, so a chain
        of calls is reproducible too.

        Parameters
        ----------
        X : TensorDataset
        y : ndarray of shape (n,)
            Encoded labels.
        fresh : bool
        epochs : int, optional
            Epochs to run at most; default ``max_epochs`` (and a warning when the
            stopping rule has not ended training by then).
        **fit_params
            Passed to skorch.

        Returns
        -------
        self
        """
        with seeded(self.seed + (0 if fresh else len(self.history)), self.device):
            if fresh:
                self.iterator_train__generator = torch.Generator().manual_seed(self.seed)
                self.initialize()
            self.continuing_ = not fresh
            self.reserving_ = fresh and bool(self.reserve_classes or self.reconstruction)
            self.partial_fit(X, y, epochs=epochs, **fit_params)
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Fit the input standardization on the training inputs.

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
        if isinstance(self.module_.scaler, Standardize) and not self.continuing_:
            self.module_.scaler.fit(X.X)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Run epochs until the stopping rule or ``epochs`` (``max_epochs``) ends it.

        The schedule sets each epoch's learning rate; the monitored value (training loss,
        or validation accuracy) goes to the :class:`~sk_embed._training.Stopper`; a
        diverged loss raises. Sets :data:`REPORTED`, ``converged_`` and ``interrupted_``
        (a ``KeyboardInterrupt`` ends the loop and is reported, not raised here); warns
        when ``epochs`` ran out first.

        Parameters
        ----------
        X : TensorDataset
        y : ndarray of shape (n,)
            Encoded labels (they stratify the validation split).
        epochs : int, optional
            Default ``max_epochs``.
        **fit_params
            Passed to the split and the steps.

        Returns
        -------
        self
        """
        fit_params.pop("_routing_method", None)  # skorch's metadata routing: unused here
        self.check_data(X, y)
        self.check_training_readiness()
        bounded, epochs = epochs is None, self.max_epochs if epochs is None else epochs
        try:
            train, valid = self.get_split_datasets(X, y, **fit_params)
        except ValueError as error:
            if not self.early_stopping:
                raise
            raise ValueError(
                f"early_stopping holds out a stratified validation_fraction="
                f"{self.validation_fraction} of the {len(X)} training samples, which fails "
                f"here: {error} Raise validation_fraction, or fit without early_stopping."
            ) from error
        run = SimpleNamespace(
            events={"dataset_train": train, "dataset_valid": valid},
            iterator=self.get_iterator(train, training=True),
            iterator_valid=None if valid is None else self.get_iterator(valid, training=False),
            stopper=Stopper(self.tol, self.n_iter_no_change, higher_is_better=valid is not None),
            schedule=SCHEDULES[self.lr_schedule](),
            fit_params=fit_params,
            losses=[],
            scores=[],
        )
        stopper, losses, scores, best_state = run.stopper, run.losses, run.scores, None
        self.interrupted_ = False
        diverged = DivergenceCheck(self.module_, f"loss={self.technique!r}")
        try:
            for epoch in range(epochs):
                lr = self._run_epoch(epoch, epochs, run)
                diverged(losses, lr)
                if valid is None:
                    stopper.update(losses[-1], epoch)
                elif stopper.update(scores[-1], epoch):
                    best_state = copy.deepcopy(self.module_.state_dict())
                if stopper.done:
                    break
        except KeyboardInterrupt:
            # Keep the epochs done (skorch would swallow the interrupt); the estimator
            # re-raises it once the model is complete, so loops and searches stop.
            self.interrupted_ = True
            warnings.warn(
                f"fit was interrupted after {len(losses)} epochs; the model trained so far "
                "is kept (usable, not converged).",
                RuntimeWarning,
                stacklevel=2,
            )
        if best_state is not None:
            self.module_.load_state_dict(best_state)
        self.n_iter_ = len(losses)
        self.loss_curve_ = losses
        self.best_loss_ = None if valid is not None else (min(losses) if losses else None)
        self.validation_scores_ = scores if valid is not None else None
        self.best_validation_score_ = stopper.best_value if scores else None
        self.converged_ = stopper.done or self.tol is None
        if bounded and not self.converged_ and epochs > 0 and not self.interrupted_:
            monitored = "validation accuracy" if valid is not None else "training loss"
            warn_unconverged(f"loss={self.technique!r}", epochs, monitored, self.tol)
        return self

    def _run_epoch(self, epoch, epochs, run):
        """One epoch of ``run`` (the loop's state): set the learning rate, train, validate,
        record the loss (and accuracy); returns the learning rate."""
        lr = run.schedule(self.lr, epoch, epochs, run.stopper.stale)
        for group in self.optimizer_.param_groups:
            group["lr"] = lr
        self.notify("on_epoch_begin", **run.events)
        self.run_single_epoch(
            run.iterator, training=True, prefix="train", step_fn=self.train_step, **run.fit_params
        )
        self.history.record("lr", lr)
        if run.iterator_valid is not None:  # skorch's valid_loss, then the monitored accuracy
            self.run_single_epoch(
                run.iterator_valid,
                training=False,
                prefix="valid",
                step_fn=self.validation_step,
                **run.fit_params,
            )
            run.scores.append(self._accuracy(*run.events.values()))
            self.history.record("valid_acc", run.scores[-1])
        self.notify("on_epoch_end", **run.events)  # skorch's scoring records train_loss
        run.losses.append(float(self.history[-1, "train_loss"]))
        return lr

    def _accuracy(self, train, valid):
        """Held-out accuracy with the class positions placed from ``train`` as at the end."""
        head = self.module_.head
        _, z = self.forward(train, training=False)
        head.fit_points(z, _tensors(train)[1].cpu())
        scores, _ = self.forward(valid, training=False)
        _, y_valid = _tensors(valid)
        known = scores[:, : self.n_classes]  # not the reserved classes
        return float((known.argmax(1) == y_valid.cpu()).float().mean())

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """The one step after training: the head places the class positions it computes
        from the training embeddings (:meth:`~sk_embed.losses.Head.fit_points`). Then a
        fit of at least ``n_iter_no_change`` epochs that learned nothing warns
        (:func:`~sk_embed._training.warn_collapsed`).

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
        if self.reserving_:
            self.release_reserve()
        y = torch.as_tensor(y, dtype=torch.long)
        head = self.module_.head
        head.fit_points(z, y)
        if not self.interrupted_:
            with torch.no_grad():
                scores = head(z.to(self.device))
            what = f"loss={self.technique!r}"
            warn_collapsed(what, self.lr, scores, y, self.n_iter_, self.n_iter_no_change)

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
        loss = self.criterion_(scores, z, y_true.to(scores.device), self.module_.head)
        if training and self.reserving_ and self.reconstruction:
            loss = loss + self.reconstruction_loss(z, X)
        return loss

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

"""The skorch net that trains an :class:`~sk_embed._nn.module.EmbeddingModule`.

The estimator hands the net its structural arguments (technique, backbone, sizes, seed)
and every routed option as it came (``loss__*``, ``backbone__*``, skorch's own); the net
builds the module and the criterion from them in ``initialize_module`` /
``initialize_criterion``, the way skorch builds its parts from prefixed parameters. Its
history is the one record of training: :class:`TrainingRecord` reads the estimator's
per-epoch attributes from it.
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import NamedTuple

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.dataset import ValidSplit
from skorch.history import History
from skorch.utils import TeeGenerator

from .._caller import warn
from .._random import FitGenerators, fit_draws, float32_with_grad, global_seed
from ..augment import AugmentedBatches, resolve_augment
from ..backbones import (
    ACTIVATIONS,
    build_backbone,
    check_backbone_output,
    load_backbone_weights,
)
from ..losses import Loss, get_technique, weighted_mean
from . import distributed
from .data import (
    SparseRows,
    TensorBatches,
    TensorDataset,
    _tensors,
    device_rows,
    training_data,
)
from .export import export_onnx
from .fast_events import FastEventsMixin
from .module import PRECISIONS, EmbeddingModule, check_precision, own_draws
from .new_classes import Guard, add_classes, clear_offsets
from .predictor import answer
from .reserve import Decoder, MixedBatches, reconstruction_error
from .routing import kernel_options, resolve_optimizer
from .training import (
    AUGMENTED_WINDOW,
    SCHEDULES,
    TAKEOFF,
    DivergenceCheck,
    Standardize,
    Stopper,
    class_neighbours,
    warn_collapsed,
    warn_unconverged,
)

# Samples per batch of the pass that fits the input standardization.
_SCAN_BATCH = 1024


class TrainingRecord(NamedTuple):
    """What a net's history says about its training, epoch by epoch, over every call
    that trained it (a fit and the calls that went on from it).

    Attributes
    ----------
    n_iter : int
        Epochs run.
    loss_curve : list of float
        The training loss of each epoch.
    best_loss : float or None
        The lowest training loss; None when a validation set was monitored.
    validation_scores : list of float or None
        The validation accuracy of each epoch, when one was monitored.
    best_validation_score : float or None
        The validation accuracy of the epoch whose weights the net kept.
    """

    n_iter: int
    loss_curve: list
    best_loss: float | None
    validation_scores: list | None
    best_validation_score: float | None

    @classmethod
    def of(cls, history):
        """Read the record from a skorch history.

        Parameters
        ----------
        history : skorch.History

        Returns
        -------
        TrainingRecord
        """
        epochs = [row for row in history if "train_loss" in row]
        losses = [float(row["train_loss"]) for row in epochs]
        if not any("valid_acc" in row for row in epochs):
            return cls(len(epochs), losses, min(losses) if losses else None, None, None)
        scores = [row["valid_acc"] for row in epochs]
        # Each call flags its best epoch so far; the last flag is the kept weights'.
        kept = [row["valid_acc"] for row in epochs if row.get("valid_acc_best")]
        return cls(len(epochs), losses, None, scores, kept[-1] if kept else max(scores))


class _WholeEpochs(NamedTuple):
    module: dict
    criterion: dict
    optimizer: dict
    scaler: dict | None
    rows: int


class EmbeddingNet(FastEventsMixin, NeuralNet):
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
        Fit a :class:`~sk_embed._nn.training.Standardize` layer on the training inputs.
    tol : float or None, default=1e-4
        An epoch improves when the monitored value beats its best by more than ``tol``;
        the stopper counts the epochs without, and the schedule (``"anneal"``) or, with
        the other schedules, ``n_iter_no_change`` of them end training. None runs
        ``max_epochs`` epochs.
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Monitor the accuracy on a stratified, seeded ``validation_fraction`` of the
        training data, and restore the best epoch's weights; otherwise the training loss.
    validation_fraction : float, default=0.1
    lr_schedule : str, default="anneal"
        A key of :data:`~sk_embed._nn.training.SCHEDULES`.
    reserve_classes : int, default=0
    reconstruction : float, default=0.0
        Forward-compatible training (:mod:`sk_embed._nn.reserve`), in a fresh fit: the
        head is built with ``reserve_classes`` extra classes and training batches come
        with mixes of two classes; a training-only decoder adds ``reconstruction`` times
        its error to the loss. Both are dropped when the fit ends.
    augment : None, str, callable or list, default=None
        Augmentation of the training batches (:mod:`sk_embed.augment`).
    precision : {"32", "bf16-mixed", "16-mixed"}, default="32"
        Mixed precision runs the encoder under autocast in that dtype; the head, the
        class positions and the loss stay float32. "16-mixed" scales the loss
        (``torch.amp.GradScaler``) and needs CUDA.
    **kwargs
        skorch's arguments and the routed options. Defaults: Adam (its fused kernel,
        :func:`~sk_embed._nn.routing.kernel_options`), no validation split, shuffled
        tensor batches (class-balanced where the technique asks for it).

    Notes
    -----
    ``fit`` trains from scratch; with skorch's ``warm_start=True`` on an initialized net
    it goes on from the current weights, the optimizer's state and the input
    standardization. Either way its random draws are seeded (by ``seed`` and the epochs
    already run), so a chain of calls is reproducible too. ``fit_loop`` takes
    ``epochs`` to bound one call (``partial_fit`` runs one).
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
        lr_schedule="anneal",
        reserve_classes=0,
        reconstruction=0.0,
        augment=None,
        precision="32",
        freeze_backbone=False,
        backbone_lr=1.0,
        start_from=None,
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
        self.augment = augment
        self.precision = precision
        self.freeze_backbone = freeze_backbone
        self.backbone_lr = backbone_lr
        self.start_from = start_from
        if early_stopping:
            if train_split is not None:
                raise ValueError(
                    "early_stopping=True holds out validation_fraction of the training data "
                    "itself; do not pass train_split as well."
                )
            train_split = ValidSplit(validation_fraction, stratified=True, random_state=seed)
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("iterator_valid__sample_weights", False)
        kwargs.setdefault(
            "iterator_train__samples_per_class", get_technique(technique).samples_per_class
        )
        optimizer = resolve_optimizer(optimizer)
        kwargs.update(kernel_options(optimizer, kwargs, kwargs.get("device", "cpu")))
        super().__init__(
            module=EmbeddingModule,
            criterion=Loss,
            optimizer=optimizer,
            train_split=train_split,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            **kwargs,
        )

    @property
    def n_head_classes(self):
        """How many classes the head is built with: the known ones and the reserved."""
        return self.n_classes + self.reserve_classes

    # -- building the parts from prefixed options --------------------------------------

    def initialize_module(self):
        """Build encoder, activation and the technique's head from ``backbone__*`` and
        ``loss__*`` (and the training-only decoder with ``reconstruction``).

        Returns
        -------
        self
        """
        technique = get_technique(self.technique)
        source = self.start_from
        if source is None:
            encoder = build_backbone(
                self.backbone, self.input_shape, self.n_components, self.get_params_for("backbone")
            )
        else:
            encoder = source.trained_encoder(self.n_components)
        check_backbone_output(encoder, torch.zeros(2, *self.input_shape), self.n_components)
        head = technique.build_head(
            self.n_components, self.n_head_classes, self.get_params_for("loss")
        )
        scaler = Standardize(self.input_shape) if self.standardize else None
        # a trained encoder keeps the input scaling it was trained with
        self._scaler_given = (
            self.standardize
            and source is not None
            and isinstance(source.module_.scaler, Standardize)
        )
        if self._scaler_given:
            scaler = copy.deepcopy(source.module_.scaler)
        self.module_ = EmbeddingModule(encoder, ACTIVATIONS[self.activation](), head, scaler)
        check_precision(self.precision, self.device)
        self.module_.autocast = PRECISIONS[self.precision]
        self._grad_scaler = torch.amp.GradScaler("cuda") if self.precision == "16-mixed" else None
        if self.reconstruction:
            self.module_.decoder = Decoder(self.n_components, self.input_shape)
        return self

    def initialize_criterion(self):
        """Build the technique's loss from ``loss__*``.

        Returns
        -------
        self
        """
        technique = get_technique(self.technique)
        self.criterion_ = technique.build_loss(
            self.n_components, self.n_head_classes, self.get_params_for("loss")
        )
        return self

    def get_default_callbacks(self):
        """skorch's defaults, without PrintLog when silent (it formats a table row every
        epoch even when nothing is printed).

        Returns
        -------
        list of (str, Callback)
        """
        defaults = super().get_default_callbacks()
        if not self.verbose:
            defaults = [(n, cb) for n, cb in defaults if n != "print_log"]
        return defaults

    def get_iterator(self, dataset, training=False):
        """skorch's iterator; training batches are augmented (with ``augment``) and,
        while a fresh fit reserves classes, come with mixed samples, so the loss and
        every callback see the same batch.

        Parameters
        ----------
        dataset : TensorDataset or Subset of one
        training : bool

        Returns
        -------
        iterable of (X, y) batches
        """
        iterator = super().get_iterator(dataset, training=training)
        iterator = distributed.shard(iterator) if training else iterator
        augment = resolve_augment(self.augment, self.input_shape) if training else None
        if augment is not None:
            iterator = AugmentedBatches(iterator, augment)
        if training and self._reserving and self.reserve_classes:
            iterator = MixedBatches(iterator, self.n_classes, self.reserve_classes)
        return distributed.whole_batches(iterator) if training else iterator

    # -- training ------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, epochs=None):
        """Train, seeded: from scratch, or on from the current state with ``warm_start``.

        Every random draw comes from generators this call owns (:mod:`sk_embed._random`),
        seeded by ``seed`` and the epochs already run, so a chain of calls is
        reproducible and fits in other threads change nothing here. Only building the
        module, and the forward pass of a module of the user's own that may draw (say,
        dropout), use torch's default generator, seeded under a process-wide lock.
        Training runs in float32 with gradients on, whatever the caller's torch defaults.
        Going on from a trained state clears the score offsets of added classes (they
        compete as they are) and trains without reserved classes. At the end the net
        keeps the samples ``add_classes`` checks on (:class:`~sk_embed._nn.new_classes.Guard`).

        Parameters
        ----------
        X : ndarray, sparse matrix, ArrayRows or DatasetRows
            The validated input.
        y : ndarray of int
            Each sample's class, as an index into the estimator's ``classes_``.
        sample_weight : ndarray of float64, optional
            Non-negative; rows of weight 0 are left out.
        epochs : int, optional
            Epochs to run at most; default ``max_epochs`` (and a warning when the
            stopping rule has not ended training by then).

        Returns
        -------
        self

        Raises
        ------
        KeyboardInterrupt
            When going on is interrupted before a whole epoch: nothing was trained.
        """
        fresh = not (self.warm_start and self.initialized_)
        seed = self.seed + (0 if fresh else len(self.history))
        with float32_with_grad():
            if fresh:
                with global_seed(self.seed, self.device):
                    self.iterator_train__generator = torch.Generator().manual_seed(self.seed)
                    self.initialize()
                    weights = self.get_params_for("backbone").get("weights")
                    if weights is not None:  # a fresh fit starts from the user's weights
                        load_backbone_weights(self.module_.encoder, weights)
                    # the draws of training go on from where building the module left
                    # torch's stream, as they would on one seeded generator
                    generators = FitGenerators(self.seed, torch.get_rng_state())
                self.class_columns_ = np.arange(self.n_classes)
            else:
                self.refresh_optimizer()
                clear_offsets(self.module_)
                generators = FitGenerators(seed)
            data = training_data(X, self.class_columns_[y], sample_weight, self.device)
            columns = data.y.cpu().numpy()
            # Forward-compatible training belongs to a fresh fit; going on trains without.
            self._continuing = not fresh
            self._reserving = fresh and bool(self.reserve_classes or self.reconstruction)
            rows = 0 if fresh else len(self.history)
            draws_globally = own_draws(self.module_)
            with (
                fit_draws(generators),
                global_seed(seed, self.device) if draws_globally else contextlib.nullcontext(),
                distributed.training(self, data),
            ):
                self.notify("on_train_begin", X=data, y=columns)
                self.fit_loop(data, columns, epochs=epochs)
                self.notify("on_train_end", X=data, y=columns)
            if self.interrupted_ and rows and len(self.history) == rows:
                raise KeyboardInterrupt  # going on, and no whole epoch done: nothing changes
            self.guard_ = Guard.keep(self, data)
        return self

    def trained_encoder(self, n_components):
        """A copy of this trained net's encoder for another model to start from, with a
        new linear layer to ``n_components`` when the embedding's width differs.

        Parameters
        ----------
        n_components : int

        Returns
        -------
        nn.Module
        """
        encoder = copy.deepcopy(self.module_.encoder)
        if n_components == self.n_components:
            return encoder
        return torch.nn.Sequential(encoder, torch.nn.Linear(self.n_components, n_components))

    def resume_from(self, fitted):
        """Take a fitted net's trained state to go on training it with this net's
        settings: copies of its module, criterion and history, the shuffling stream, and
        a new optimizer (of this net's kind and options) that carries the fitted one's
        state for every parameter that is still there. ``fitted`` is left as it was.

        Parameters
        ----------
        fitted : EmbeddingNet
            An initialized net of the same structure.

        Returns
        -------
        self
        """
        self._initialize_virtual_params()
        self._initialize_callbacks()
        with self._current_init_context("module"):
            self.module_, self.criterion_ = copy.deepcopy((fitted.module_, fitted.criterion_))
        self._grad_scaler = copy.deepcopy(fitted._grad_scaler)
        self._initialize_optimizer()
        self._carry_optimizer_state(fitted.optimizer_, dict(fitted.get_all_learnable_params()))
        self.history_ = History(copy.deepcopy(fitted.history_.to_list()))
        shuffling = torch.Generator()
        shuffling.set_state(fitted.iterator_train__generator.get_state())
        self.iterator_train__generator = shuffling
        self.validation_rows_ = getattr(fitted, "validation_rows_", None)
        self.class_columns_ = fitted.class_columns_.copy()
        self.guard_ = fitted.guard_
        self.interrupted_ = False
        self.initialized_ = True
        self.warm_start = True  # skorch's own: go on from the current state
        return self

    def refresh_optimizer(self):
        """Rebuild the optimizer when a parameter of the module was replaced (a head
        grown by ``add_classes``, cut after reserved classes, read from a file): the
        state of the parameters still there is carried over, so training covers every
        parameter the model has."""
        held = {id(p) for group in self.optimizer_.param_groups for p in group["params"]}
        if held == {id(p) for _, p in self.get_all_learnable_params()}:
            return
        optimizer, params = self.optimizer_, dict(self.get_all_learnable_params())
        self._initialize_optimizer()
        self._carry_optimizer_state(optimizer, params)

    def _carry_optimizer_state(self, optimizer, params):
        """Copy the state ``optimizer`` holds for ``params`` (name -> parameter) into
        this net's optimizer, parameter by name, where the optimizer is of the same kind
        and the shapes agree; and the rates a user's ``LRScheduler`` left in its groups
        (``lr``, ``initial_lr``), so that the schedule goes on where it was. Our own
        schedule sets the rate at every epoch."""
        if type(optimizer) is not type(self.optimizer_):
            return
        groups = self.optimizer_.param_groups
        if len(optimizer.param_groups) == len(groups):
            for group, before in zip(groups, optimizer.param_groups):
                if "initial_lr" in before:
                    group["lr"], group["initial_lr"] = before["lr"], before["initial_lr"]
        for name, param in self.get_all_learnable_params():
            before = params.get(name)
            state = optimizer.state.get(before) if before is not None else None
            if state and before.shape == param.shape:
                self.optimizer_.state[param] = copy.deepcopy(state)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Fit the input standardization on the training inputs of a fresh fit, and let a
        head that arranges its classes (:attr:`~sk_embed.losses.Head.arranges`) see how
        alike their inputs are.

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
        if self._continuing:
            return
        # One streaming pass over large batches, whatever holds the input: no float64
        # copy of it (that copy was 1.25 GB for 200,000 x 784 float32 pixels).
        options = {**self.get_params_for("iterator_valid"), "sample_weights": True}
        options["batch_size"] = max(_SCAN_BATCH, self.batch_size)
        head = self.module_.head
        if head.arranges:  # every rank holds the whole data: the same answer on each
            n_features = math.prod(self.input_shape)
            batches = TensorBatches(X, **options)
            head.arrange(class_neighbours(batches, len(X), head.n_classes, n_features))
        scaler = self.module_.scaler
        if not isinstance(scaler, Standardize) or self._scaler_given:
            return
        if isinstance(X.X, SparseRows):  # sparse rows have their own statistic
            scaler.fit(X.X, X.sample_weight)
            return
        scaler.fit_batches(TensorBatches(distributed.shard_rows(X), **options))

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Run epochs until the stopping rule or ``epochs`` (``max_epochs``) ends it.

        Each epoch: the schedule sets the learning rate, the steps run, and the history
        records the training loss (and the validation accuracy, and whether it is the
        best so far). The monitored value goes to the
        :class:`~sk_embed._nn.training.Stopper`, which ends training, unless the
        schedule ends it itself (``"anneal"``: once its tail has run out, a tail that
        the stopper's stale count or the bound began); a diverged loss raises. With a
        validation set, the best epoch's weights are restored at the end. Sets
        ``converged_`` and ``interrupted_`` (a ``KeyboardInterrupt`` ends the loop and is
        reported, not raised here); warns when ``epochs`` ran out first.

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
        # the rows early_stopping held out (add_classes checks damage on them)
        self.validation_rows_ = getattr(valid, "indices", None)
        events = {"dataset_train": train, "dataset_valid": valid}
        iterator = self.get_iterator(train, training=True)
        iterator_valid = None if valid is None else self.get_iterator(valid, training=False)
        on_loss = valid is None  # else the validation accuracy, which is never augmented
        stopper = Stopper(
            self.tol,
            self.n_iter_no_change,
            higher_is_better=not on_loss,
            window=AUGMENTED_WINDOW if on_loss and self.augment is not None else 1,
            takeoff=TAKEOFF if on_loss else None,
        )
        # A user's LRScheduler callback sets the rate: ours steps aside (the rate starts
        # at lr and is never written here), and the stopper ends training.
        own_schedule = not any(isinstance(cb, LRScheduler) for _, cb in self.callbacks_)
        schedule = SCHEDULES[self.lr_schedule if own_schedule else "constant"](
            tail=self.n_iter_no_change,
            horizon=epochs if bounded else None,
            stalls=self.tol is not None,
        )
        # A schedule with a ``done`` attribute ends training itself (an annealed tail
        # runs out); the stopper then only counts the stale epochs it watches for.
        schedule_ends = hasattr(schedule, "done")
        diverged = DivergenceCheck(self.module_, f"loss={self.technique!r}")
        losses, best_state, called_off = [], None, False
        self.interrupted_ = False
        done, kept = self._whole_epochs(), 0
        try:
            for epoch in range(epochs):
                if own_schedule:
                    lr = schedule(self.lr, epoch, epochs, stopper.stale)
                    for group in self.optimizer_.param_groups:
                        group["lr"] = lr * group.get("lr_scale", 1.0)
                else:
                    lr = self.optimizer_.param_groups[0]["lr"]
                self._freeze(len(self.history))
                self.notify("on_epoch_begin", **events)
                self.run_single_epoch(
                    iterator, training=True, prefix="train", step_fn=self.train_step, **fit_params
                )
                self.history.record("lr", lr)
                if iterator_valid is not None:  # skorch's valid_loss, the monitored accuracy
                    self.run_single_epoch(
                        iterator_valid,
                        training=False,
                        prefix="valid",
                        step_fn=self.validation_step,
                        **fit_params,
                    )
                    accuracy = distributed.agreed(self._accuracy(train, valid))
                    self.history.record("valid_acc", accuracy)
                # skorch's scoring records train_loss; a callback may end training here
                called_off = self._epoch_end(events)
                losses.append(distributed.agreed(float(self.history[-1, "train_loss"])))
                diverged(losses, lr)
                if valid is None:
                    stopper.update(losses[-1], epoch)
                else:
                    improved = stopper.update(self.history[-1, "valid_acc"], epoch)
                    self.history.record("valid_acc_best", improved)
                    if improved:
                        best_state = copy.deepcopy(self.module_.state_dict())
                if called_off or (schedule.done if schedule_ends else stopper.done):
                    break
                done, kept = self._whole_epochs(), len(losses)
        except KeyboardInterrupt:
            # Keep the whole epochs done, never part of one (skorch would swallow the
            # interrupt); the estimator re-raises it once the model is complete, so
            # loops and searches stop.
            self.interrupted_ = True
            self._back_to(done)
            del losses[kept:]
            warn(
                f"fit was interrupted after {len(losses)} epochs; the model trained so far "
                "is kept (usable, not converged).",
                RuntimeWarning,
            )
        if best_state is not None:
            self.module_.load_state_dict(best_state)
        self._epochs_run = len(losses)
        # An annealed tail that a stall began ends a converged fit; one that the bound
        # began does not.
        self.converged_ = (
            called_off or stopper.done or self.tol is None or getattr(schedule, "stalled", False)
        )
        if bounded and not self.converged_ and epochs > 0 and not self.interrupted_:
            monitored = "validation accuracy" if valid is not None else "training loss"
            warn_unconverged(f"loss={self.technique!r}", epochs, monitored, self.tol)
        return self

    def _epoch_end(self, events):
        """Notify ``on_epoch_end``; True when a callback ended training there (skorch's
        ``EarlyStopping`` does so by raising ``KeyboardInterrupt`` once its patience has
        run out: that is a stop after a whole epoch, not an interrupt)."""
        try:
            self.notify("on_epoch_end", **events)
        except KeyboardInterrupt:
            if not any(
                isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
                for _, cb in self.callbacks_
            ):
                raise
            return True
        return False

    def _freeze(self, epochs_done):
        """Hold the backbone for this epoch or train it: ``freeze_backbone`` True holds
        it always, an int N for the model's first N epochs."""
        freeze = self.freeze_backbone
        frozen = freeze if isinstance(freeze, bool) else epochs_done < freeze
        if frozen or self.module_.frozen:
            self.module_.freeze(frozen)

    def initialize_optimizer(self, triggered_directly=None):
        """skorch's optimizer; with ``backbone_lr`` other than 1, the backbone's
        parameters in a group of their own whose rate is ``backbone_lr`` times the
        others' (its ``lr_scale``, which the schedule applies).

        Parameters
        ----------
        triggered_directly : None
            skorch's deprecated argument, unused.

        Returns
        -------
        self
        """
        if self.backbone_lr == 1.0:
            return super().initialize_optimizer()
        named = list(self.get_all_learnable_params())
        args, kwargs = self.get_params_for_optimizer("optimizer", named)
        params = list(args[0])
        if params and isinstance(params[0], dict):  # skorch's groups: one, unless the user's
            if len(params) > 1:
                params = []
            else:
                params = list(params[0]["params"])
        if not params or isinstance(params[0], dict):
            raise ValueError(
                "backbone_lr puts the backbone's parameters in a group of their own; with "
                "optimizer__param_groups, give the backbone's group its rate there instead."
            )
        backbone = {id(p) for p in self.module_.backbone_parameters()}
        groups = [
            {"params": [p for p in params if id(p) not in backbone]},
            {
                "params": [p for p in params if id(p) in backbone],
                "lr": self.lr * self.backbone_lr,
                "lr_scale": self.backbone_lr,
            },
        ]
        self.optimizer_ = self.optimizer(groups, *args[1:], **kwargs)
        return self

    def _whole_epochs(self):
        """What the net is after the last whole epoch: copies of the module's, the
        criterion's, the optimizer's and the gradient scaler's states, and the history's
        length (:meth:`_back_to` returns there)."""

        def tensors(state):
            return {k: v.detach().clone() if torch.is_tensor(v) else v for k, v in state.items()}

        scaler = self._grad_scaler
        return _WholeEpochs(
            tensors(self.module_.state_dict()),
            tensors(self.criterion_.state_dict()),
            copy.deepcopy(self.optimizer_.state_dict()),
            None if scaler is None else scaler.state_dict(),
            len(self.history),
        )

    def _back_to(self, done):
        """Undo what an epoch left half done: back to ``done``."""
        self.module_.load_state_dict(done.module)
        self.criterion_.load_state_dict(done.criterion)
        self.optimizer_.load_state_dict(done.optimizer)
        if done.scaler is not None:
            self._grad_scaler.load_state_dict(done.scaler)
        del self.history[done.rows :]

    def _place_centers(self, z, y, sample_weight):
        """The head's step after training; a weighted fit passes its weights."""
        weights = {} if sample_weight is None else {"sample_weight": sample_weight.cpu()}
        self.module_.head.place_centers(z, y.cpu(), **weights)

    def _accuracy(self, train, valid):
        """Held-out accuracy (weighted, in a weighted fit) with the class positions placed
        from ``train`` as at the end."""
        _, z = self.forward(train, training=False)
        _, y_train, w_train = _tensors(train)
        self._place_centers(z, y_train, w_train)
        scores, _ = self.forward(valid, training=False)
        _, y_valid, w_valid = _tensors(valid)
        known = scores[:, : self.n_classes]  # not the reserved classes
        correct = (known.argmax(1) == y_valid.cpu()).float()
        if w_valid is None:
            return float(correct.mean())
        return float(weighted_mean(correct, w_valid.cpu()))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """The one step after training: drop what only a reserving fit uses, and let the
        head place the class positions it computes from the training embeddings
        (:meth:`~sk_embed.losses.Head.place_centers`). Then a fit of at least
        ``n_iter_no_change`` epochs that learned nothing warns
        (:func:`~sk_embed._nn.training.warn_collapsed`).

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
        distributed.synchronize(self)
        _, z = self.forward(X, training=False)
        if self._reserving:
            self.drop_reserve()
        y = torch.as_tensor(y, dtype=torch.long)
        head = self.module_.head
        self._place_centers(z, y, X.sample_weight)
        if not self.interrupted_:
            with torch.no_grad():
                scores = head(z.to(self.device))
            what = f"loss={self.technique!r}"
            warn_collapsed(what, self.lr, scores, y, self._epochs_run, self.n_iter_no_change)

    def drop_reserve(self):
        """Drop the virtual classes and the decoder: what prediction never uses."""
        self.module_.head.keep_classes(self.n_classes)
        self.module_.decoder = None
        self._reserving = False

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        """Record the whole batch's size when each rank trains on a part of it.

        Parameters
        ----------
        net : EmbeddingNet
            This net (skorch's hook signature).
        batch : Batch
        training : bool
        **kwargs
            skorch's other values.
        """
        distributed.count_batch(self, batch, training)

    def train_step_single(self, batch, **fit_params):
        """skorch's step, for batches that carry sample weights too.

        Parameters
        ----------
        batch : Batch
        **fit_params
            Passed to the module.

        Returns
        -------
        dict
            ``{"loss": loss, "y_pred": y_pred}``.
        """
        if distributed.active():  # the loss of the whole batch over the ranks
            return distributed.train_step(self, batch, **fit_params)
        self._set_training(True)
        y_pred = self.infer(batch.X, **fit_params)
        loss = self.get_loss(
            y_pred, batch.y, X=batch.X, training=True, sample_weight=batch.sample_weight
        )
        scaler = self._grad_scaler
        (loss if scaler is None else scaler.scale(loss)).backward()
        return {"loss": loss, "y_pred": y_pred}

    def train_step(self, batch, **fit_params):
        """skorch's step, then the head's :meth:`~sk_embed.losses.Head.after_step`.

        Under "16-mixed" precision the step is the gradient scaler's (gradients are
        unscaled before callbacks see them).

        Parameters
        ----------
        batch : Batch
        **fit_params
            Passed to the module.

        Returns
        -------
        dict
            ``{"loss": loss, "y_pred": y_pred}``.
        """
        if self._grad_scaler is None:
            step = super().train_step(batch, **fit_params)
        else:
            step = self._scaled_step(batch, **fit_params)
        z = step["y_pred"][1].detach()
        weight = batch.sample_weight
        self.module_.head.after_step(
            z, batch.y.to(z.device), None if weight is None else weight.to(z.device)
        )
        return step

    def _scaled_step(self, batch, **fit_params):
        """The optimizer step of "16-mixed" precision, through the gradient scaler."""
        scaler = self._grad_scaler
        self.optimizer_.zero_grad()
        step = self.train_step_single(batch, **fit_params)
        scaler.unscale_(self.optimizer_)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        scaler.step(self.optimizer_)
        scaler.update()
        return step

    def validation_step(self, batch, **fit_params):
        """skorch's validation step, for named batches.

        Parameters
        ----------
        batch : Batch
        **fit_params
            Passed to the module.

        Returns
        -------
        dict
            ``{"loss": loss, "y_pred": y_pred}``.
        """
        self._set_training(False)
        with torch.no_grad():
            y_pred = self.infer(batch.X, **fit_params)
            loss = self.get_loss(y_pred, batch.y, X=batch.X, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def evaluation_step(self, batch, training=False):
        """skorch's inference step, for named batches.

        Parameters
        ----------
        batch : Batch
        training : bool, default=False

        Returns
        -------
        tuple of tensors
            ``(scores, z)``.
        """
        self.check_is_fitted()
        with torch.set_grad_enabled(training):
            self._set_training(training)
            return self.infer(batch.X)

    def get_loss(self, y_pred, y_true, X=None, training=False, sample_weight=None):
        """The technique's loss of ``(scores, z)`` against the labels, given the head
        (plus the weighted reconstruction error while a fresh fit reconstructs).

        Parameters
        ----------
        y_pred : tuple
            ``(scores, z)`` from the module.
        y_true : tensor of shape (n,)
        X : tensor, optional
        training : bool
        sample_weight : tensor of shape (n,), optional
            The batch's sample weights, in a weighted fit.

        Returns
        -------
        tensor
            A scalar.
        """
        scores, z = y_pred
        y_true = y_true.to(scores.device)
        if sample_weight is None:  # the technique's loss as it is written, unweighted
            loss = self.criterion_(scores, z, y_true, self.module_.head)
        else:
            weight = sample_weight.to(scores.device)
            loss = self.criterion_(scores, z, y_true, self.module_.head, sample_weight=weight)
        if training and self._reserving and self.reconstruction:
            loss = loss + self.reconstruction * self.reconstruction_error(z, X, sample_weight)
        return loss

    def reconstruction_error(self, z, X, sample_weight=None):
        """The training-only decoder's error of rebuilding ``X`` from ``z`` (only while
        a fresh fit reconstructs).

        Parameters
        ----------
        z : tensor of shape (n, n_components)
        X : tensor of shape (n, *input_shape)
        sample_weight : tensor of shape (n,), optional

        Returns
        -------
        tensor
            A scalar.
        """
        return reconstruction_error(self.module_, z, X, sample_weight)

    def forward(self, X, training=False, device="cpu"):
        """skorch's ``forward``, written into outputs allocated once.

        skorch keeps every batch's outputs and concatenates them at the end; thousands
        of small tensors kept alive between each batch's large temporaries fragment the
        allocator's heap, and resident memory grows by a large share of the outputs'
        size over one pass of a large image set (docs/robustness.md). Here each batch's
        outputs are copied into their rows and freed.

        Parameters
        ----------
        X : TensorDataset or Subset of one
        training : bool, default=False
        device : str or torch.device, default="cpu"
            Where the outputs are kept.

        Returns
        -------
        tuple of tensors
            ``(scores, z)`` of every sample, in order.
        """
        outputs, start = None, 0
        for batch_out in self.forward_iter(X, training=training, device=device):
            if outputs is None:
                outputs = tuple(
                    torch.empty((len(X), *o.shape[1:]), dtype=o.dtype, device=o.device)
                    for o in batch_out
                )
            end = start + len(batch_out[0])
            for out, part in zip(outputs, batch_out):
                out[start:end] = part
            start = end
        return outputs

    def scores_and_embedding(self, X):
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

    # -- what the trained net answers ---------------------------------------------------

    def answer(self, X, output):
        """One answer for every sample of validated input ``X`` (see
        :mod:`~sk_embed._nn.predictor`), class columns in the order of the estimator's
        ``classes_``.

        Parameters
        ----------
        X : ndarray, sparse matrix, ArrayRows or DatasetRows
        output : str
            One of :data:`~sk_embed._nn.predictor.ANSWERS`.

        Returns
        -------
        ndarray
            float32 embeddings for ``"transform"``, class indices for ``"predict"``,
            float64 otherwise.
        """
        scores, z = self.scores_and_embedding(device_rows(X, self.device))
        if output == "transform":
            return answer(self.module_.head, scores, z, None, output).detach().numpy()
        columns = torch.as_tensor(self.class_columns_)
        result = answer(self.module_.head, scores.double(), z.double(), columns, output)
        return result.detach().numpy()

    def score_embedding(self, Z):
        """Class scores of points of the embedded space, in the estimator's order.

        Parameters
        ----------
        Z : ndarray of shape (n, n_components)

        Returns
        -------
        ndarray of shape (n, n_classes), float64
        """
        with torch.no_grad():
            scores = self.module_.scores(torch.tensor(Z, dtype=torch.float32, device=self.device))
        return scores.double()[:, self.class_columns_].cpu().numpy()

    def class_centers(self):
        """Where each class sits in the embedded space, in the estimator's order.

        Returns
        -------
        ndarray of shape (n_classes, n_components), float64
        """
        centers = self.module_.head.centers.detach().cpu().numpy().astype(np.float64)
        return centers[self.class_columns_]

    @property
    def scores_are_log_densities(self):
        """Whether the head's scores are class log-densities."""
        return self.module_.head.log_densities

    def add_classes(self, X, y, columns, labels, *, on_damage="limit", X_known=None):
        """Grow this net (a copy of the fitted one) by new classes; see
        :mod:`~sk_embed._nn.new_classes`.

        Parameters
        ----------
        X : ndarray, sparse matrix, ArrayRows or DatasetRows
            Validated samples of the new classes.
        y : ndarray of int
            Each sample's new class, ``0..n_new-1``.
        columns : ndarray of int
            The network column of every class in the estimator's new order.
        labels : ndarray
            The label of every class by network column, the new ones last.
        on_damage : str, default="limit"
        X_known : validated input, optional

        Returns
        -------
        self
        """
        X_known = None if X_known is None else device_rows(X_known, self.device)
        add_classes(self, device_rows(X, self.device), y, labels, on_damage, X_known)
        self.class_columns_ = np.asarray(columns, dtype=np.intp)
        return self

    def export_onnx(self, path, output):
        """Write the trained network as an ONNX model of one answer
        (:func:`~sk_embed._nn.export.export_onnx`).

        Parameters
        ----------
        path : str or path-like
        output : str

        Returns
        -------
        str
        """
        return export_onnx(self.module_, path, output, self.class_columns_, self.input_shape)

    def to_file(self):
        """What the model file holds of this trained net: JSON fields and the module's
        and the criterion's states (:meth:`restore` reads them back).

        Returns
        -------
        fields : dict
        module_state, criterion_state : dict of tensors
        """
        fields = {
            "seed": self.seed,
            "history": self.history_.to_list(),
            "columns": self.class_columns_.tolist(),
            "guard": self.guard_.to_file(),
        }
        return fields, self.module_.state_dict(), self.criterion_.state_dict()

    def restore(self, fields, module_state, criterion_state):
        """Rebuild a trained net from what :meth:`to_file` gave (the estimator's ``load``).

        Parameters
        ----------
        fields : dict
        module_state, criterion_state : dict of tensors
            State dicts of the trained module and criterion.

        Returns
        -------
        self
        """
        with float32_with_grad(), global_seed(self.seed, self.device):
            self.initialize()
        self.drop_reserve()  # it was built with what training alone uses
        self.module_.load_state_dict(module_state)
        self.refresh_optimizer()  # over the parameters the head has now
        self.criterion_.load_state_dict(criterion_state)
        history = fields["history"]
        self.history_ = History(history)
        self.class_columns_ = np.array(fields["columns"], dtype=np.intp)
        self.guard_ = Guard.from_file(fields["guard"])
        # shuffling goes on seeded, as after the epochs the file's history records
        self.iterator_train__generator = torch.Generator().manual_seed(self.seed + len(history))
        self.interrupted_ = False
        return self

"""``EmbeddingClassifier``: the scikit-learn surface of sk-embed.

One class holds what a scikit-learn user meets: the parameters and their constraints,
validation, the one training path that ``fit``, ``partial_fit`` and ``warm_start`` take,
``add_classes``, the predict side and the model file. The network and its training loop
are the torch side (:mod:`sk_embed._nn`, reached through its entry points only); what
differs between techniques lives in ``sk_embed/losses/``; the label-to-column encoding,
the routed options and the file format are plain helpers beside this file.
"""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from torch import nn
from torch.utils.data import Dataset as TorchDataset

from . import _persistence
from ._labels import append_classes, check_label_values, class_weights, encode_known
from ._nn import (
    ON_DAMAGE,
    OUTPUTS,
    PRECISIONS,
    SCHEDULES,
    DatasetRows,
    EmbeddingNet,
    TrainingRecord,
    agreed,
    check_device,
    check_precision,
    data_parallel,
    input_rows,
    validation_options,
    write_once,
)
from ._options import all_or_nothing, is_routed, option_names, routed_options, set_options
from ._random import float32_with_grad
from .backbones import ACTIVATIONS, BACKBONE_NAMES, default_lr, get_backbone
from .losses import get_technique

# The estimator's parameters that the net takes as they are, and those of them that may
# change between calls that go on training (warm_start, partial_fit).
_NET_PARAMS = (
    "backbone", "activation", "standardize", "tol", "n_iter_no_change", "early_stopping",
    "validation_fraction", "lr_schedule", "lr", "max_epochs", "batch_size", "device", "verbose",
    "reserve_classes", "reconstruction", "augment", "precision", "freeze_backbone",
    "backbone_lr",
)  # fmt: skip
# The parameters that shape the fitted model: changing one of them and then going on
# training (warm_start, partial_fit) or adding classes is refused, since the model was
# built by the old value. Every other parameter may change between such calls and takes
# effect there; routed options are structural by prefix (STRUCTURAL_PREFIXES).
STRUCTURAL = (
    "loss", "n_components", "backbone", "activation", "standardize",
    "reserve_classes", "reconstruction", "precision", "class_weight", "device",
)  # fmt: skip
STRUCTURAL_PREFIXES = ("loss__", "backbone__")
# The constructor's parameters that take effect when training goes on (every routed
# option outside STRUCTURAL_PREFIXES too: optimizer, callbacks, iterator_train__*, ...).
GOES_ON = (
    "max_epochs", "tol", "n_iter_no_change", "early_stopping", "validation_fraction",
    "batch_size", "lr", "lr_schedule", "warm_start", "augment", "random_state", "verbose",
    "freeze_backbone", "backbone_lr",
)  # fmt: skip


def _same(a, b):
    """Whether two parameter values are the same (arrays by value, objects by identity
    unless they compare equal)."""
    if a is b:
        return True
    try:
        return (
            bool(np.array_equal(a, b))
            if hasattr(a, "shape") or hasattr(b, "shape")
            else bool(a == b)
        )
    except Exception:  # values that cannot be compared are different
        return False


class EmbeddingClassifier(
    ClassifierMixin, TransformerMixin, ClassNamePrefixFeaturesOutMixin, BaseEstimator
):
    """A deep classifier whose embedded space is designed by the chosen technique.

    The network is ``backbone -> activation -> z (n_components) -> head -> scores``; the
    technique (``loss``) decides the head and the training objective, and so the
    geometry of the embedded space. ``transform`` returns the embedding, ``predict``
    the class, ``score_samples`` how much a sample looks like some known class, and
    ``add_classes`` places new classes in the trained space. It is a scikit-learn
    classifier and transformer: it goes in a ``sklearn.pipeline.Pipeline``, a
    ``sklearn.model_selection.GridSearchCV`` or ``sklearn.model_selection.cross_val_score``;
    skorch (``skorch.NeuralNet``) trains the PyTorch network.

    The parameters below come in groups: what the embedded space is (``loss`` to
    ``activation``); how it is trained (``max_epochs`` to ``verbose``); an encoder
    that is already trained (``freeze_backbone``, ``backbone_lr``); room for classes
    to come (``reserve_classes``, ``reconstruction``); the data (``standardize``,
    ``augment``, ``class_weight``); and the device (``device``, ``precision``).

    Parameters
    ----------
    loss : str, default="softmax"
        The technique that shapes the embedded space (docs/techniques.md describes
        each; docs/choosing.md says which to take for what):

        - the softmax family, classes as directions from the origin: ``"softmax"``,
          ``"normalized_softmax"`` (unit class weights, no bias) and
          ``"virtual_softmax"`` (a virtual negative class pushes the real ones apart);
        - angular margins, classes as arcs of the unit sphere kept apart by a margin:
          ``"cosface"``, ``"arcface"``, ``"sphereface"``;
        - ``"center"``: softmax plus a pull toward learned class centers (tight
          clusters);
        - metric losses on pairs and triplets of samples: ``"contrastive"``,
          ``"triplet"``;
        - ``"regression"``: each class regressed onto a fixed target point;
        - ``"soc"``: self-organizing class embeddings, each class a Gaussian whose
          mean is learned (class log-densities as scores).

        :func:`sk_embed.available_losses` lists the registered names with their
        options. A technique's own hyperparameters are ``loss__<name>`` keyword
        arguments (e.g. ``loss__margin``), set in the constructor, by ``set_params``,
        or searched by ``sklearn.model_selection.GridSearchCV``.
    n_components : int, default=2
        Dimension of the embedded space: 2 or 3 to draw it, more for accuracy,
        retrieval and open-set scores (docs/choosing.md).
    backbone : str, nn.Module, nn.Module subclass or fitted EmbeddingClassifier, default="mlp"
        The encoder. ``"mlp"`` takes rows of features (hidden widths:
        ``backbone__hidden_sizes``, default ``(256, 128)``); ``"cnn"`` is Scholl 2024's
        Conv32-Pool-Conv64-Pool-Conv128-FC256-FC(n_components), with dropout 0.5 before
        the last layer (``backbone__dropout``), for images ``(n, H, W)``
        or ``(n, C, H, W)``, or flat rows with ``backbone__input_shape``; ``"resnet18"``
        is the ResNet-18 of the self-organizing class embeddings paper, written with
        ``torch.nn`` (3x3 stem for images up to 64 pixels, ImageNet's above;
        ``backbone__stem``); ``"timm:<model>"`` and ``"torchvision:<model>"`` take a
        library's model without its classifier, where timm or torchvision is installed
        (``backbone__pretrained=True`` lets the library fetch its weights). A
        ``torch.nn.Module`` instance (deep-copied at fit) or class (built with the
        ``backbone__*`` arguments) must map a batch to ``(batch, n_components)``.
        ``backbone__weights=<path>`` starts a fresh fit from a local state dict of the
        encoder. A fitted ``EmbeddingClassifier`` (or one in
        ``sklearn.frozen.FrozenEstimator``, which searches keep fitted) gives a copy of
        its trained encoder, with a new linear layer to ``n_components`` when the widths
        differ, and its input standardization (with ``standardize=True``); its head,
        optimizer and history are not carried over, and it is left as it was. Such a
        model cannot be written by ``save`` (pickle it). docs/images.md and
        docs/transfer.md show each kind.
    activation : {"linear", "relu", "sigmoid", "selu"}, default="linear"
        Activation of the embedding layer, right before the head. Linear gives the most
        informative space.
    max_epochs : int, default=200
        Upper bound on the passes over the training data; training usually stops
        earlier, see ``tol``. As ``max_iter`` of ``sklearn.neural_network.MLPClassifier``,
        a ``sklearn.exceptions.ConvergenceWarning`` says when the bound came first.
    tol : float or None, default=1e-4
        An epoch improves when the training loss (or, with ``early_stopping``, the
        validation accuracy) beats its best by more than ``tol``. With the default
        ``lr_schedule="anneal"``, training ends once the rate has been annealed over
        ``n_iter_no_change`` epochs after 2 epochs without improvement; with the other
        schedules, after ``n_iter_no_change`` consecutive epochs without improvement.
        The training loss is read as a trend: with ``augment``, an epoch improves when
        the mean loss of the last 3 epochs does (an augmented batch's loss moves up
        and down while it falls); and no epoch counts against it before the loss has
        fallen 10% below its first epoch's (for at most ``n_iter_no_change`` epochs).
        None trains for ``max_epochs`` epochs.
    n_iter_no_change : int, default=10
        With ``lr_schedule="anneal"``, the epochs of annealing that end training; with
        the other schedules, the epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data (seeded by
        ``random_state``), stop on its accuracy, and keep the weights of the best epoch.
        A skorch ``train_split`` of your own is monitored the same way.
    validation_fraction : float, default=0.1
        The held-out fraction with ``early_stopping``.
    batch_size : int, default=64
        Samples per training step (and per prediction batch).
    lr : float or None, default=None
        Initial learning rate of the optimizer (``torch.optim.Adam`` unless
        ``optimizer`` is given; it runs its fused kernel where torch has one, unless
        ``optimizer__fused`` or ``optimizer__foreach`` says otherwise).
        None is the backbone's own, measured on rows and on images: 1e-2 for the
        ``"mlp"``, 1e-3 for the ``"cnn"``, ``"resnet18"`` and modules of your own
        (docs/robustness.md).
    lr_schedule : {"anneal", "plateau", "cosine", "constant"}, default="anneal"
        ``"anneal"`` holds the learning rate until the monitored value has not improved
        (by ``tol``) for 2 epochs, then anneals it to 0 along a half cosine over
        ``n_iter_no_change`` epochs, and training ends there; a fit that ``max_epochs``
        bounds first (or any fit with ``tol=None``) anneals over its last
        ``n_iter_no_change`` epochs. ``"plateau"`` divides the rate by 10 after every 3
        epochs without improvement and leaves the end to ``tol``; ``"cosine"`` anneals it
        to 0 over ``max_epochs``; ``"constant"`` leaves it to the optimizer (and to your
        own schedule in ``callbacks``).
    warm_start : bool, default=False
        When fitted already, ``fit`` goes on training from the fitted weights (and the
        input standardization) instead of starting again; ``y`` must hold known classes.
        ``n_iter_`` and ``loss_curve_`` continue. See also ``partial_fit``. Training
        settings changed since (``lr``, ``max_epochs``, ``batch_size``, ``augment``,
        ``callbacks``, ``optimizer__*``, ...) take effect; a change of what shapes the
        model (``loss`` and ``loss__*``, ``n_components``, ``backbone`` and
        ``backbone__*``, ``activation``, ``standardize``, ``precision``,
        ``reserve_classes``, ``reconstruction``, ``class_weight``, ``device``) is a
        ``ValueError``: refit for it. A call that fails leaves the model as it was.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling and everything random in training; two
        fits with the same integer give identical embeddings on CPU. The caller's
        global torch RNG state is left as it was.
    verbose : int, default=0
        Print skorch's per-epoch table when positive.
    freeze_backbone : bool or int, default=False
        Hold the backbone (the encoder up to its last linear layer to the embedding) as
        it is: its parameters are not trained and its layers stay in eval mode
        (BatchNorm statistics, dropout); that last layer and the head train. True holds
        it for good; an int N for the model's first N epochs (counted over
        ``partial_fit`` and warm starts too), then trains it. For an encoder that
        starts from weights of its own (``backbone__weights``, a fitted model's);
        docs/transfer.md.
    backbone_lr : float, default=1.0
        The backbone's learning rate as a multiple of ``lr`` (its parameters get an
        optimizer parameter group of their own), e.g. 0.1 to fine-tune a trained
        encoder gently while the head learns at ``lr``.
    reserve_classes : int, default=0
        Room for classes to come (``add_classes``): train with this many virtual classes
        that mixes of two known classes belong to, dropped after training
        (docs/open_set.md). 0 is off.
    reconstruction : float, default=0.0
        Weight of a training-only decoder's reconstruction of the input, so the embedding
        keeps what new classes may need (docs/open_set.md). 0 is off.
    standardize : bool, default=True
        Standardize the input inside the network with statistics fitted on the training
        data: per feature for rows, per channel for images; constant features are only
        centered. Sparse rows are not centered (zeros stay zeros) and are divided by
        one common scale, their root-mean-square norm. The fitted model then works in
        the input's own units (``transform``, ``predict``, pickles and GPU included).
        False feeds the input as it is, e.g. after your own
        ``sklearn.preprocessing.StandardScaler`` in a ``Pipeline``.
    augment : str, callable, list of them, or None, default=None
        Augmentation of the training batches, never of prediction: a name of
        :data:`sk_embed.augment.AUGMENTATIONS` (``"shift"``: a random translation of up
        to 1/8 of the side; ``"flip"``: a horizontal flip), a callable that takes a
        batch tensor on the training device (in the input's shape and units) and
        returns one of the same shape and dtype, or a list of both, applied in order.
        Seeded by ``random_state``. docs/images.md shows it on images.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the training objective, as in
        ``sklearn.linear_model.LogisticRegression``: ``{class: weight}`` (classes left
        out weigh 1), or ``"balanced"``, ``n_samples / (n_classes * np.bincount(y))``.
        They multiply ``sample_weight``. They are computed once, by the fit that builds
        the model (for ``"balanced"``: from its ``y``, which for ``partial_fit`` is the
        first call's, and must then hold every class); ``partial_fit`` and
        ``warm_start`` go on with them. docs/weights.md measures them.
    device : str or torch.device, default="cpu"
        Where the network trains and predicts, e.g. ``"cuda"`` (a ``torch.device`` or
        its name). docs/performance.md gives the times.
    precision : {"32", "bf16-mixed", "16-mixed"}, default="32"
        Mixed precision: the encoder runs under ``torch.autocast`` in bfloat16 or
        float16; the head, the class positions and the loss stay float32. ``"16-mixed"``
        scales the loss with a ``torch.amp.GradScaler`` and needs CUDA;
        ``"bf16-mixed"`` also runs on CPUs.
    **kwargs
        ``loss__<name>`` (the technique's hyperparameters), ``backbone__<name>``, and
        the keyword arguments of ``skorch.NeuralNet`` that pass through: ``optimizer``
        (a ``torch.optim.Optimizer`` class), ``optimizer__*``, ``callbacks`` (skorch
        callbacks, ``skorch.callbacks.Callback``), ``train_split`` (no validation split
        by default), ``iterator_train__*``, ...

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the order of the columns of ``predict_proba``.
    n_features_in_ : int
        Number of features (``X.shape[1]``) seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when X was a DataFrame with string column names.
    input_shape_ : tuple of int
        Shape of one training sample (``X.shape[1:]``).
    class_centers_ : ndarray of shape (n_classes, n_components)
        Where each class sits in the embedded space, as the technique's head defines it:
        classifier directions, learned centers, Gaussian means, fixed targets, or mean
        training embeddings (softmax, contrastive, triplet).
    scores_are_log_densities_ : bool
        Whether ``decision_function`` gives class log-densities (``soc``).
    net_ : skorch.NeuralNet
        The trained network (an :class:`~sk_embed._nn.net.EmbeddingNet`, a skorch
        ``NeuralNet``); its ``module_`` is the torch module.
    history_ : skorch.History
        skorch's per-epoch training history.
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        The training loss of each epoch.
    best_loss_ : float or None
        The lowest training loss; None with ``early_stopping``.
    validation_scores_ : list of float or None
        The validation accuracy of each epoch with ``early_stopping``, else None.
    best_validation_score_ : float or None
        The best validation accuracy (its epoch's weights are kept), else None.

    See Also
    --------
    OpenSetClassifier : Answers "unknown" below a threshold on ``score_samples``,
        calibrated on held-out known samples.
    available_losses : The techniques' names.
    sk_embed.metrics.embedding_scores : Every score of an embedded space in one call.
    sk_embed.plotting.plot_embedding : Draws the embedded space.
    sklearn.neural_network.MLPClassifier : scikit-learn's neural classifier (labels
        only, no designed space).
    sklearn.neighbors.NeighborhoodComponentsAnalysis : A linear embedding learned from
        labels.
    skorch.NeuralNetClassifier : skorch's wrapper of a PyTorch classifier, whose
        keyword arguments pass through here.

    Notes
    -----
    The user guide, by topic: a first fit in docs/getting_started.md; the techniques in
    docs/techniques.md; images and Datasets in docs/images.md; sample and class weights
    and sparse rows in docs/weights.md; an encoder one already has in
    docs/transfer.md; ``score_samples``, ``add_classes`` and ``reserve_classes`` in
    docs/open_set.md; ``kneighbors`` in docs/retrieval.md; data larger than memory and
    several processes in docs/scaling.md. How the training defaults were chosen:
    docs/robustness.md.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_embed import EmbeddingClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = EmbeddingClassifier(n_components=2, random_state=0).fit(X, y)
    >>> clf.transform(X[:3]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        "loss": [str],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "backbone": [BACKBONE_NAMES, nn.Module, type, HasMethods(["fit", "transform"])],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "standardize": ["boolean"],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, np.inf, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, np.inf, closed="neither"), None],
        "lr_schedule": [StrOptions(set(SCHEDULES))],
        "warm_start": ["boolean"],
        "reserve_classes": [Interval(Integral, 0, None, closed="left")],
        "reconstruction": [Interval(Real, 0, np.inf, closed="left")],
        "augment": [str, callable, list, tuple, None],
        "precision": [StrOptions(set(PRECISIONS))],
        "freeze_backbone": ["boolean", Interval(Integral, 0, None, closed="left")],
        "backbone_lr": [Interval(Real, 0, np.inf, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        loss="softmax",
        n_components=2,
        *,
        backbone="mlp",
        activation="linear",
        standardize=True,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        batch_size=64,
        lr=None,
        lr_schedule="anneal",
        warm_start=False,
        reserve_classes=0,
        reconstruction=0.0,
        augment=None,
        precision="32",
        freeze_backbone=False,
        backbone_lr=1.0,
        class_weight=None,
        random_state=None,
        device="cpu",
        verbose=0,
        **kwargs,
    ):
        self.loss = loss
        self.n_components = n_components
        self.backbone = backbone
        self.activation = activation
        self.standardize = standardize
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.warm_start = warm_start
        self.reserve_classes = reserve_classes
        self.reconstruction = reconstruction
        self.augment = augment
        self.precision = precision
        self.freeze_backbone = freeze_backbone
        self.backbone_lr = backbone_lr
        self.class_weight = class_weight
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        set_options(self, kwargs)

    # -- parameters --------------------------------------------------------------------

    def get_params(self, deep=True):
        """Parameters of the estimator, the routed options (``loss__margin``, ...)
        included.

        Parameters
        ----------
        deep : bool, default=True
            Passed to scikit-learn (there are no nested estimators).

        Returns
        -------
        params : dict
        """
        # a fitted model as backbone is a value, not a nested estimator to tune
        params = super().get_params(deep=False)
        params.update({k: getattr(self, k) for k in option_names(self)})
        return params

    def set_params(self, **params):
        """Set parameters, routed options (``loss__margin``, ...) included.

        Parameters
        ----------
        **params
            Constructor parameters and routed options.

        Returns
        -------
        self : EmbeddingClassifier
        """
        named = set(self._get_param_names())
        set_options(self, {k: v for k, v in params.items() if is_routed(k, named)})
        return super().set_params(**{k: v for k, v in params.items() if not is_routed(k, named)})

    def _net_options(self):
        """The routed options, checked."""
        return routed_options(self)

    def _net_value(self, name):
        """What the net gets for the estimator's parameter ``name``: its value, with
        ``lr=None`` resolved to the backbone's own learning rate."""
        value = getattr(self, name)
        if name == "lr" and value is None:
            source = self._source_model()
            return default_lr(self.backbone if source is None else source.backbone)
        return value

    def _new_net(self, n_classes, seed, options):
        """An untrained net for this estimator's parameters (fit, and load)."""
        source = self._source_model()
        if source is not None and tuple(source.input_shape_) != tuple(self.input_shape_):
            raise ValueError(
                f"backbone is a model fitted on samples of shape {tuple(source.input_shape_)}; "
                f"X has samples of shape {tuple(self.input_shape_)}. Its encoder takes its "
                "own input only."
            )
        values = {name: self._net_value(name) for name in _NET_PARAMS}
        if source is not None:
            values["backbone"] = None
        return EmbeddingNet(
            technique=self.loss,
            n_components=self.n_components,
            n_classes=n_classes,
            input_shape=self.input_shape_,
            seed=seed,
            start_from=None if source is None else source.net_,
            **values,
            **options,
        )

    def _source_model(self):
        """The fitted model ``backbone`` names (itself, or inside a ``FrozenEstimator``),
        or None when ``backbone`` is no model."""
        backbone = getattr(self.backbone, "estimator", self.backbone)  # FrozenEstimator
        if not isinstance(backbone, EmbeddingClassifier):
            return None
        if not hasattr(backbone, "net_"):
            raise ValueError(
                "backbone is an EmbeddingClassifier that is not fitted. Fit it first; in a "
                "search or cross-validation, which clone their estimator's parameters (an "
                "unfitted copy), wrap it: backbone=sklearn.frozen.FrozenEstimator(model)."
            )
        return backbone

    # -- data --------------------------------------------------------------------------

    def _validate_data_options(self, X):
        """``validate_data``'s options (the data path's), with sparse rows refused with a
        clear error for image backbones."""
        backbone = get_backbone(self.backbone) if isinstance(self.backbone, str) else None
        if sp.issparse(X) and backbone is not None and backbone.images:
            raise TypeError(
                f"backbone={self.backbone!r} takes dense images; sparse input works with "
                "row backbones (the mlp, or a module of your own on rows). Pass "
                "X.toarray()."
            )
        return validation_options(X)

    def _validate(self, X, y=None, *, reset):
        """Validate ``X`` (and ``y``, when given) for a fit (``reset``) or a fitted model.

        Returns ``X`` as the net's data path takes it: an in-memory float array, a sparse
        matrix, or rows kept where the user holds them (an array of another dtype, a
        memory map, a torch ``Dataset``), and ``y``.
        """
        if isinstance(X, TorchDataset):
            rows = DatasetRows(X, "cpu")
            if not reset:
                self._check_sample_shape(rows.sample_shape)
            else:
                self.n_features_in_ = rows.sample_shape[0] if rows.sample_shape else 1
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            return rows, y
        shape = getattr(X, "shape", None)  # images: say so before counting "features"
        if (
            not reset
            and shape is not None
            and len(shape) > 1
            and max(len(shape) - 1, len(self.input_shape_)) > 1
        ):
            self._check_sample_shape(tuple(shape[1:]))
        if y is None:
            X_valid = validate_data(self, X, reset=reset, **self._validate_data_options(X))
        else:
            X_valid, y = validate_data(self, X, y, reset=reset, **self._validate_data_options(X))
        if not reset:
            self._check_sample_shape(X_valid.shape[1:])
        return input_rows(X, X_valid), y

    def _fitted_input(self, X):
        check_is_fitted(self)
        return self._validate(X, reset=False)[0]

    def _targets(self, X, y):
        """``y``, or the labels the items of a ``Dataset`` carry when ``y`` is None."""
        if y is None and isinstance(X, DatasetRows):
            y = X.labels()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None "
                "(only a torch Dataset whose items are (sample, label) pairs carries its "
                "labels)."
            )
        y = column_or_1d(y, warn=True)
        check_label_values(y)
        if len(y) != X.shape[0]:
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: y has "
                f"{len(y)} labels but X has {X.shape[0]} samples; they must be aligned "
                "(for a torchvision dataset, pass dataset.targets)."
            )
        return y

    def _check_sample_shape(self, shape):
        if shape != self.input_shape_:
            images = " (images: pass the same height, width and channels)" * (len(shape) > 1)
            raise ValueError(
                f"X has samples of shape {shape}, but {type(self).__name__} "
                f"was fitted on samples of shape {self.input_shape_}{images}."
            )

    # -- training ----------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train the network on ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), or torch Dataset
            Training inputs: rows of features ``(n_samples, n_features)``, or images
            ``(n_samples, H, W)`` or ``(n_samples, C, H, W)`` for image backbones;
            standardized inside the network unless ``standardize=False``. In-memory
            float arrays are copied once to float32 on the device. Arrays of any other
            numeric dtype (``uint8`` images), NumPy memory maps, sparse rows and a
            ``torch.utils.data.Dataset`` (items: a sample, or a ``(sample, label)``
            pair) stay where they are; each batch is made float32 on the device when it
            is taken, and the ``iterator_train__*`` / ``iterator_valid__*`` DataLoader
            options (``num_workers``, ``pin_memory``) apply to them.
        y : array-like of shape (n_samples,), or None
            Class labels of any hashable type; at least two classes. None only for a
            Dataset whose items carry their labels (they are read once).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights of the samples: in the training objective of every
            technique (a pair or triplet weighs the product of its samples' weights), the
            standardization statistics, the class positions placed after training and the
            early-stopping accuracy. They multiply the ``class_weight``. Rows of weight
            0 take no part in training: they are left out before the batches are drawn.

        Returns
        -------
        self : EmbeddingClassifier
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None, sample_weight=None):
        """Train one epoch on ``X, y``, from the current weights once fitted.

        As scikit-learn's ``SGDClassifier`` and ``MLPClassifier``: the first call needs
        every class in ``classes`` and builds the model (with its input standardization
        fitted on that first ``X``); later calls go on from the fitted weights and the
        optimizer's state. No stopping rule applies and no ``ConvergenceWarning`` is given;
        with ``lr_schedule`` ``"anneal"`` or ``"plateau"`` each step runs at ``lr`` (lower it
        yourself between calls to anneal).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), or torch Dataset
            As in :meth:`fit`.
        y : array-like of shape (n_samples,), or None
            Labels, all among ``classes`` (first call) or ``classes_``; None for a
            Dataset whose items carry them.
        classes : array-like of shape (n_classes,), optional
            Every class there will be; required on the first call, ignored afterwards.
        sample_weight : array-like of shape (n_samples,), optional
            As in :meth:`fit`.

        Returns
        -------
        self : EmbeddingClassifier
        """
        return self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)

    def _fit(self, X, y, *, incremental, classes=None, sample_weight=None):
        """The one training path. A fresh fit builds the model; ``partial_fit``
        (``incremental``, one epoch) and ``fit`` with ``warm_start`` go on training a
        fitted one on labels of known classes, its history continuing. The estimator is
        left as it was if anything fails, and an interrupt is raised once the epochs done
        are kept."""
        with data_parallel(self.device), all_or_nothing(self):
            if hasattr(self, "net_") and (incremental or self.warm_start):
                X = self._fitted_input(X)
                known = encode_known(self._targets(X, y), self.classes_)
                # a new net with today's parameters, holding a copy of the trained state:
                # the fitted net stays as it was until this call has succeeded
                self.net_ = self._next_net()
            else:
                X, known = self._build(X, y, incremental, classes)
            weights = self._training_weights(X, known, sample_weight)
            self.net_.fit(X, known, sample_weight=weights, epochs=1 if incremental else None)
        if self.net_.interrupted_:  # the epochs done are kept (the net warned): stop loops
            raise KeyboardInterrupt
        return self

    def _seed(self):
        """The seed of a net, drawn from ``random_state`` as scikit-learn does."""
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        return agreed(seed)  # rank 0's, in a data-parallel fit

    def _structure(self):
        """The structural parameters as they are now (see ``STRUCTURAL``)."""
        params = self.get_params(deep=False)
        return {
            k: v for k, v in params.items() if k in STRUCTURAL or k.startswith(STRUCTURAL_PREFIXES)
        }

    def _check_structure(self, action):
        """Refuse ``action`` on a fitted model whose structural parameters have changed
        since it was built."""
        now, built = self._structure(), self._built_with
        changed = sorted(
            k for k in now.keys() | built.keys() if not _same(now.get(k), built.get(k))
        )
        if changed:
            name = changed[0]
            raise ValueError(
                f"{name} was changed from {built.get(name)!r} to {now.get(name)!r} after the "
                f"model was fitted; it shapes the model, so the model cannot {action} with "
                f"it. Refit (fit with warm_start=False), or set {name} back"
                + (f" (also changed: {', '.join(changed[1:])})." if changed[1:] else ".")
            )

    def _next_net(self, action="go on training"):
        """A new net with today's parameters, holding a copy of the fitted net's trained
        state (the fitted net is left as it was)."""
        self._check_structure(action)
        net = self._new_net(len(self.classes_), self._seed(), self._net_options())
        return net.resume_from(self.net_)

    def _build(self, X, y, incremental, classes):
        """Validate a fresh fit's data and build its untrained model; returns the
        validated ``X`` and each label's index in ``classes_``."""
        if incremental and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit (every class "
                "there will be)."
            )
        get_technique(self.loss)
        check_device(self.device)
        check_precision(self.precision, self.device)
        options = self._net_options()
        X, y = self._validate(X, y, reset=True)
        y = self._targets(X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y if classes is None else column_or_1d(classes))
        known = encode_known(y, self.classes_)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y contains only one class ({self.classes_[0]!r}); "
                f"{type(self).__name__} needs at least two classes."
            )
        self._class_weights = class_weights(self.class_weight, self.classes_, y, incremental)
        self.input_shape_ = X.shape[1:]
        self.net_ = self._new_net(len(self.classes_), self._seed(), options)
        self._built_with = self._structure()
        return X, known

    def _training_weights(self, X, known, sample_weight):
        """Each sample's training weight (``sample_weight`` times its class's weight);
        None when neither is given, so an unweighted fit computes as if weights did not
        exist."""
        if sample_weight is None and self._class_weights is None:
            return None
        if not get_technique(self.loss).takes_sample_weight:
            raise ValueError(
                f"loss={self.loss!r} does not weigh samples: its Loss.forward takes no "
                "sample_weight. Fit without sample_weight and class_weight, or give the "
                "loss that argument."
            )
        weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if self._class_weights is not None:
            weights = weights * self._class_weights[known]
        if not weights.any():
            raise ValueError(
                "sample_weight (times class_weight) is zero for every sample: there is "
                "nothing to train on."
            )
        return weights

    def add_classes(self, X, y=None, *, on_damage="limit", X_known=None):
        """Add new classes from a few samples each, without retraining the encoder.

        The encoder stays frozen; the technique's head places each new class from its
        samples' embeddings (imprinted weights, a mean embedding as center, or fitted
        class means; the techniques page says which). Afterwards ``classes_``,
        ``predict``, ``predict_proba``, ``decision_function`` and ``class_centers_``
        cover old and new classes. Refit to train the encoder on them.

        New positions can land where known classes are and take their samples. Before
        anything changes, the new head predicts samples of the known classes, and
        ``on_damage`` decides what happens when the new classes take some of them. Those
        samples are ``X_known`` when given; else the model's own, kept at fit (up to 1000):
        the validation samples held out by ``early_stopping=True``, or training samples
        with noise (0.3 times each scaled feature's spread), since a model fits its
        training samples more tightly than new ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the new classes only.
        y : array-like of shape (n_samples,)
            Their labels; none may be a class the estimator already knows.
        on_damage : {"limit", "warn", "raise", "ignore"}, default="limit"
            ``"limit"`` adds the new classes with their scores lowered by one common
            amount, just enough that they take at most 0.3% of the checked samples: the
            known classes keep their accuracy, and the new classes are recognized less
            often. When they would have taken more than 3%, a ``UserWarning`` says so,
            with how many of their own samples they still win. Training again
            (``partial_fit``, ``warm_start``) removes the lowering. The other choices
            add the classes at full strength when they take more than 3%: with a
            ``UserWarning`` naming the classes (``"warn"``), or not at all, as a
            ``ValueError`` that leaves the model as it was (``"raise"``); ``"ignore"``
            adds them without a check.
        X_known : array-like of shape (n_known, ...), default=None
            Samples of the known classes to check on, such as a validation set. A model
            fits its training samples more tightly than new ones, so new classes can
            take held-out known samples while taking none of the kept training ones;
            checking on held-out samples sees that. None checks on the samples kept at
            fit (held out ones with ``early_stopping=True``).

        Returns
        -------
        self : EmbeddingClassifier
        """
        if on_damage not in ON_DAMAGE:
            raise ValueError(
                f"on_damage must be 'limit', 'warn', 'raise' or 'ignore'; got {on_damage!r}"
            )
        with all_or_nothing(self), float32_with_grad():
            X = self._fitted_input(X)
            y = self._targets(X, y)
            check_classification_targets(y)
            new, local = np.unique(y, return_inverse=True)
            before = self.net_.class_columns_
            classes, columns = append_classes(self.classes_, before, new)
            if X_known is not None:
                X_known = self._fitted_input(X_known)
            labels = np.concatenate([self.classes_[np.argsort(before)], new])
            # the new classes go into a copy; the model changes only once all succeeded
            net = self._next_net("add classes")
            net.add_classes(X, local, columns, labels, on_damage=on_damage, X_known=X_known)
            if self._class_weights is not None:  # new classes weigh 1 if trained on later
                order = np.argsort(np.concatenate([self.classes_, new]), kind="stable")
                weights = np.concatenate([self._class_weights, np.ones(len(new))])
                self._class_weights = weights[order]
            self.net_, self.classes_ = net, classes
        return self

    # -- what a fitted model gives -----------------------------------------------------

    def _answer(self, X, output):
        """The net's ``output`` for ``X`` (validated here)."""
        X = self._fitted_input(X)
        return self.net_.answer(X, output)

    def decision_function(self, X):
        """Class scores of the technique's head.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples in the training input's form: rows, images, a sparse matrix, or a
            ``torch.utils.data.Dataset`` (as ``fit`` took).

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
            Columns in the order of ``classes_``; for two classes, score of class 1
            minus score of class 0.
        """
        return self._answer(X, "decision_function")

    def predict(self, X):
        """The most likely class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples in the training input's form: rows, images, a sparse matrix, or a
            ``torch.utils.data.Dataset`` (as ``fit`` took).

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        indices = self._answer(X, "predict")
        return self.classes_[indices]

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples in the training input's form: rows, images, a sparse matrix, or a
            ``torch.utils.data.Dataset`` (as ``fit`` took).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        return self._answer(X, "predict_proba")

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples in the training input's form: rows, images, a sparse matrix, or a
            ``torch.utils.data.Dataset`` (as ``fit`` took).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def kneighbors(self, X, reference, *, n_neighbors=5, return_distance=True):
        """The nearest reference samples of each sample, in the embedded space.

        Both ``X`` and ``reference`` are embedded with :meth:`transform`; neighbours are
        Euclidean there, found exactly by scikit-learn's ``NearestNeighbors``. The
        output is that of scikit-learn's ``kneighbors``; index your reference labels
        with ``indices`` to retrieve theirs.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), or torch Dataset
            The queries.
        reference : array-like of shape (n_reference, ...), or torch Dataset
            The samples to search, in any input form :meth:`fit` takes.
        n_neighbors : int, default=5
            How many references to return for each sample, nearest first; at most the
            number of references.
        return_distance : bool, default=True
            Also return the Euclidean distances in the embedded space.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_neighbors)
            Only when ``return_distance``; nearest first.
        indices : ndarray of shape (n_samples, n_neighbors)
            Rows of ``reference``.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sk_embed import EmbeddingClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = EmbeddingClassifier(n_components=8, random_state=0).fit(X[:1000], y[:1000])
        >>> indices = clf.kneighbors(X[1000:1003], X[:1000], n_neighbors=3, return_distance=False)
        >>> y[:1000][indices].shape  # the labels of the 3 nearest references of each query
        (3, 3)
        """
        Z_reference = self.transform(reference)
        if not 1 <= n_neighbors <= len(Z_reference):
            raise ValueError(
                f"n_neighbors={n_neighbors!r} must be between 1 and the {len(Z_reference)} "
                "reference samples."
            )
        index = NearestNeighbors(n_neighbors=n_neighbors).fit(Z_reference)
        return index.kneighbors(self.transform(X), return_distance=return_distance)

    def score_embedding(self, Z):
        """Class scores of points given directly in the embedded space.

        The scores ``decision_function`` would give to samples that ``transform`` maps
        to ``Z``: how plots draw decision regions and class densities.

        Parameters
        ----------
        Z : array-like of shape (n_points, n_components)
            Points of the embedded space, e.g. ``transform``'s output or a grid over it.

        Returns
        -------
        scores : ndarray of shape (n_points, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=[np.float32, np.float64])
        if Z.shape[1] != self.net_.n_components:
            raise ValueError(
                f"Z has {Z.shape[1]} columns; the embedded space has {self.net_.n_components}"
            )
        return self.net_.score_embedding(Z)

    def score_samples(self, X):
        """Open-set score: how much each sample looks like *some* known class.

        Each technique defines it in its own file: the largest logit (softmax family),
        the largest cosine (angular), minus the squared distance to the nearest center
        over the mean squared distance between two centers (center, contrastive,
        triplet, regression), the largest log-density (soc). Use
        it with :func:`sk_embed.metrics.open_set_auroc`.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples in the training input's form: rows, images, a sparse matrix, or a
            ``torch.utils.data.Dataset`` (as ``fit`` took).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher means more known.
        """
        return self._answer(X, "score_samples")

    def transform(self, X):
        """The embedding of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples in the training input's form: rows, images, a sparse matrix, or a
            ``torch.utils.data.Dataset`` (as ``fit`` took).

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Same float dtype as ``X`` (float32 or float64; other inputs give float32).
        """
        X = self._fitted_input(X)
        floats = isinstance(X.dtype, np.dtype) and X.dtype in (np.float32, np.float64)
        return self.net_.answer(X, "transform").astype(X.dtype if floats else np.float32)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``X`` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Test samples, in the training input's form.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the samples in the mean.

        Returns
        -------
        score : float
        """
        return super().score(X, y, sample_weight=sample_weight)

    def set_output(self, *, transform=None):
        """Choose the container ``transform`` and ``fit_transform`` return.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            ``"pandas"`` or ``"polars"`` give a DataFrame whose columns are
            :meth:`get_feature_names_out`; ``"default"`` a NumPy array; None leaves the
            choice as it is.

        Returns
        -------
        self : EmbeddingClassifier
        """
        return super().set_output(transform=transform)

    # -- the model file ----------------------------------------------------------------

    def save(self, path):
        """Write the fitted model to ``path``: weights as tensors, everything else as JSON.

        :meth:`load` reads it back without running code (no pickle), with identical
        predictions, for every technique and after ``add_classes``. Not stored: the
        optimizer's state (``warm_start`` and ``partial_fit`` after a load start a fresh
        optimizer). Parameters must be JSON values, a named backbone and optimizer; a
        module or callback object cannot be stored this way (pickle can).

        Parameters
        ----------
        path : str or path-like
            The file to write (a directory is not made for it).

        Returns
        -------
        self : EmbeddingClassifier
        """
        check_is_fitted(self)
        self._check_structure("be saved")
        record = {f"{name}_": value for name, value in self._record()._asdict().items()}
        names = getattr(self, "feature_names_in_", None)
        net, module, criterion = self.net_.to_file()
        model = {
            "params": _persistence.encode_params(self.get_params(deep=False)),
            "classes": _persistence.encode_labels(self.classes_, "classes"),
            "feature_names_in": (
                None if names is None else _persistence.encode_labels(names, "feature names")
            ),
            "fitted": {
                **record,
                "input_shape_": list(self.input_shape_),
                "n_features_in_": self.n_features_in_,
            },
            "class_weights": None if self._class_weights is None else self._class_weights.tolist(),
            "net": net,
            "output_config": getattr(self, "_sklearn_output_config", {}),
        }
        write_once(_persistence.write, path, model, module, criterion)  # rank 0 writes
        return self

    @classmethod
    def load(cls, path, *, device="cpu"):
        """Read a model written by :meth:`save`, without running code from the file.

        Parameters
        ----------
        path : str or path-like
            A file written by ``save``.
        device : str or torch.device, default="cpu"
            Where the loaded model runs (its ``device`` parameter); a model trained on a
            GPU loads on a machine without one.

        Returns
        -------
        EmbeddingClassifier

        Raises
        ------
        ValueError
            When the file is not a model written by ``save``, is truncated, or was changed
            after it was written (its checksum does not match).
        """
        model, module, criterion = _persistence.read(path)
        estimator = cls(**_persistence.decode_params(model["params"]))
        estimator.device = device
        estimator.classes_ = _persistence.decode_labels(model["classes"])
        if model["feature_names_in"] is not None:
            names = model["feature_names_in"]["values"]
            estimator.feature_names_in_ = np.array(names, dtype=object)
        estimator.input_shape_ = tuple(model["fitted"]["input_shape_"])
        estimator.n_features_in_ = model["fitted"]["n_features_in_"]
        weights = model["class_weights"]
        estimator._class_weights = None if weights is None else np.array(weights)
        if model["output_config"]:
            estimator._sklearn_output_config = dict(model["output_config"])
        estimator._built_with = estimator._structure()
        fields = model["net"]
        net = estimator._new_net(len(estimator.classes_), fields["seed"], estimator._net_options())
        try:
            estimator.net_ = net.restore(fields, module, criterion)
        except (RuntimeError, KeyError) as error:  # weights that do not fit the parameters
            raise ValueError(
                f"{os.fspath(path)!r} does not hold a consistent model: the network its "
                f"parameters describe does not take the weights it holds ({str(error)[:300]}). "
                "Was the file edited? Save the model again."
            ) from None
        return estimator

    def export_onnx(self, path, *, output="transform"):
        """Write the fitted model as an ONNX file that computes one output from raw input.

        The file holds the whole path: the input standardization, the backbone and the
        head (nothing used only in training), with a dynamic batch size; run it with
        onnxruntime, in a service without Python's scientific stack. It needs the
        ``onnx`` extra (``pip install 'sk-embed[onnx]'``: onnx, onnxruntime, onnxscript)
        and uses torch's exporter (``torch.onnx.export(dynamo=True)``) at opset 18.
        The weights are inside the file, which is all a runtime needs; only a model
        over ONNX's 2 GB limit has them written beside it, as ``path + ".data"``.

        Parameters
        ----------
        path : str or path-like
            Its folder must exist.
        output : {"transform", "predict_proba", "decision_function"}, default="transform"
            What the exported model computes, as the method of that name does: the input
            is named ``"X"`` (float32, samples of ``input_shape_``), the output is named
            after ``output``; class columns are in the order of ``classes_``.

        Returns
        -------
        self : EmbeddingClassifier
        """
        check_is_fitted(self)
        if output not in OUTPUTS:
            raise ValueError(f"output={output!r} is not one of {', '.join(map(repr, OUTPUTS))}.")
        self.net_.export_onnx(path, output)
        return self

    # -- fitted attributes read from the net -------------------------------------------

    def _record(self):
        check_is_fitted(self)
        return TrainingRecord.of(self.net_.history_)

    @property
    def n_iter_(self):
        """Epochs run (over ``partial_fit`` and ``warm_start`` calls too)."""
        return self._record().n_iter

    @property
    def loss_curve_(self):
        """The training loss of each epoch."""
        return self._record().loss_curve

    @property
    def best_loss_(self):
        """The lowest training loss; None with a validation set."""
        return self._record().best_loss

    @property
    def validation_scores_(self):
        """The validation accuracy of each epoch with ``early_stopping``, else None."""
        return self._record().validation_scores

    @property
    def best_validation_score_(self):
        """The validation accuracy of the epoch whose weights are kept, else None."""
        return self._record().best_validation_score

    @property
    def class_centers_(self):
        """Where each class sits in the embedded space, in the order of ``classes_``."""
        check_is_fitted(self)
        return self.net_.class_centers()

    @property
    def history_(self):
        """skorch's per-epoch training history (``net_.history_``)."""
        check_is_fitted(self)
        return self.net_.history_

    @property
    def scores_are_log_densities_(self):
        """Whether ``decision_function`` gives class log-densities (``soc``)."""
        check_is_fitted(self)
        return self.net_.scores_are_log_densities

    @property
    def _n_features_out(self):  # get_feature_names_out's count, once fitted
        check_is_fitted(self)
        return self.net_.n_components

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags

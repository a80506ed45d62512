"""``EmbeddingClassifier``: the scikit-learn surface.

Parameters and their constraints, validation, label encoding and fitted attributes. The
network and its training loop are the skorch side (``_net.py``); everything that differs
between techniques lives in ``sk_embed/losses/``.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from torch import nn

from ._data import TensorDataset, check_device, check_float32_range
from ._incremental import IncrementalMixin
from ._net import REPORTED, EmbeddingNet
from ._outputs import EmbeddingOutputsMixin
from ._params import RoutedParamsMixin, all_or_nothing
from ._persistence import PersistenceMixin
from ._training import SCHEDULES
from .backbones import ACTIVATIONS, BACKBONES, default_lr
from .losses import get_technique

# The estimator's parameters that the net takes as they are.
_NET_PARAMS = (
    "backbone", "activation", "standardize", "tol", "n_iter_no_change", "early_stopping",
    "validation_fraction", "lr_schedule", "lr", "max_epochs", "batch_size", "device", "verbose",
    "reserve_classes", "reconstruction",
)  # fmt: skip


class EmbeddingClassifier(
    PersistenceMixin,
    IncrementalMixin,
    RoutedParamsMixin,
    ClassifierMixin,
    EmbeddingOutputsMixin,
    ClassNamePrefixFeaturesOutMixin,
    BaseEstimator,
):
    """A deep classifier whose embedded space is designed by the chosen technique.

    The network is ``backbone -> activation -> z (n_components) -> head -> scores``; the
    technique (``loss``) decides the head and the training objective, and so the
    geometry of the embedded space. ``transform`` returns the embedding, ``predict``
    the class.

    Parameters
    ----------
    loss : str, default="softmax"
        A registered technique, see :func:`sk_embed.available_losses`. Its own
        hyperparameters are set as ``loss__<name>`` keyword arguments.
    n_components : int, default=2
        Dimension of the embedded space.
    backbone : {"mlp", "cnn", "resnet18"}, nn.Module or nn.Module subclass, default="mlp"
        The encoder. ``"mlp"`` takes rows of features (hidden widths:
        ``backbone__hidden_sizes``, default ``(256, 128)``); ``"cnn"`` is the seed paper's
        Conv32-Pool-Conv64-Pool-Conv128-FC256-FC(n_components) for images ``(n, H, W)``
        or ``(n, C, H, W)``, or flat rows with ``backbone__input_shape``; ``"resnet18"``
        needs torchvision. A module instance (deep-copied at fit) or class (built with
        the ``backbone__*`` arguments) must map a batch to ``(batch, n_components)``.
    activation : {"linear", "relu", "sigmoid", "selu"}, default="linear"
        Activation of the embedding layer, right before the head. Linear gives the most
        informative space.
    normalize_weights : bool
        Deprecated: use ``loss__normalize_weights`` (an option of the techniques with a
        linear classifier: unit class weights, no bias).
    standardize : bool, default=True
        Standardize the input inside the network with statistics fitted on the training
        data: per feature for rows, per channel for images; constant features are only
        centered. The fitted model then works in the input's own units (``transform``,
        ``predict``, pickles and GPU included). False feeds the input as it is, e.g. after
        your own scaler in a ``Pipeline``.
    max_epochs : int, default=200
        Upper bound on the passes over the training data; training usually stops
        earlier, see ``tol``.
    tol : float or None, default=1e-4
        Training stops when the training loss (or, with ``early_stopping``, the
        validation accuracy) has not improved by more than ``tol`` for
        ``n_iter_no_change`` consecutive epochs. None trains for ``max_epochs`` epochs.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data (seeded by
        ``random_state``), stop on its accuracy, and keep the weights of the best epoch.
        A skorch ``train_split`` of your own is monitored the same way.
    validation_fraction : float, default=0.1
        The held-out fraction with ``early_stopping``.
    batch_size : int, default=64
        Samples per training step (and per prediction batch).
    lr : float or None, default=None
        Initial learning rate of the optimizer (Adam unless ``optimizer`` is given).
        None is the backbone's own, measured on rows and on images: 1e-2 for the
        ``"mlp"``, 1e-3 for the ``"cnn"``, ``"resnet18"`` and modules of your own.
    warm_start : bool, default=False
        When fitted already, ``fit`` goes on training from the fitted weights (and the
        input standardization) instead of starting again; ``y`` must hold known classes.
        ``n_iter_`` and ``loss_curve_`` continue. See also ``partial_fit``.
    lr_schedule : {"plateau", "constant", "cosine"}, default="plateau"
        ``"plateau"`` divides the learning rate by 10 after every 3 epochs without
        improvement (of the monitored value, by ``tol``); ``"cosine"`` anneals it to 0
        over ``max_epochs``; ``"constant"`` leaves it to the optimizer (and to your own
        schedule in ``callbacks``).
    reserve_classes : int, default=0
        Room for classes to come (``add_classes``): train with this many virtual classes
        that mixes of two known classes belong to (docs/open_set.md). 0 is off.
    reconstruction : float, default=0.0
        Weight of a training-only decoder's reconstruction of the input, so the embedding
        keeps what new classes may need. 0 is off.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling and everything random in training; two
        fits with the same integer give identical embeddings on CPU. The caller's
        global torch RNG state is left as it was.
    device : str or torch.device, default="cpu"
        Where the network trains and predicts, e.g. ``"cuda"``.
    verbose : int, default=0
        Print skorch's per-epoch table when positive.
    **kwargs
        ``loss__<name>`` (the technique's hyperparameters), ``backbone__<name>``, and
        skorch's pass-through arguments: ``optimizer``, ``optimizer__*``, ``callbacks``,
        ``train_split`` (no validation split by default), ``iterator_train__*``, ...

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
        The trained network; ``net_.module_`` is the torch module.
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
        "backbone": [StrOptions(set(BACKBONES)), nn.Module, type],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "normalize_weights": ["boolean", Hidden(StrOptions({"deprecated"}))],
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
        normalize_weights="deprecated",
        standardize=True,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        batch_size=64,
        lr=None,
        lr_schedule="plateau",
        warm_start=False,
        reserve_classes=0,
        reconstruction=0.0,
        random_state=None,
        device="cpu",
        verbose=0,
        **kwargs,
    ):
        self.loss = loss
        self.n_components = n_components
        self.backbone = backbone
        self.activation = activation
        self.normalize_weights = normalize_weights
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
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self._set_options(kwargs)

    def _options(self):
        """The routed options, checked; the deprecated ``normalize_weights`` folded in."""
        options = self._routed_options()
        if self.normalize_weights != "deprecated":
            warnings.warn(
                "normalize_weights was deprecated in 0.2 and will be removed in 0.4; "
                "use loss__normalize_weights, an option of the techniques with a linear "
                "classifier.",
                FutureWarning,
                stacklevel=3,
            )
            if self.normalize_weights:
                options.setdefault("loss__normalize_weights", True)
        return options

    # -- data --------------------------------------------------------------------------

    _VALIDATION = dict(allow_nd=True, dtype=[np.float32, np.float64])

    def _validate_X(self, X):
        check_is_fitted(self)
        shape = getattr(X, "shape", None)  # images: say so before counting "features"
        if shape is not None and len(shape) > 1 and max(len(shape) - 1, len(self.input_shape_)) > 1:
            self._check_sample_shape(tuple(shape[1:]))
        X = validate_data(self, X, reset=False, **self._VALIDATION)
        check_float32_range(X)
        self._check_sample_shape(X.shape[1:])
        return X

    def _check_sample_shape(self, shape):
        if shape != self.input_shape_:
            images = " (images: pass the same height, width and channels)" * (len(shape) > 1)
            raise ValueError(
                f"X has samples of shape {shape}, but {type(self).__name__} "
                f"was fitted on samples of shape {self.input_shape_}{images}."
            )

    def _tensor(self, X):
        # torch.tensor copies: the user's array is never shared or changed.
        return torch.tensor(X, dtype=torch.float32, device=self.net_.device)

    # -- fit ---------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, H, W) or (n_samples, C, H, W)
            Training inputs: rows of features, or images for image backbones. Cast to
            float32; standardized inside the network unless ``standardize=False``.
        y : array-like of shape (n_samples,)
            Class labels of any hashable type; at least two classes.

        Returns
        -------
        self : EmbeddingClassifier
        """
        with all_or_nothing(self):
            if self.warm_start and hasattr(self, "net_"):
                self._train_on(X, y)
            else:
                self._fit(X, y)
        if self.net_.interrupted_:  # the epochs done are kept (the net warned): stop loops
            raise KeyboardInterrupt
        return self

    def _fit(self, X, y, classes=None, epochs=None):
        get_technique(self.loss)
        check_device(self.device)
        options = self._options()
        X, y = validate_data(self, X, y, **self._VALIDATION)
        check_float32_range(X)
        check_classification_targets(y)
        self.classes_ = np.unique(y if classes is None else column_or_1d(classes))
        y_encoded = self._encode_known(y, self.classes_)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y contains only one class ({self.classes_[0]!r}); "
                f"{type(self).__name__} needs at least two classes."
            )
        self.input_shape_ = X.shape[1:]
        self._n_features_out = self.n_components
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.net_ = self._new_net(len(self.classes_), seed, options)
        y_t = torch.as_tensor(y_encoded, dtype=torch.long, device=self.net_.device)
        self.net_.train(TensorDataset(self._tensor(X), y_t), y_encoded, fresh=True, epochs=epochs)
        self.class_centers_ = self._numpy(self.net_.module_.head.centers)
        for name in REPORTED:
            setattr(self, name, getattr(self.net_, name))
        # The network's class columns in the order of classes_ (add_classes appends
        # columns while classes_ stays sorted).
        self._columns = np.arange(len(self.classes_))

    def _new_net(self, n_classes, seed, options):
        """An untrained net for this estimator's parameters (fit, and load)."""
        return EmbeddingNet(
            technique=self.loss,
            n_components=self.n_components,
            n_classes=n_classes,
            input_shape=self.input_shape_,
            seed=seed,
            **{name: self._net_value(name) for name in _NET_PARAMS},
            **options,
        )

    def _net_value(self, name):
        """What the net gets for the estimator's parameter ``name``: its value, with
        ``lr=None`` resolved to the backbone's own learning rate."""
        value = getattr(self, name)
        return default_lr(self.backbone) if name == "lr" and value is None else value

    @property
    def history_(self):
        """skorch's per-epoch training history (``net_.history_``)."""
        check_is_fitted(self)
        return self.net_.history_

    @property
    def scores_are_log_densities_(self):
        """Whether ``decision_function`` gives class log-densities (``soc``)."""
        check_is_fitted(self)
        return self.net_.module_.head.log_densities

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

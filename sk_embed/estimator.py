"""``EmbeddingClassifier``: the scikit-learn estimator, glue only.

scikit-learn validation and label encoding on one side, skorch's training loop on the
other; everything that differs between techniques lives in ``sk_embed/losses/``.
"""

from __future__ import annotations

import contextlib
import inspect
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch import nn

from ._data import TensorBatches, TensorDataset
from .backbones import ACTIVATIONS, build_backbone, check_backbone_output
from .losses import get_technique

# Prefixes of the ``**kwargs`` that route to one part: the technique, the backbone, or
# skorch's own components.
_NET_PREFIXES = ("optimizer", "iterator_train", "iterator_valid", "callbacks")
_PREFIXES = ("loss", "backbone", *_NET_PREFIXES)
# skorch keyword arguments passed through as they are; the rest of skorch's constructor
# is owned by the estimator.
_OWNED = {"module", "criterion", "lr", "max_epochs", "batch_size", "device", "verbose", "dataset"}
_NET_ARGS = set(inspect.signature(NeuralNet.__init__).parameters) - _OWNED - {"self", "kwargs"}


def _is_routed(key):
    """Whether a ``**kwargs`` name reaches some part (checked at fit, not in __init__)."""
    return key in _NET_ARGS or key.partition("__")[0] in _PREFIXES and "__" in key


class EmbeddingModule(nn.Module):
    """encoder -> penultimate activation -> embedding ``z`` -> head -> class scores.

    ``forward`` returns ``(scores, z)``: the scores are what prediction needs, the
    embedding is what losses and ``transform`` need.
    """

    def __init__(self, encoder, activation, head):
        super().__init__()
        self.encoder = encoder
        self.activation = activation
        self.head = head

    def embed(self, x):
        """The raw embedding ``z`` of a batch."""
        return self.activation(self.encoder(x))

    def forward(self, x):
        z = self.embed(x)
        return self.head(z), z


class _EmbeddingNet(NeuralNet):
    """skorch's loop, with a criterion that also sees the embedding and the head.

    Two per-batch costs of skorch that exceed a small model's own step are cut without
    changing what happens: the train/eval switch (a walk over every submodule) is
    skipped when the mode is already right, and callbacks are only called for the
    events they override.
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        scores, z = y_pred
        return self.criterion_(scores, z, y_true.to(scores.device), self.module_.head)

    def _set_training(self, training=True):
        if self.module_.training != training or self.criterion_.training != training:
            super()._set_training(training)

    def get_default_callbacks(self):
        # PrintLog formats a table row every epoch even when nothing is printed.
        defaults = super().get_default_callbacks()
        return defaults if self.verbose else [(n, cb) for n, cb in defaults if n != "print_log"]

    def initialize_callbacks(self):
        super().initialize_callbacks()
        self._listeners = {}
        return self

    def notify(self, method_name, **cb_kwargs):
        listeners = self._listeners.get(method_name)
        if listeners is None:
            base = getattr(Callback, method_name)
            listeners = self._listeners[method_name] = [
                cb for _, cb in self.callbacks_ if getattr(type(cb), method_name) is not base
            ]
        getattr(self, method_name)(self, **cb_kwargs)  # the net's own hook keeps history
        for cb in listeners:
            getattr(cb, method_name)(self, **cb_kwargs)


@contextlib.contextmanager
def _seeded(seed, device):
    """Seed torch inside the block and leave the caller's global RNG state untouched."""
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class EmbeddingClassifier(
    ClassifierMixin, TransformerMixin, ClassNamePrefixFeaturesOutMixin, BaseEstimator
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
    normalize_weights : bool, default=False
        Constrain each class weight of a linear classifier to unit norm and drop the
        bias (``||W_j|| = 1, b_j = 0``). Only for techniques with a linear classifier.
    max_epochs : int, default=30
        Passes over the training data.
    batch_size : int, default=128
        Samples per training step (and per prediction batch).
    lr : float, default=1e-3
        Learning rate of the optimizer (Adam unless ``optimizer`` is given).
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
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names.
    input_shape_ : tuple of int
        Shape of one training sample (``X.shape[1:]``).
    class_centers_ : ndarray of shape (n_classes, n_components)
        Where each class sits in the embedded space, as the technique defines it; mean
        training embeddings for the softmax techniques.
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` is the torch module.
    history_ : skorch.History
        skorch's per-epoch training history.

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
        "backbone": [StrOptions({"mlp", "cnn", "resnet18"}), nn.Module, type],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "normalize_weights": ["boolean"],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
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
        normalize_weights=False,
        max_epochs=30,
        batch_size=128,
        lr=1e-3,
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
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self._set_kwargs(kwargs)

    # -- parameters: the signature's plus the routed ``**kwargs`` -------------------------

    # Keyword arguments are stored as they come and checked at fit, as scikit-learn
    # checks every parameter; only a name that would hide a method is refused at once.

    def _set_kwargs(self, kwargs):
        for key, value in kwargs.items():
            if key.startswith("_") or key.endswith("_") or hasattr(type(self), key):
                raise TypeError(f"{type(self).__name__} got an unexpected keyword argument {key!r}")
            setattr(self, key, value)

    def _kwarg_names(self):
        named = set(self._get_param_names())
        return [
            k for k in vars(self) if k not in named and not (k.startswith("_") or k.endswith("_"))
        ]

    def _check_kwargs(self):
        unknown = [k for k in self._kwarg_names() if not _is_routed(k)]
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(map(repr, unknown))} for "
                f"{type(self).__name__}; routed options start with one of "
                f"{', '.join(p + '__' for p in _PREFIXES)}, or are skorch arguments "
                f"({', '.join(sorted(_NET_ARGS))})."
            )

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update({k: getattr(self, k) for k in self._kwarg_names()})
        return params

    def set_params(self, **params):
        named = set(self._get_param_names())

        def routed(key):  # ``loss__margin`` is an option, not a nested estimator's param
            head, sep, _ = key.partition("__")
            return head not in named or bool(sep) and head in _PREFIXES

        self._set_kwargs({k: v for k, v in params.items() if routed(k)})
        return super().set_params(**{k: v for k, v in params.items() if not routed(k)})

    def _params_for(self, prefix):
        start = prefix + "__"
        return {k[len(start) :]: v for k, v in vars(self).items() if k.startswith(start)}

    def _skorch_kwargs(self):
        return {
            k: getattr(self, k)
            for k in self._kwarg_names()
            if k in _NET_ARGS or k.partition("__")[0] in _NET_PREFIXES
        }

    # -- data --------------------------------------------------------------------------

    _VALIDATION = dict(allow_nd=True, dtype=[np.float32, np.float64])

    def _validate_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, **self._VALIDATION)
        if X.shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but {type(self).__name__} "
                f"was fitted on samples of shape {self.input_shape_}."
            )
        return X

    def _tensor(self, X):
        # torch.tensor copies: the user's array is never shared or changed.
        return torch.tensor(X, dtype=torch.float32, device=self.device)

    # -- fit ---------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *image_shape)
            Training inputs: rows of features, or images for image backbones. Cast to
            float32; values are not rescaled.
        y : array-like of shape (n_samples,)
            Class labels of any hashable type; at least two classes.

        Returns
        -------
        self : EmbeddingClassifier
        """
        technique = get_technique(self.loss)
        self._check_kwargs()
        X, y = validate_data(self, X, y, **self._VALIDATION)
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y contains only one class ({self.classes_[0]!r}); "
                f"{type(self).__name__} needs at least two classes."
            )
        self.input_shape_ = X.shape[1:]
        self._n_features_out = self.n_components
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

        X_t = self._tensor(X)
        y_t = torch.as_tensor(y_encoded, dtype=torch.long, device=self.device)
        with _seeded(seed, self.device):
            encoder = build_backbone(
                self.backbone, X.shape[1:], self.n_components, self._params_for("backbone")
            )
            check_backbone_output(encoder, X_t[:2], self.n_components)
            head, criterion = technique.build(
                self.n_components,
                len(self.classes_),
                self.normalize_weights,
                self._params_for("loss"),
            )
            module = EmbeddingModule(encoder, ACTIVATIONS[self.activation](), head)
            net_kwargs = {
                "optimizer": torch.optim.Adam,
                "train_split": None,
                "iterator_train": TensorBatches,
                "iterator_valid": TensorBatches,
                "iterator_train__shuffle": True,
                "iterator_train__samples_per_class": technique.samples_per_class,
                "iterator_train__generator": torch.Generator().manual_seed(seed),
                **self._skorch_kwargs(),
            }
            self.net_ = _EmbeddingNet(
                module=module,
                criterion=criterion,
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                device=self.device,
                verbose=self.verbose,
                **net_kwargs,
            )
            self.net_.fit(TensorDataset(X_t, y_t), y_encoded)

        _, z = self._infer(X_t)
        head = self.net_.module_.head
        centers = self.net_.criterion_.centers(head, head.embed(z), y_t.cpu())
        self.class_centers_ = self._numpy(centers)
        # The network's class columns in the order of classes_ (add_classes appends
        # columns while classes_ stays sorted).
        self._columns = np.arange(len(self.classes_))
        return self

    def add_classes(self, X, y):
        """Add new classes from a few samples each, without retraining the encoder.

        The encoder stays frozen; the technique's head places each new class from its
        samples' embeddings (imprinted weights, a mean embedding as center, or fitted
        class means, as the technique's file says). Afterwards ``classes_``,
        ``predict``, ``predict_proba``, ``decision_function`` and ``class_centers_``
        cover old and new classes. Refit to train the encoder on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the new classes only.
        y : array-like of shape (n_samples,)
            Their labels; none may be a class the estimator already knows.

        Returns
        -------
        self : EmbeddingClassifier
        """
        X = self._validate_X(X)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        new, local = np.unique(y, return_inverse=True)
        known = new[np.isin(new, self.classes_)]
        if len(known):
            raise ValueError(
                f"add_classes adds new classes only; already known: {known.tolist()!r}"
            )
        _, z = self._infer(self._tensor(X))
        head = self.net_.module_.head
        local_t = torch.as_tensor(local, dtype=torch.long, device=self.device)
        new_centers = head.add_classes(z.to(self.device), local_t, len(new), self.net_.criterion_)

        net_labels = np.concatenate([self.classes_[np.argsort(self._columns)], new])
        net_centers = np.concatenate(
            [self.class_centers_[np.argsort(self._columns)], self._numpy(new_centers)]
        )
        self._columns = np.argsort(net_labels, kind="stable")
        self.classes_ = net_labels[self._columns]
        self.class_centers_ = net_centers[self._columns]
        return self

    @property
    def history_(self):
        check_is_fitted(self)
        return self.net_.history_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- predict -----------------------------------------------------------------------

    def _infer(self, X_t):
        """``(scores, z)`` of a tensor, on the CPU, in eval mode."""
        return self.net_.forward(TensorDataset(X_t), training=False)

    def _numpy(self, t, dtype=np.float64):
        return t.detach().cpu().numpy().astype(dtype, copy=False)

    def _scores(self, X):
        """Class scores (float64, columns in the order of ``classes_``), raw embeddings
        and the input's dtype."""
        X = self._validate_X(X)
        scores, z = self._infer(self._tensor(X))
        return scores.double()[:, self._columns], z, X.dtype

    def decision_function(self, X):
        """Class scores of the technique's head (for two classes: score 1 minus score 0).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
        """
        scores, _, _ = self._scores(X)
        scores = self._numpy(scores)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X):
        """The most likely class of each sample, as one of ``classes_``."""
        scores, _, _ = self._scores(X)
        return self.classes_[self._numpy(scores.argmax(dim=1), np.intp)]

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``."""
        scores, z, _ = self._scores(X)
        return self._numpy(self.net_.module_.head.proba(scores, z.double()))

    def score_embedding(self, Z):
        """Class scores of points given directly in the embedded space.

        The scores ``decision_function`` would give to samples that ``transform`` maps
        to ``Z``: how plots draw decision regions and class densities.

        Parameters
        ----------
        Z : array-like of shape (n_points, n_components)

        Returns
        -------
        scores : ndarray of shape (n_points, n_classes), columns in the order of ``classes_``
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=[np.float32, np.float64])
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"Z has {Z.shape[1]} columns; the embedded space has {self.n_components}"
            )
        head = self.net_.module_.head
        with torch.no_grad():
            scores = head(torch.tensor(Z, dtype=torch.float32, device=self.device))
        return self._numpy(scores.double()[:, self._columns])

    def score_samples(self, X):
        """Open-set score: how much each sample looks like *some* known class.

        Higher means more known. Each technique defines it in its own file: the
        largest logit (softmax family), the largest cosine (angular), minus the squared
        distance to the nearest center (center, contrastive, triplet, regression), the
        largest log-density (soc). Use it with :func:`sk_embed.metrics.open_set_auroc`.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        scores, z, _ = self._scores(X)
        return self._numpy(self.net_.module_.head.score_samples(scores, z.double()))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def transform(self, X):
        """The embedding of each sample, shape ``(n_samples, n_components)``.

        Same float dtype as ``X`` (float32 or float64; other inputs give float32).
        """
        _, z, dtype = self._scores(X)
        return self._numpy(self.net_.module_.head.embed(z), dtype)

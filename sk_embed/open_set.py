"""``OpenSetClassifier``: a classifier that can answer "none of the classes I know".

It wraps any classifier with ``score_samples`` (higher = looks more like a known class),
``EmbeddingClassifier`` included, and turns that score into a decision: a threshold
calibrated on known-class samples held out from the fit, so that a chosen fraction of
known samples is accepted. Below it, ``predict`` answers ``unknown_label``.

A model spreads its classes unequally, and how unequally changes from one fit to the
next, so by default the score is first standardized within each predicted class by the
model's own scores on its training samples of that class: one threshold then holds for
every class, and for a refitted model as well as for the fold models it came from.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.model_selection import check_cv, train_test_split
from sklearn.utils import _safe_indexing, assert_all_finite, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_method_params,
    _num_samples,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

# Label kinds that may stand side by side in one array of predictions.
_KINDS = {"b": "number", "i": "number", "u": "number", "f": "number", "U": "str", "O": "str"}


class OpenSetClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Predict a known class, or ``unknown_label`` for samples unlike every known class.

    The wrapped classifier is fitted, and its ``score_samples`` is calibrated on
    known-class samples it was not fitted on: the threshold is the score that
    ``known_rate`` of them reach. ``predict`` gives the wrapped classifier's class where
    the score reaches the threshold and ``unknown_label`` elsewhere.

    Parameters
    ----------
    estimator : classifier with ``score_samples``
        E.g. :class:`~sk_embed.EmbeddingClassifier`; cloned, never fitted in place.
    unknown_label : int, float, str or bool, default=-1
        The answer for samples below the threshold. It must not be one of the classes,
        and must be of the same kind as the labels (a number for numeric labels, a
        string for string labels), so that ``predict`` returns one type.
    known_rate : float, default=0.95
        The fraction of known-class samples to accept, in (0, 1).
    cv : int, float or cross-validation generator, default=5
        Where the held-out scores come from. An int or a splitter: the out-of-fold
        scores of that many stratified folds (every sample is scored once, by a model
        that did not see it), then the classifier is refitted on all the data; this
        assumes its scores mean the same from one fit to the next. A float in (0, 1): a
        stratified fraction held out once, and the classifier is the one fitted on the
        rest, so the threshold belongs to the very model that predicts, but rests on
        fewer scores. docs/open_set.md compares the two.
    per_class : bool, default=True
        Standardize the score within each predicted class, by the mean and standard
        deviation of the fitted model's scores on its own training samples predicted as
        that class, before the threshold. False thresholds the raw score.
    random_state : int, RandomState instance or None, default=None
        Seeds the held-out split (float ``cv``); folds are not shuffled.

    Attributes
    ----------
    estimator_ : classifier
        The fitted classifier that ``predict`` uses.
    threshold_ : float
        The calibrated threshold on :meth:`score_samples`.
    score_mean_, score_scale_ : ndarray of shape (n_classes,)
        Per class of ``classes_``, what :meth:`score_samples` subtracts from and divides
        ``estimator_.score_samples`` by (0 and 1 with ``per_class=False``).
    classes_ : ndarray of shape (n_classes,)
        The known classes (``unknown_label`` is not among them).
    n_features_in_ : int
        Number of features of the training data, where the wrapped classifier has it.

    See Also
    --------
    EmbeddingClassifier.score_samples : The open-set score of an embedding model.
    sk_embed.metrics.open_set_scores : What the decision did, on known and unknown samples.
    sk_embed.metrics.open_set_auroc : How well a score tells known from unknown, over
        every threshold.
    sklearn.model_selection.FixedThresholdClassifier : scikit-learn's fixed threshold on
        a binary classifier's score.
    sklearn.model_selection.TunedThresholdClassifierCV : scikit-learn's threshold tuned
        by cross-validation, for binary classification.

    Notes
    -----
    The user guide's docs/open_set.md measures the decision on digits and compares the
    two kinds of ``cv``; docs/open_set_study.md compares the techniques' scores.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_embed import EmbeddingClassifier, OpenSetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> known = y < 6
    >>> model = OpenSetClassifier(EmbeddingClassifier(n_components=10, random_state=0),
    ...                           random_state=0).fit(X[known], y[known])
    >>> set(model.predict(X[~known])) <= set(range(6)) | {-1}
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict", "score_samples"])],
        "unknown_label": [Integral, Real, str, "boolean"],
        "known_rate": [Interval(Real, 0, 1, closed="neither")],
        "cv": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 2, None, closed="left"),
            "cv_object",
        ],
        "per_class": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        *,
        unknown_label=-1,
        known_rate=0.95,
        cv=5,
        per_class=True,
        random_state=None,
    ):
        self.estimator = estimator
        self.unknown_label = unknown_label
        self.known_rate = known_rate
        self.cv = cv
        self.per_class = per_class
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit the wrapped classifier and calibrate the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of the known classes.
        y : array-like of shape (n_samples,)
            Their labels.
        **fit_params
            Passed to the wrapped classifier's ``fit`` (per-sample ones, such as
            ``sample_weight``, are split with the samples).

        Returns
        -------
        self : OpenSetClassifier
        """
        # rows are selected for the held-out split and the folds
        if sp.issparse(X):
            X = X.tocsr()
        elif not hasattr(X, "iloc"):  # a DataFrame keeps its column names for the estimator
            X = np.asarray(X)
        y = column_or_1d(y, warn=True)
        if y.dtype.kind == "f":
            assert_all_finite(y, input_name="y")
        check_consistent_length(X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        self._check_unknown_label(self.classes_)
        scores = []
        if isinstance(self.cv, Real) and not isinstance(self.cv, Integral):
            train, held = train_test_split(
                np.arange(len(y)), test_size=self.cv, stratify=y, random_state=self.random_state
            )
            self.estimator_ = self._fit_on(X, y, train, fit_params)
            held_scores, statistics = self._calibration_scores(self.estimator_, X, train, held)
            scores.append(held_scores)
        else:
            for train, held in check_cv(self.cv, y, classifier=True).split(X, y):
                fold = self._fit_on(X, y, train, fit_params)
                scores.append(self._calibration_scores(fold, X, train, held)[0])
            self.estimator_ = self._fit_on(X, y, np.arange(len(y)), fit_params)
            statistics = self._class_statistics(self.estimator_, X)
        self.score_mean_, self.score_scale_ = statistics
        scores = np.concatenate(scores)
        self.threshold_ = float(np.quantile(scores, 1 - self.known_rate))
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    def _fit_on(self, X, y, rows, fit_params):
        params = _check_method_params(X, fit_params, indices=rows)
        return clone(self.estimator).fit(_safe_indexing(X, rows), y[rows], **params)

    def _scores(self, model, X, statistics=None):
        """``model``'s scores of ``X`` and its predicted classes; the scores standardized
        by ``statistics`` (a mean and a scale per class, 0 and 1 with ``per_class=False``)
        when given."""
        scores = model.score_samples(X)
        if not np.isfinite(scores).all():
            raise ValueError("the wrapped classifier's score_samples gave non-finite scores")
        predicted = model.predict(X)
        if statistics is not None:
            which = np.searchsorted(self.classes_, predicted)
            scores = (scores - statistics[0][which]) / statistics[1][which]
        return scores, predicted

    def _class_statistics(self, model, X):
        """Mean and standard deviation of ``model``'s scores of its training samples
        ``X``, per predicted class (a class predicted for fewer than two of them, or
        with equal scores, takes those of all of them)."""
        n_classes = len(self.classes_)
        if not self.per_class:
            return np.zeros(n_classes), np.ones(n_classes)
        scores, predicted = self._scores(model, X)
        which = np.searchsorted(self.classes_, predicted)
        mean = np.full(n_classes, scores.mean())
        scale = np.full(n_classes, scores.std() or 1.0)
        for k in range(n_classes):
            own = scores[which == k]
            if len(own) >= 2 and own.std() > 0:
                mean[k], scale[k] = own.mean(), own.std()
        return mean, scale

    def _calibration_scores(self, model, X, train, held):
        """The standardized scores of the ``held`` rows by ``model``, fitted on ``train``,
        and the statistics they were standardized by."""
        statistics = self._class_statistics(model, _safe_indexing(X, train))
        return self._scores(model, _safe_indexing(X, held), statistics)[0], statistics

    def _check_unknown_label(self, classes):
        label = np.asarray([self.unknown_label])
        kind = _KINDS.get(classes.dtype.kind)
        if _KINDS.get(label.dtype.kind) != kind:
            example = "'unknown'" if kind == "str" else "-1"
            raise ValueError(
                f"unknown_label={self.unknown_label!r} is of another kind than the labels "
                f"({classes.dtype}); predict would then mix types. Use a "
                f"{'string' if kind == 'str' else 'number'}, e.g. {example}."
            )
        if self.unknown_label in classes.tolist():
            raise ValueError(
                f"unknown_label={self.unknown_label!r} is one of the classes; choose a "
                "label that no training sample has."
            )

    def score_samples(self, X):
        """The open-set score that the threshold applies to (higher = more known):
        ``estimator_.score_samples``, standardized within the predicted class when
        ``per_class=True``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples to score, in the input of the wrapped classifier.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self._scores(self.estimator_, X, (self.score_mean_, self.score_scale_))[0]

    def predict_known(self, X):
        """Whether each sample reaches the threshold (is taken for a known class).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples to judge, in the input of the wrapped classifier.

        Returns
        -------
        known : ndarray of bool, shape (n_samples,)
        """
        return self.score_samples(X) >= self.threshold_

    def predict(self, X):
        """The known class of each sample, or ``unknown_label`` below the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples to classify, in the input of the wrapped classifier.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        scores, predicted = self._scores(self.estimator_, X, (self.score_mean_, self.score_scale_))
        known = scores >= self.threshold_
        dtype = np.result_type(predicted, np.asarray([self.unknown_label]))
        out = np.empty(_num_samples(X), dtype=dtype)
        out[known] = predicted[known]
        out[~known] = self.unknown_label
        return out

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict`: a known sample answered ``unknown_label``
        counts as an error, and ``y`` may hold ``unknown_label`` for unknown samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Test samples, of known and unknown classes.
        y : array-like of shape (n_samples,)
            Their true labels, ``unknown_label`` for samples of classes the classifier
            was not fitted on.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the samples in the mean; equal weights when None.

        Returns
        -------
        score : float
        """
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags

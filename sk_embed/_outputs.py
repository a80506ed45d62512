"""What a fitted :class:`~sk_embed.EmbeddingClassifier` gives: scores, classes,
probabilities, open-set scores and the embedding, from one forward pass each."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted


class EmbeddingOutputsMixin(TransformerMixin):
    """The predict and transform side of the estimator, in the order of ``classes_``
    (a ``TransformerMixin``, so ``set_output`` wraps ``transform``).

    Needs ``net_`` (and its ``device``), ``classes_``, ``_columns``, ``n_components`` and the
    estimator's ``_validate_X`` / ``_tensor``.
    """

    def _numpy(self, t, dtype=np.float64):
        return t.detach().cpu().numpy().astype(dtype, copy=False)

    def _scores(self, X):
        """Class scores (float64, columns in the order of ``classes_``), raw embeddings
        and the input's dtype."""
        X = self._validate_X(X)
        scores, z = self.net_.infer_dataset(self._tensor(X))
        return scores.double()[:, self._columns], z, X.dtype

    def decision_function(self, X):
        """Class scores of the technique's head.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
            Columns in the order of ``classes_``; for two classes, score of class 1
            minus score of class 0.
        """
        scores, _, _ = self._scores(X)
        scores = self._numpy(scores)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X):
        """The most likely class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        scores, _, _ = self._scores(X)
        return self.classes_[self._numpy(scores.argmax(dim=1), np.intp)]

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        scores, z, _ = self._scores(X)
        return self._numpy(self.net_.module_.head.proba(scores, z.double()))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def score_embedding(self, Z):
        """Class scores of points given directly in the embedded space.

        The scores ``decision_function`` would give to samples that ``transform`` maps
        to ``Z``: how plots draw decision regions and class densities.

        Parameters
        ----------
        Z : array-like of shape (n_points, n_components)

        Returns
        -------
        scores : ndarray of shape (n_points, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=[np.float32, np.float64])
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"Z has {Z.shape[1]} columns; the embedded space has {self.n_components}"
            )
        head = self.net_.module_.head
        with torch.no_grad():
            scores = head(torch.tensor(Z, dtype=torch.float32, device=self.net_.device))
        return self._numpy(scores.double()[:, self._columns])

    def score_samples(self, X):
        """Open-set score: how much each sample looks like *some* known class.

        Each technique defines it in its own file: the largest logit (softmax family),
        the largest cosine (angular), minus the squared distance to the nearest center
        (center, contrastive, triplet, regression), the largest log-density (soc). Use
        it with :func:`sk_embed.metrics.open_set_auroc`.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher means more known.
        """
        scores, z, _ = self._scores(X)
        return self._numpy(self.net_.module_.head.score_samples(scores, z.double()))

    def transform(self, X):
        """The embedding of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Same float dtype as ``X`` (float32 or float64; other inputs give float32).
        """
        _, z, dtype = self._scores(X)
        return self._numpy(self.net_.module_.head.embed(z), dtype)

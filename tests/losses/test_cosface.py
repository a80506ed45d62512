"""Tests of sk_embed/losses/cosface.py."""

import pytest
from sklearn.model_selection import GridSearchCV

from sk_embed import EmbeddingClassifier
from sk_embed.metrics import silhouette

QUICK = dict(max_epochs=3, tol=None, random_state=0)


@pytest.mark.quality
def test_cosface_margin_makes_classes_more_compact(digits_split, seed, record_property):
    """The seed paper's claim: silhouette rises from m = 0 to m = 0.2 (2-D)."""
    X_train, X_test, y_train, y_test = digits_split
    sil = {}
    for margin in (0.0, 0.2):
        with pytest.warns(UserWarning, match="bound") if margin > 0.191 else _nothing():
            clf = EmbeddingClassifier("cosface", loss__margin=margin, random_state=seed)
            clf.fit(X_train, y_train)
        sil[margin] = silhouette(clf.transform(X_test), y_test)
    record_property("silhouette_gain", float(sil[0.2] - sil[0.0]))
    assert sil[0.2] > sil[0.0]  # by 0.028 to 0.180 (benchmarks/quality_margins.py, 12 runs)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_grid_search_over_cosface_margin(small):
    X, y = small
    search = GridSearchCV(
        EmbeddingClassifier(loss="cosface", **QUICK), {"loss__margin": [0.0, 0.05, 0.2]}, cv=2
    ).fit(X, y)
    margins = [p["loss__margin"] for p in search.cv_results_["params"]]
    assert margins == [0.0, 0.05, 0.2]
    assert search.best_estimator_.net_.criterion_.margin == search.best_params_["loss__margin"]

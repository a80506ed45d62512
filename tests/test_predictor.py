"""Tests of sk_embed/_nn/predictor.py: the estimator and the served module give the same
answers, in the order of ``classes_``, also after ``add_classes`` appended columns."""

import numpy as np
import pytest
import torch

from sk_embed import EmbeddingClassifier
from sk_embed._nn.predictor import ANSWERS, Predictor

QUICK = dict(n_components=3, max_epochs=3, tol=None, random_state=0)


@pytest.mark.parametrize("loss", ["softmax", "cosface", "soc", "triplet"])
def test_the_served_module_answers_as_the_estimator(small, loss):
    X, y = small
    labels = np.array(list("jihgfedcba"))[y]  # sorted classes_ differ from network order
    clf = EmbeddingClassifier(loss, **QUICK).fit(X[y < 3], labels[y < 3])
    clf.add_classes(X[y >= 3][:20], labels[y >= 3][:20], on_damage="ignore")
    assert list(clf.classes_) == sorted(clf.classes_)
    module = clf.net_.module_.eval()
    x = torch.tensor(X[:50], dtype=torch.float32)
    for output in ANSWERS:
        served = Predictor(module, output, clf.net_.class_columns_)
        with torch.no_grad():
            got = served(x).numpy()
        want = getattr(clf, output)(X[:50])
        if output == "predict":
            np.testing.assert_array_equal(clf.classes_[got], want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)

"""Tests of sk_embed/_nn/export.py: an exported ONNX model computes what the estimator
does, from raw input, for every technique and for the mlp and the cnn."""

import numpy as np
import pytest
import torch

from sk_embed import EmbeddingClassifier, available_losses

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

QUICK = dict(max_epochs=3, tol=None, random_state=0)


def _run(path, X):
    return ort.InferenceSession(str(path)).run(None, {"X": X.astype(np.float32)})[0]


def _close(got, want):
    # float32 through the same layers; the estimator's scores go through float64 at the
    # end: measured largest difference 2e-5 at a scale of 74 (every technique, 3 outputs)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("loss", available_losses())
def test_every_technique_exports_its_transform(small, loss, tmp_path):
    X, y = small
    clf = EmbeddingClassifier(loss, 3, **QUICK).fit(X, y)
    clf.export_onnx(tmp_path / "m.onnx")
    _close(_run(tmp_path / "m.onnx", X), clf.transform(X))
    _close(_run(tmp_path / "m.onnx", X[:1]), clf.transform(X[:1]))  # the batch is dynamic


@pytest.mark.parametrize("loss", ["softmax", "cosface", "center", "soc"])
@pytest.mark.parametrize("output", ["predict_proba", "decision_function"])
def test_scores_export_in_the_order_of_classes(small, loss, output, tmp_path):
    X, y = small
    clf = EmbeddingClassifier(loss, 3, **QUICK).fit(X, y)
    clf.add_classes(X[:5] + 1.0, np.full(5, -1), on_damage="ignore")  # columns reordered
    clf.export_onnx(tmp_path / "m.onnx", output=output)
    _close(_run(tmp_path / "m.onnx", X), getattr(clf, output)(X))


def test_lowered_new_classes_export_with_their_offsets(small, tmp_path):
    X, y = small
    clf = EmbeddingClassifier("cosface", 3, **QUICK).fit(X, y)
    clf.add_classes(X[:5] + 1.0, np.full(5, -1), on_damage="ignore")
    # as add_classes(on_damage="limit") leaves them, one offset per class
    clf.net_.module_.score_offsets = torch.linspace(-0.5, 0.0, len(clf.classes_))
    clf.export_onnx(tmp_path / "m.onnx", output="decision_function")
    _close(_run(tmp_path / "m.onnx", X), clf.decision_function(X))


def test_two_classes_export_one_decision_column(small, tmp_path):
    X, y = small
    two = y < 2
    clf = EmbeddingClassifier(**QUICK).fit(X[two], y[two])
    clf.export_onnx(tmp_path / "m.onnx", output="decision_function")
    _close(_run(tmp_path / "m.onnx", X), clf.decision_function(X))


@pytest.mark.parametrize("loss", ["softmax", "soc"])
def test_the_cnn_exports_on_images(small, loss, tmp_path):
    X, y = small
    images = X.reshape(-1, 1, 8, 8)
    clf = EmbeddingClassifier(loss, 2, backbone="cnn", **QUICK).fit(images, y)
    clf.export_onnx(tmp_path / "m.onnx", output="predict_proba")
    _close(_run(tmp_path / "m.onnx", images), clf.predict_proba(images))


def test_export_leaves_the_model_and_refuses_unknown_outputs(small, tmp_path):
    X, y = small
    clf = EmbeddingClassifier(reserve_classes=2, reconstruction=0.1, **QUICK).fit(X, y)
    before = clf.transform(X)
    clf.net_.module_.train()
    clf.export_onnx(tmp_path / "m.onnx")
    assert clf.net_.module_.training  # exported from a copy
    np.testing.assert_array_equal(clf.transform(X), before)
    _close(_run(tmp_path / "m.onnx", X), before)  # no training-only part on the path
    with pytest.raises(ValueError, match="output='predict'"):
        clf.export_onnx(tmp_path / "p.onnx", output="predict")
    assert torch.get_default_dtype() == torch.float32

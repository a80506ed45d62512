"""Tests of sk_embed/_persistence.py: save and load."""

import os
import pickle

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

from sk_embed import EmbeddingClassifier, available_losses

QUICK = dict(max_epochs=3, tol=None, random_state=0)
OUTPUTS = ("predict", "predict_proba", "decision_function", "transform", "score_samples")


def _same_model(a, b, X):
    for method in OUTPUTS:
        np.testing.assert_array_equal(getattr(a, method)(X), getattr(b, method)(X), err_msg=method)
    np.testing.assert_array_equal(a.classes_, b.classes_)
    assert a.classes_.dtype == b.classes_.dtype
    np.testing.assert_array_equal(a.class_centers_, b.class_centers_)
    assert a.get_params() == b.get_params()
    assert (a.n_iter_, a.loss_curve_, a.n_features_in_) == (
        b.n_iter_,
        b.loss_curve_,
        b.n_features_in_,
    )
    assert len(a.history_) == len(b.history_)


@pytest.mark.parametrize("loss", available_losses())
def test_round_trip_after_add_classes_for_every_technique(digits, tmp_path, loss):
    X, y = digits
    known = y < 7
    clf = EmbeddingClassifier(loss, n_components=3, **QUICK).fit(X[known][:400], y[known][:400])
    clf.add_classes(X[~known][:30], y[~known][:30], on_damage="ignore")
    path = tmp_path / "model.skem"
    clf.save(path)
    _same_model(clf, EmbeddingClassifier.load(path), X[:200])


def test_round_trip_keeps_label_types_feature_names_and_options(small, tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = small
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])])
    labels = np.array(["zero", "one", "two", "three", "four"])[y]
    clf = EmbeddingClassifier(
        "contrastive",
        backbone__hidden_sizes=(32,),
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=1e-3,
        **QUICK,
    ).fit(frame, labels)
    clf.save(tmp_path / "m")
    loaded = EmbeddingClassifier.load(tmp_path / "m")
    _same_model(clf, loaded, frame)
    np.testing.assert_array_equal(loaded.feature_names_in_, clf.feature_names_in_)
    assert loaded.get_params()["backbone__hidden_sizes"] == (32,)
    assert loaded.get_params()["optimizer"] is torch.optim.AdamW


def test_round_trip_of_an_image_model_then_training_goes_on(digits, tmp_path):
    X, y = digits
    images = X[:300].reshape(-1, 8, 8)
    clf = EmbeddingClassifier(backbone="cnn", warm_start=True, **QUICK).fit(images, y[:300])
    clf.save(tmp_path / "m")
    loaded = EmbeddingClassifier.load(tmp_path / "m")
    _same_model(clf, loaded, images)
    assert loaded.input_shape_ == (8, 8)
    loaded.fit(images, y[:300])  # warm start: goes on from the loaded weights
    assert loaded.n_iter_ == 6 and len(loaded.loss_curve_) == 6
    assert loaded.loss_curve_[3] < clf.loss_curve_[0]


def test_saved_file_holds_cpu_tensors_and_json(small, tmp_path):
    X, y = small
    EmbeddingClassifier(**QUICK).fit(X, y).save(tmp_path / "m")
    payload = torch.load(tmp_path / "m", weights_only=True)
    assert payload["format"] == "sk-embed-model"
    assert all(t.device.type == "cpu" for t in payload["module"].values())
    assert '"loss": "softmax"' in payload["model"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_model_fitted_on_gpu_loads_on_cpu(small, tmp_path):
    X, y = small
    clf = EmbeddingClassifier(device="cuda", **QUICK).fit(X, y)
    clf.save(tmp_path / "m")
    loaded = EmbeddingClassifier.load(tmp_path / "m")
    assert loaded.device == "cpu"
    np.testing.assert_allclose(loaded.transform(X), clf.transform(X), atol=1e-4)


@pytest.fixture
def saved(small, tmp_path):
    X, y = small
    clf = EmbeddingClassifier(**QUICK).fit(X, y)
    path = tmp_path / "model.skem"
    clf.save(path)
    return clf, path


def test_changed_weight_bytes_are_detected(saved):
    clf, path = saved
    data = bytearray(path.read_bytes())
    weight = clf.net_.module_.head.weight.detach().cpu().numpy().tobytes()
    at = bytes(data).find(weight)
    assert at > 0
    data[at + 5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged or changed|not a readable"):
        EmbeddingClassifier.load(path)


def test_edited_contents_are_detected(saved):
    _, path = saved
    payload = torch.load(path, weights_only=True)
    payload["module"]["head.weight"][0, 0] = float("nan")
    torch.save(payload, path)
    with pytest.raises(ValueError, match="damaged or changed after it was written"):
        EmbeddingClassifier.load(path)
    payload["model"] = payload["model"].replace('"softmax"', '"center"')
    torch.save(payload, path)
    with pytest.raises(ValueError, match="checksum does not match"):
        EmbeddingClassifier.load(path)


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_a_truncated_file_is_a_clear_error(saved, keep):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="not a readable sk-embed model file"):
        EmbeddingClassifier.load(path)


class _Payload:
    def __reduce__(self):
        return (os.mkdir, ("ran-code",))


def test_a_pickle_is_refused_without_running_its_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open("evil.pkl", "wb") as f:
        pickle.dump(_Payload(), f)
    with pytest.raises(ValueError, match="not a readable sk-embed model file"):
        EmbeddingClassifier.load("evil.pkl")
    assert not os.path.exists("ran-code")
    torch.save({"weights": torch.zeros(3)}, "other.pt")
    with pytest.raises(ValueError, match="not a model written by save"):
        EmbeddingClassifier.load("other.pt")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))

    def forward(self, x):
        return self.layer(x)


def test_what_cannot_be_saved_is_named(small, tmp_path):
    X, y = small
    with pytest.raises(NotFittedError):
        EmbeddingClassifier().save(tmp_path / "m")
    clf = EmbeddingClassifier(backbone=Net, **QUICK).fit(X, y)
    with pytest.raises(TypeError, match="save cannot store the parameter backbone=.*pickle"):
        clf.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()
    pickle.loads(pickle.dumps(clf)).predict(X)  # pickling keeps working

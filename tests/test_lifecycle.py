"""A fitted model's life: every call that changes it commits whole or leaves it
bit-identical; training covers every parameter the model has; structural parameters
are refused, the others applied; fits are independent of what runs beside them."""

import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sk_embed import EmbeddingClassifier, metrics
from sk_embed.estimator import GOES_ON, STRUCTURAL

QUICK = dict(n_components=4, max_epochs=3, tol=None, random_state=0)


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:300], y[:300]


def state(model):
    """Everything observable of a fitted model, as plain values."""
    net = model.net_
    optimizer = net.optimizer_.state_dict()
    return {
        "module": {k: v.clone() for k, v in net.module_.state_dict().items()},
        "criterion": {k: v.clone() for k, v in net.criterion_.state_dict().items()},
        "optimizer": {
            (i, k): v.clone()
            for i, s in optimizer["state"].items()
            for k, v in s.items()
            if torch.is_tensor(v)
        },
        "history": repr(net.history_.to_list()),
        "n_iter_": model.n_iter_,
        "classes_": model.classes_.tolist(),
        "columns": model.net_.class_columns_.tolist(),
    }


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            assert a[key].keys() == b[key].keys(), key
            for name in a[key]:
                assert torch.equal(a[key][name], b[key][name]), (key, name)
        else:
            assert a[key] == b[key], key


class RaiseAt(Callback):
    """Raise ``error`` at the ``batch``-th training batch of its next call."""

    def __init__(self, batch, error=None):
        self.batch, self.error = batch, error or RuntimeError("injected")

    def on_train_begin(self, net, **kwargs):
        self.seen = 0

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.seen += 1
            if self.seen == self.batch:
                raise self.error


def test_every_parameter_is_sorted_into_structural_or_goes_on():
    names = set(EmbeddingClassifier()._get_param_names())
    assert not set(STRUCTURAL) & set(GOES_ON)
    assert names == set(STRUCTURAL) | set(GOES_ON), names ^ (set(STRUCTURAL) | set(GOES_ON))


@pytest.mark.parametrize(
    "failure",
    [
        dict(lr=1e6),  # diverges
        dict(callbacks=[RaiseAt(3)]),
        dict(augment=lambda b: (_ for _ in ()).throw(RuntimeError("augment failed"))),
    ],
    ids=["diverging-lr", "callback", "augment"],
)
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_a_failed_call_that_goes_on_training_changes_nothing(data, failure, how):
    X, y = data
    model = EmbeddingClassifier(**QUICK).fit(X, y)
    before, predictions = state(model), model.predict(X)
    model.set_params(**failure)
    with pytest.raises((FloatingPointError, RuntimeError)):
        if how == "warm_start":
            model.set_params(warm_start=True).fit(X, y)
        else:
            model.partial_fit(X, y)
    assert_same_state(before, state(model))
    np.testing.assert_array_equal(predictions, model.predict(X))


def test_a_failed_fit_after_a_limited_addition_keeps_the_limit(data):
    X, y = data
    known = y < 8
    model = EmbeddingClassifier(loss="cosface", **QUICK).fit(X[known], y[known])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.add_classes(X[~known][:10], y[~known][:10], on_damage="limit")
    before, predictions = state(model), model.predict(X)
    with pytest.raises(RuntimeError, match="injected"):
        model.set_params(callbacks=[RaiseAt(2)]).partial_fit(X, y)
    assert_same_state(before, state(model))
    np.testing.assert_array_equal(predictions, model.predict(X))


@pytest.mark.parametrize("loss", ["soc", "softmax", "center"])
def test_an_interrupted_add_classes_adds_nothing(data, loss, tmp_path, monkeypatch):
    X, y = data
    known = y < 8
    model = EmbeddingClassifier(loss=loss, **QUICK).fit(X[known], y[known])
    before = state(model)
    head_type = type(model.net_.module_.head)

    def interrupted(self, *args, **kwargs):
        # half a placement: the head has grown, then the interrupt comes
        own = [*self.named_parameters(recurse=False), *self.named_buffers(recurse=False)]
        name, rows = next((n, t) for n, t in own if t.dim() and t.shape[0] == self.n_classes)
        self._grow(name, torch.zeros(2, *rows.shape[1:]))
        raise KeyboardInterrupt

    monkeypatch.setattr(head_type, "add_classes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.add_classes(X[~known][:10], y[~known][:10], on_damage="ignore")
    monkeypatch.undo()
    assert_same_state(before, state(model))
    model.save(tmp_path / "m.skembed")
    EmbeddingClassifier.load(tmp_path / "m.skembed")
    model.add_classes(X[~known][:10], y[~known][:10], on_damage="ignore")  # a retry works
    assert len(model.classes_) == 10 and model.transform(X).shape == (300, 4)


def trainable(model):
    return {
        name: p.detach().clone()
        for name, p in model.net_.module_.named_parameters()
        if p.requires_grad
    }


def assert_every_parameter_moves(model, X, y):
    before = trainable(model)
    model.partial_fit(X, y)
    after = trainable(model)
    assert before.keys() == after.keys()
    still = [
        n for n in before if before[n].shape == after[n].shape and torch.equal(before[n], after[n])
    ]
    assert not still, f"not trained: {still}"


@pytest.mark.parametrize("loss", ["softmax", "cosface", "soc"])
def test_training_after_load_add_classes_and_reserve_covers_every_parameter(data, loss, tmp_path):
    X, y = data
    known = y < 8
    model = EmbeddingClassifier(loss=loss, **QUICK).fit(X, y)
    model.save(tmp_path / "m.skembed")
    assert_every_parameter_moves(EmbeddingClassifier.load(tmp_path / "m.skembed"), X, y)
    grown = EmbeddingClassifier(loss=loss, **QUICK).fit(X[known], y[known])
    grown.add_classes(X[~known][:20], y[~known][:20], on_damage="ignore")
    assert_every_parameter_moves(grown, X, y)
    reserved = EmbeddingClassifier(loss=loss, reserve_classes=2, **QUICK).fit(X, y)
    assert_every_parameter_moves(reserved, X, y)


STRUCTURAL_CHANGES = {
    "loss": "cosface",
    "n_components": 3,
    "backbone": "cnn",
    "activation": "relu",
    "standardize": False,
    "reserve_classes": 2,
    "reconstruction": 0.5,
    "precision": "bf16-mixed",
    "class_weight": "balanced",
    "device": "meta",
    "loss__label_smoothing": 0.1,
    "backbone__hidden_sizes": (32,),
}


def test_the_structural_changes_cover_every_structural_parameter():
    assert set(STRUCTURAL) <= set(STRUCTURAL_CHANGES)


@pytest.mark.parametrize("name", sorted(STRUCTURAL_CHANGES))
@pytest.mark.parametrize("call", ["warm_start", "partial_fit", "add_classes", "save"])
def test_a_structural_change_before_going_on_is_refused_and_changes_nothing(
    data, name, call, tmp_path
):
    X, y = data
    known = y < 8
    model = EmbeddingClassifier(**QUICK).fit(X[known], y[known])
    before = state(model)
    model.set_params(**{name: STRUCTURAL_CHANGES[name]})
    with pytest.raises(ValueError, match=rf"{name} was changed .* Refit"):
        if call == "warm_start":
            model.set_params(warm_start=True).fit(X[known], y[known])
        elif call == "partial_fit":
            model.partial_fit(X[known], y[known])
        elif call == "add_classes":
            model.add_classes(X[~known][:6], y[~known][:6])
        else:
            model.save(tmp_path / "m.skembed")
    assert_same_state(before, state(model))
    # the fitted model keeps answering as it was built
    assert model.transform(X).shape[1] == len(model.get_feature_names_out()) == 4


def test_settings_changed_before_going_on_take_effect(data):
    X, y = data
    model = EmbeddingClassifier(**QUICK).fit(X, y)

    class Count(Callback):
        epochs = 0

        def on_epoch_end(self, net, **kwargs):
            Count.epochs += 1

    model.set_params(
        warm_start=True, max_epochs=2, lr=1e-3, batch_size=32, callbacks=[Count()],
        optimizer__weight_decay=1e-4,
    )  # fmt: skip
    model.fit(X, y)
    assert Count.epochs == 2 and model.n_iter_ == 5
    assert model.net_.optimizer_.param_groups[0]["weight_decay"] == 1e-4
    assert model.history_[-1, "lr"] <= 1e-3


class _InterruptIn(Callback):
    """A KeyboardInterrupt at batch 3 of epoch ``epoch`` (counted over the history)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch - 1:
            self.after = {k: v.clone() for k, v in net.module_.state_dict().items()}

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch and len(net.history[-1]["batches"]) == 3:
            raise KeyboardInterrupt


def test_an_interrupt_mid_epoch_keeps_whole_epochs_only(data):
    X, y = data
    stop = _InterruptIn(3)
    model = EmbeddingClassifier(max_epochs=20, callbacks=[stop], random_state=0)
    with pytest.warns(RuntimeWarning, match="after 2 epochs"), pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.n_iter_ == 2 and len(model.history_) == 2
    for name, value in model.net_.module_.state_dict().items():
        if name.startswith("encoder"):  # the head's centers are placed after training
            assert torch.equal(value, stop.after[name]), name


def _cosface_embedding(X, y):
    return EmbeddingClassifier("cosface", **QUICK).fit(X, y).transform(X)


def test_fits_in_threads_equal_the_lone_fit_and_leave_the_caller_rng(data):
    X, y = data
    alone = _cosface_embedding(X, y)
    for _ in range(3):
        rng = torch.get_rng_state()
        with ThreadPoolExecutor(2) as pool:
            outputs = list(pool.map(_cosface_embedding, [X, X], [y, y]))
        assert torch.equal(rng, torch.get_rng_state())
        for out in outputs:
            np.testing.assert_array_equal(out, alone)


@pytest.mark.parametrize("loss", ["regression", "soc", "triplet"])
def test_a_fit_ignores_the_callers_grad_mode_and_default_dtype(data, loss):
    X, y = data
    reference = EmbeddingClassifier(loss, **QUICK).fit(X, y).transform(X)
    with torch.no_grad():
        np.testing.assert_array_equal(
            EmbeddingClassifier(loss, **QUICK).fit(X, y).transform(X), reference
        )
    with torch.inference_mode():
        np.testing.assert_array_equal(
            EmbeddingClassifier(loss, **QUICK).fit(X, y).transform(X), reference
        )
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        model = EmbeddingClassifier(loss, **QUICK).fit(X, y)
        np.testing.assert_array_equal(model.transform(X), reference)
        assert next(model.net_.module_.parameters()).dtype == torch.float32
    finally:
        torch.set_default_dtype(default)


def test_set_output_survives_save_and_load(data, tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = data
    model = EmbeddingClassifier(**QUICK).fit(X, y).set_output(transform="pandas")
    model.save(tmp_path / "m.skembed")
    assert isinstance(EmbeddingClassifier.load(tmp_path / "m.skembed").transform(X), pd.DataFrame)


def test_an_augment_that_works_in_place_changes_no_data(data):
    X, y = data
    X_before, means = X.copy(), []

    def in_place(batch):
        batch += 100
        means.append(float(batch.mean()))
        return batch

    EmbeddingClassifier(augment=in_place, batch_size=300, **QUICK).fit(X, y)
    np.testing.assert_array_equal(X, X_before)
    assert max(means) - min(means) < 1e-3  # each epoch sees the data as it was


class Items(torch.utils.data.Dataset):
    def __init__(self, X, label):
        self.X, self.label = X, label

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return torch.as_tensor(self.X[i], dtype=torch.float32), self.label(i)


@pytest.mark.parametrize(
    "label, match",
    [
        (lambda y: lambda i: "x" if i == 5 else int(y[i]), r"Item 5 .* 'x' \(str\), but item 0"),
        (lambda y: lambda i: None if i == 7 else int(y[i]), r"Item 7 .* label None"),
        (
            lambda y: lambda i: torch.nn.functional.one_hot(torch.tensor(int(y[i])), 10),
            r"Item 0 .* shape \(10,\)",
        ),
    ],
    ids=["mixed", "none", "one-hot"],
)
def test_dataset_labels_of_the_wrong_kind_are_named(data, label, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        EmbeddingClassifier(**QUICK).fit(Items(X, label(y)))


@pytest.mark.parametrize(
    "labels, match", [([None], r"y\[299\] is None"), (["a"], r"y mixes labels of two kinds")]
)
def test_labels_with_none_or_two_kinds_are_named(data, labels, match):
    X, y = data
    y = np.array([*y[:299].tolist(), *labels], dtype=object)
    with pytest.raises(ValueError, match=match):
        EmbeddingClassifier(**QUICK).fit(X, y)


@pytest.mark.parametrize("k", [0, -1, 2.7, (1, 0)])
def test_retrieval_scores_refuses_a_k_that_is_not_a_positive_int(k):
    Z, y = np.random.default_rng(0).normal(size=(20, 2)), np.repeat([0, 1], 10)
    with pytest.raises(ValueError, match="k="):
        metrics.retrieval_scores(Z, y, k=k)
    with pytest.raises(ValueError, match="y_ref was given without Z_ref"):
        metrics.retrieval_scores(Z, y, y_ref=y)


def test_writing_into_a_missing_folder_names_it(data, tmp_path):
    X, y = data
    model = EmbeddingClassifier(**QUICK).fit(X, y)
    missing = tmp_path / "nowhere" / "m.skembed"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        model.save(missing)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        model.export_onnx(tmp_path / "nowhere" / "m.onnx")


def test_export_onnx_writes_one_self_contained_file(data, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    X, y = data
    model = EmbeddingClassifier(**QUICK).fit(X, y)
    model.export_onnx(tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == ["m.onnx"]
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    out = session.run(None, {"X": X[:5].astype(np.float32)})[0]
    np.testing.assert_allclose(out, model.transform(X[:5]), atol=1e-4)


def test_a_model_file_whose_parameters_were_edited_is_named(data, tmp_path):
    from sk_embed import _persistence

    X, y = data
    EmbeddingClassifier(**QUICK).fit(X, y).save(tmp_path / "m.skembed")
    model, module, criterion = _persistence.read(tmp_path / "m.skembed")
    model["params"]["n_components"] = 3  # edited, then written with a matching checksum
    _persistence.write(tmp_path / "edited.skembed", model, module, criterion)
    with pytest.raises(ValueError, match="edited.skembed.*does not hold a consistent model"):
        EmbeddingClassifier.load(tmp_path / "edited.skembed")


def test_a_convergence_warning_points_at_the_callers_line(data):
    X, y = data
    with pytest.warns(Warning) as record:
        EmbeddingClassifier(n_components=4, max_epochs=2, random_state=0).fit(X, y)
    assert {os.path.basename(w.filename) for w in record} == {"test_lifecycle.py"}


def test_an_interrupt_before_a_whole_epoch_of_going_on_changes_nothing(data):
    X, y = data
    model = EmbeddingClassifier("triplet", **QUICK).fit(X, y)
    before, predictions = state(model), model.predict(X)
    model.set_params(callbacks=[RaiseAt(3, KeyboardInterrupt())])
    with pytest.warns(RuntimeWarning), pytest.raises(KeyboardInterrupt):
        model.partial_fit(X[150:], y[150:])
    assert_same_state(before, state(model))
    np.testing.assert_array_equal(predictions, model.predict(X))


def test_add_classes_and_load_ignore_the_callers_modes(data, tmp_path):
    X, y = data
    known = y < 8
    model = EmbeddingClassifier("soc", **QUICK).fit(X[known], y[known])
    model.save(tmp_path / "m.skembed")
    with torch.inference_mode():
        model.add_classes(X[~known][:10], y[~known][:10], on_damage="ignore")
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        loaded = EmbeddingClassifier.load(tmp_path / "m.skembed")
        with warnings.catch_warnings():  # the check runs on the kept samples
            warnings.simplefilter("ignore")
            loaded.add_classes(X[~known][:10], y[~known][:10], on_damage="warn")
    finally:
        torch.set_default_dtype(default)
    assert len(loaded.classes_) == len(model.classes_) == 10

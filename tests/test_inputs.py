"""Every input form of every method, for every technique: in-memory float arrays, arrays
of another dtype (uint8), memory maps and torch Datasets give the same model and the
same answers; augmentation and mixed precision."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch.utils.data import TensorDataset as TorchTensorDataset

from sk_embed import EmbeddingClassifier, available_losses
from sk_embed._nn.data import ArrayRows, TensorBatches, TensorDataset, device_rows
from sk_embed._nn.training import Standardize
from sk_embed.augment import AUGMENTATIONS, flip, shift

QUICK = dict(n_components=3, max_epochs=2, tol=None, random_state=0)


class Pairs(torch.utils.data.Dataset):
    """``(uint8 sample, label)`` items, as a torchvision dataset with PILToTensor gives."""

    def __init__(self, X, y):
        self.X, self.y = X.astype(np.uint8), y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return torch.from_numpy(self.X[i]), int(self.y[i])


def _forms(X, y, tmp_path):
    """Each input form of ``X`` (integer-valued, so every form holds the same values),
    as the arguments of ``fit``: ``(X, y)`` or ``(dataset,)``."""
    path = tmp_path / f"X{len(X)}.u8"
    X.astype(np.uint8).tofile(path)
    memmap = np.memmap(path, dtype=np.uint8, mode="r", shape=X.shape)
    samples = TorchTensorDataset(torch.as_tensor(X.astype(np.uint8)))
    return {
        "float32": (X.astype(np.float32), y),
        "uint8": (X.astype(np.uint8), y),
        "memmap": (memmap, y),
        "dataset-pairs": (Pairs(X, y),),
        "dataset-samples": (samples, y),
    }


@pytest.fixture(scope="module")
def data(small):
    X, y = small
    return X[:200], y[:200]


def _answers(clf, X):
    return {
        "predict": clf.predict(X),
        "predict_proba": clf.predict_proba(X),
        "decision_function": clf.decision_function(X),
        "transform": clf.transform(X),
        "score_samples": clf.score_samples(X),
    }


@pytest.mark.parametrize("loss", available_losses())
def test_every_input_form_of_every_method(loss, data, tmp_path):
    X, y = data
    forms = _forms(X, y, tmp_path)
    reference = EmbeddingClassifier(loss=loss, **QUICK).fit(X, y)
    expected = _answers(reference, X)
    for args in forms.values():
        # Prediction: the same model gives the same answers whatever holds the input.
        for method, value in _answers(reference, args[0]).items():
            np.testing.assert_allclose(value, expected[method], rtol=1e-6, atol=1e-6)
        assert reference.score(args[0], y) == reference.score(X, y)
        # Training: the same model (the streamed standardization agrees to rounding).
        clf = EmbeddingClassifier(loss=loss, **QUICK).fit(*args)
        np.testing.assert_allclose(clf.transform(X), expected["transform"], rtol=1e-4, atol=1e-4)
        went_on = clf.partial_fit(*args)
        assert went_on.n_iter_ == 3
    # add_classes from every form: the same new class positions.
    known = y < 3
    base = EmbeddingClassifier(loss=loss, **QUICK).fit(X[known], y[known])
    centers = []
    for args in _forms(X[~known], y[~known], tmp_path).values():
        grown = copy.deepcopy(base).add_classes(*args, on_damage="ignore")
        assert list(grown.classes_) == [0, 1, 2, 3, 4]
        centers.append(grown.class_centers_)
    for c in centers[1:]:
        np.testing.assert_allclose(c, centers[0], rtol=1e-5, atol=1e-5)


def test_input_arrays_are_neither_copied_whole_nor_changed(data):
    X, y = data
    images = X.astype(np.uint8)
    before = images.copy()
    clf = EmbeddingClassifier(**QUICK).fit(images, y)
    np.testing.assert_array_equal(images, before)
    data_path = clf.net_.history  # the fit ran; the rows were taken batch by batch
    assert len(data_path) == 2
    rows = device_rows(clf._fitted_input(images), "cpu")
    assert isinstance(rows, ArrayRows) and np.shares_memory(rows.array, images)


def test_views_with_negative_strides_train_as_their_copies(data):
    """X[::-1] (a view torch cannot wrap) trains as its contiguous copy does."""
    X, y = data
    view, copy_ = X[::-1], np.ascontiguousarray(X[::-1])
    a = EmbeddingClassifier(**QUICK).fit(view, y[::-1])
    b = EmbeddingClassifier(**QUICK).fit(copy_, y[::-1].copy())
    np.testing.assert_array_equal(a.transform(view), b.transform(copy_))
    a.partial_fit(view, y[::-1])


def test_dataset_with_workers_and_loader_options(data):
    X, y = data
    kw = dict(QUICK, iterator_train__num_workers=2, iterator_valid__num_workers=1)
    clf = EmbeddingClassifier(**kw).fit(Pairs(X, y))
    plain = EmbeddingClassifier(**QUICK).fit(Pairs(X, y))
    assert np.array_equal(clf.transform(X), plain.transform(X))  # workers change nothing
    np.testing.assert_array_equal(clf.predict(Pairs(X, y)), plain.predict(X))


def test_a_memory_map_travels_to_workers_as_its_file(tmp_path):
    path = tmp_path / "X.u8"
    np.arange(40, dtype=np.uint8).tofile(path)
    rows = ArrayRows(np.memmap(path, dtype=np.uint8, mode="r", shape=(10, 4)), "cpu")
    state = pickle.dumps(rows)
    assert len(state) < 400  # the file's name, not its bytes
    again = pickle.loads(state)
    assert isinstance(again.array, np.memmap)
    assert torch.equal(again.fetch([3, 1]), rows.fetch([3, 1]))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(5,), (6, 7), (3, 4, 4)])
def test_streamed_standardization_equals_the_whole_one(shape, weighted):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(301, *shape, generator=gen) * 5 + 100  # far from 0: where sums lose digits
    w = torch.rand(301, generator=gen) if weighted else None
    whole = Standardize(shape).fit(X, w)
    dataset = TensorDataset(X, torch.zeros(301, dtype=torch.long), w)
    streamed = Standardize(shape).fit_batches(TensorBatches(dataset, batch_size=32))
    torch.testing.assert_close(streamed.mean, whole.mean, rtol=1e-6, atol=0)
    torch.testing.assert_close(streamed.scale, whole.scale, rtol=1e-6, atol=0)


# -- augmentation --------------------------------------------------------------------------


def test_shift_moves_each_image_within_an_eighth_of_its_side_padding_with_zeros():
    X = torch.zeros(500, 2, 16, 16)
    X[:, :, 8, 8] = 1.0  # one bright pixel per channel
    torch.manual_seed(0)
    out = shift(X)
    assert out.shape == X.shape and out.dtype == X.dtype
    assert torch.equal(out.sum(dim=(2, 3)), torch.ones(500, 2))  # the pixel stays in
    rows, cols = torch.nonzero(out[:, 0], as_tuple=True)[1:]
    assert rows.sub(8).abs().max() == 2 and cols.sub(8).abs().max() == 2  # 16 / 8
    assert torch.equal(out[:, 0], out[:, 1])  # channels move together
    assert len({(r, c) for r, c in zip(rows.tolist(), cols.tolist())}) == 25  # every offset
    edge = torch.ones(1, 8, 8)
    assert shift(edge).sum() < 64 or torch.equal(shift(edge), edge)  # zeros come in


def test_flip_mirrors_about_half_of_the_images():
    X = torch.arange(1000 * 4.0).reshape(1000, 1, 2, 2)
    torch.manual_seed(0)
    out = flip(X)
    mirrored = (out != X).flatten(1).any(1)
    assert torch.equal(out[mirrored], X[mirrored].flip(-1))
    assert 400 < int(mirrored.sum()) < 600
    assert set(AUGMENTATIONS) >= {"shift", "flip"}


class Counting:
    """An augmentation that counts its calls and keeps the batches it returned."""

    def __init__(self):
        self.calls, self.returned = 0, []

    def __call__(self, X):
        self.calls += 1
        out = X + 0.5
        self.returned.append(out)
        return out


def test_augmentation_runs_on_training_batches_only(data):
    X, y = data
    augment = Counting()
    clf = EmbeddingClassifier(augment=augment, early_stopping=True, **QUICK).fit(X, y)
    n_train = len(y) - round(0.1 * len(y))  # early_stopping holds out 10%
    assert augment.calls == 2 * int(np.ceil(n_train / 64))  # two epochs, no validation batch
    clf.predict(X), clf.transform(X), clf.score(X, y), clf.predict_proba(X)
    assert augment.calls == 2 * int(np.ceil(n_train / 64))


def test_the_loss_and_callbacks_see_the_augmented_batch(data):
    from skorch.callbacks import Callback

    class Seen(Callback):
        batches = []

        def on_batch_begin(self, net, batch=None, training=None, **kwargs):
            if training:
                self.batches.append(batch[0])

    X, y = data
    augment = Counting()
    EmbeddingClassifier(loss="contrastive", augment=augment, callbacks=[Seen()], **QUICK).fit(X, y)
    assert len(Seen.batches) == augment.calls > 0
    assert all(a is b for a, b in zip(Seen.batches, augment.returned))


@pytest.mark.parametrize("loss", ["softmax", "triplet"])
def test_same_seed_same_augmented_model(loss, digits):
    X, y = digits
    images = X[:300].reshape(-1, 8, 8)
    kw = dict(QUICK, loss=loss, backbone="cnn", augment=["shift", "flip"])
    a = EmbeddingClassifier(**kw).fit(images, y[:300])
    b = EmbeddingClassifier(**kw).fit(images, y[:300])
    c = EmbeddingClassifier(**dict(kw, random_state=1)).fit(images, y[:300])
    assert np.array_equal(a.transform(images), b.transform(images))
    assert not np.array_equal(a.transform(images), c.transform(images))
    unaugmented = EmbeddingClassifier(**dict(kw, augment=None)).fit(images, y[:300])
    assert not np.array_equal(a.transform(images), unaugmented.transform(images))


def test_augment_is_a_parameter_like_any_other(data):
    X, y = data
    clf = EmbeddingClassifier(augment="shift")
    assert clone(clf).get_params()["augment"] == "shift"
    rows = EmbeddingClassifier(augment=lambda b: b + 0.0, **QUICK).fit(X, y)  # rows: a callable
    assert rows.predict(X).shape == y.shape


# -- mixed precision -----------------------------------------------------------------------


@pytest.mark.quality
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bf16_mixed_on_cpu_is_within_a_few_points_of_float32(digits_split, seed, record_property):
    X_train, X_test, y_train, y_test = digits_split
    kw = dict(n_components=2, max_epochs=30, random_state=seed)
    full = EmbeddingClassifier(**kw).fit(X_train, y_train)
    mixed = EmbeddingClassifier(precision="bf16-mixed", **kw).fit(X_train, y_train)
    assert mixed.net_.module_.autocast is torch.bfloat16
    assert mixed.transform(X_test).dtype == np.float64  # outputs as always
    assert mixed.class_centers_.dtype == np.float64
    assert all(p.dtype == torch.float32 for p in mixed.net_.module_.head.parameters())
    gap = full.score(X_test, y_test) - mixed.score(X_test, y_test)
    record_property("fp32_minus_bf16", float(gap))
    assert gap <= 0.04


def test_augment_and_precision_survive_save_and_load(data, tmp_path):
    X, y = data
    images = X.reshape(-1, 8, 8)
    kw = dict(QUICK, backbone="cnn", augment="shift", precision="bf16-mixed")
    clf = EmbeddingClassifier(**kw).fit(images, y)
    clf.save(tmp_path / "model.skem")
    loaded = EmbeddingClassifier.load(tmp_path / "model.skem")
    assert loaded.augment == "shift" and loaded.precision == "bf16-mixed"
    assert loaded.net_.module_.autocast is torch.bfloat16
    np.testing.assert_array_equal(loaded.transform(images), clf.transform(images))

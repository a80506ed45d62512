"""Tests of sk_embed/datasets.py."""

import gzip
import pickle

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sk_embed import datasets  # noqa: E402


def test_digits_and_synthetic():
    d = datasets.digits()
    assert d.X_train.shape == (1257, 1, 8, 8) and d.X_test.shape == (540, 1, 8, 8)
    assert d.image_shape == (1, 8, 8) and d.X_train.max() == 16
    s = datasets.synthetic(n_classes=3, n_per_class=20)
    assert s.X_train.shape == (42, 1, 8, 8) and set(s.y_train) == {0, 1, 2}
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        datasets.load("imagenet")


def _write_idx(path, array, gz):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("loader", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_format_from_local_files(tmp_path, rng, loader, gz):
    raw = tmp_path / "MNIST" / "raw"  # torchvision's layout; any folder below works
    raw.mkdir(parents=True)
    images = rng.integers(0, 256, (6, 28, 28))
    labels = np.array([3, 1, 4, 1, 5, 9])
    for prefix, part in (("train", slice(0, 4)), ("t10k", slice(4, 6))):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images[part], gz)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels[part], gz)
    d = datasets.load(loader, data_dir=tmp_path)
    assert d.X_train.shape == (4, 1, 28, 28) and d.X_test.shape == (2, 1, 28, 28)
    np.testing.assert_allclose(d.X_train[:, 0], images[:4] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y_test, [5, 9])


def test_cifar10_format_from_local_files(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (2, 3072), dtype=np.uint8)
        batches[name] = data
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": [1, 7]}, f)
    d = datasets.cifar10(data_dir=tmp_path)
    assert d.X_train.shape == (10, 3, 32, 32) and d.X_test.shape == (2, 3, 32, 32)
    np.testing.assert_allclose(
        d.X_test[0], batches["test_batch"][0].reshape(3, 32, 32) / 255.0, rtol=1e-6
    )
    np.testing.assert_array_equal(d.y_train[:2], [1, 7])


def test_missing_files_name_the_files_and_the_extra(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte.*sk-embed\[vision\]"):
        datasets.mnist(data_dir=tmp_path)


def test_download_without_torchvision_names_the_extra(tmp_path):
    try:
        import torchvision  # noqa: F401
    except Exception:
        with pytest.raises(ImportError, match=r"sk-embed\[vision\]"):
            datasets.cifar10(data_dir=tmp_path, download=True)
    else:
        pytest.skip("torchvision imports here; downloading needs the network")

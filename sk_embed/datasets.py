"""Datasets for comparing embedded spaces, each with a fixed train/test split.

Every loader returns a :class:`sklearn.utils.Bunch` with ``X_train``, ``X_test``
(float32 images ``(n, C, H, W)``), ``y_train``, ``y_test``, ``name`` and
``image_shape``. ``digits`` ships with scikit-learn (no download). ``mnist``,
``fashion_mnist`` and ``cifar10`` are read from their original files: from ``data_dir``
if they are there (a local copy), else downloaded into it through torchvision
(``pip install 'sk-embed[vision]'``) when ``download=True``.
"""

from __future__ import annotations

import gzip
import inspect
import os
import pickle
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch, check_random_state

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}


def default_data_dir():
    """Where downloadable datasets live.

    Returns
    -------
    Path
        ``$SK_EMBED_DATA``, else ``~/.cache/sk_embed``.
    """
    return Path(os.environ.get("SK_EMBED_DATA", Path.home() / ".cache" / "sk_embed"))


def _bunch(name, X_train, X_test, y_train, y_test):
    return Bunch(
        name=name,
        X_train=X_train,
        X_test=X_test,
        y_train=np.asarray(y_train, dtype=np.int64),
        y_test=np.asarray(y_test, dtype=np.int64),
        image_shape=tuple(X_train.shape[1:]),
    )


def digits(test_size=0.3, random_state=0):
    """scikit-learn's 8x8 digits (1797 images, 10 classes), a stratified 70/30 split.

    Images are ``(n, 1, 8, 8)`` with scikit-learn's values 0..16.

    Parameters
    ----------
    test_size : float, default=0.3
    random_state : int, default=0
        Seeds the split.

    Returns
    -------
    Bunch
        ``X_train``, ``X_test`` (float32 images ``(n, C, H, W)``), ``y_train``,
        ``y_test``, ``name``, ``image_shape``.
    """
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32).reshape(-1, 1, 8, 8)
    return _bunch(
        "digits",
        *train_test_split(X, y, test_size=test_size, stratify=y, random_state=random_state),
    )


def synthetic(n_classes=5, n_per_class=200, image_size=8, noise=0.3, random_state=0):
    """Gaussian blobs drawn as images: each class a random prototype image plus noise.

    A quick, download-free stand-in with a known structure, values in [0, 1]; 70/30
    stratified split. The other image sets are scaled to [0, 1] too.

    Parameters
    ----------
    n_classes : int, default=5
    n_per_class : int, default=200
    image_size : int, default=8
        Images are ``image_size x image_size``, one channel.
    noise : float, default=0.3
        Standard deviation of the Gaussian noise around each prototype.
    random_state : int, default=0
        Seeds the prototypes and the noise.

    Returns
    -------
    Bunch
        ``X_train``, ``X_test`` (float32 images ``(n, C, H, W)``), ``y_train``,
        ``y_test``, ``name``, ``image_shape``.
    """
    rng = check_random_state(random_state)
    prototypes = rng.rand(n_classes, 1, image_size, image_size)
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = prototypes[y] + noise * rng.randn(len(y), 1, image_size, image_size)
    X = np.clip(X, 0, 1).astype(np.float32)
    return _bunch("synthetic", *train_test_split(X, y, test_size=0.3, stratify=y, random_state=0))


def _read_idx(path):
    """An IDX file (MNIST's format), gzipped or not."""
    path = Path(path)
    if not path.exists() and path.with_suffix(path.suffix + ".gz").exists():
        path = path.with_suffix(path.suffix + ".gz")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x00\x00" or data[2] != 8:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find(root, names):
    """The folder under ``root`` (or ``root`` itself) that holds all ``names``."""
    for folder in [root, *sorted(p for p in Path(root).rglob("*") if p.is_dir())]:
        if all((folder / n).exists() or (folder / (n + ".gz")).exists() for n in names):
            return folder
    return None


def _download(name, root):
    try:
        import torchvision
    except Exception as exc:  # ImportError, or torchvision built for another torch
        raise ImportError(
            f"downloading {name} needs torchvision: pip install 'sk-embed[vision]' "
            f"(importing it failed: {exc}); or put the original files under {root}"
        ) from exc
    dataset = getattr(torchvision.datasets, _TORCHVISION[name])
    for train in (True, False):
        dataset(str(root), train=train, download=True)


def _load(name, data_dir, download, needed, read):
    root = Path(data_dir) if data_dir is not None else default_data_dir() / name
    folder = _find(root, needed) if root.exists() else None
    if folder is None and download:
        _download(name, root)
        folder = _find(root, needed)
    if folder is None:
        raise FileNotFoundError(
            f"{name}: the files {', '.join(needed)} are not under {root}. Copy them there, "
            f"pass data_dir=, or download=True (needs pip install 'sk-embed[vision]')."
        )
    return read(folder)


def _mnist_like(name, data_dir, download):
    needed = [f for pair in _MNIST_FILES.values() for f in pair]

    def read(folder):
        parts = []
        for split in ("train", "test"):
            images, labels = (_read_idx(folder / f) for f in _MNIST_FILES[split])
            parts.append(((images / 255.0).astype(np.float32)[:, None], labels))
        (X_train, y_train), (X_test, y_test) = parts
        return _bunch(name, X_train, X_test, y_train, y_test)

    return _load(name, data_dir, download, needed, read)


def mnist(data_dir=None, download=False):
    """MNIST (60 000 + 10 000 images 28x28, its own split), from IDX files.

    Parameters
    ----------
    data_dir : str or Path, optional
        Where the files are (default ``default_data_dir() / name``).
    download : bool, default=False
        Download them through torchvision when missing.

    Returns
    -------
    Bunch
        ``X_train``, ``X_test`` (float32 images ``(n, C, H, W)``), ``y_train``,
        ``y_test``, ``name``, ``image_shape``.
    """
    return _mnist_like("mnist", data_dir, download)


def fashion_mnist(data_dir=None, download=False):
    """Fashion-MNIST (60 000 + 10 000 images 28x28, its own split), from IDX files.

    Parameters
    ----------
    data_dir : str or Path, optional
        Where the files are (default ``default_data_dir() / name``).
    download : bool, default=False
        Download them through torchvision when missing.

    Returns
    -------
    Bunch
        ``X_train``, ``X_test`` (float32 images ``(n, C, H, W)``), ``y_train``,
        ``y_test``, ``name``, ``image_shape``.
    """
    return _mnist_like("fashion_mnist", data_dir, download)


def cifar10(data_dir=None, download=False):
    """CIFAR-10 (50 000 + 10 000 colour images 32x32, its own split), from the python
    pickle batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``).

    Parameters
    ----------
    data_dir : str or Path, optional
        Where the files are (default ``default_data_dir() / name``).
    download : bool, default=False
        Download them through torchvision when missing.

    Returns
    -------
    Bunch
        ``X_train``, ``X_test`` (float32 images ``(n, C, H, W)``), ``y_train``,
        ``y_test``, ``name``, ``image_shape``.
    """
    needed = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]

    def read(folder):
        def batch(fname):
            with open(folder / fname, "rb") as f:
                d = pickle.load(f, encoding="bytes")
            images = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            return (images / 255.0).astype(np.float32), np.asarray(d[b"labels"])

        train = [batch(f) for f in needed[:5]]
        X_test, y_test = batch("test_batch")
        X_train = np.concatenate([b[0] for b in train])
        y_train = np.concatenate([b[1] for b in train])
        return _bunch("cifar10", X_train, X_test, y_train, y_test)

    return _load("cifar10", data_dir, download, needed, read)


#: The datasets by name: adding one is one entry here (the command's help lists them).
LOADERS = {
    "digits": digits,
    "synthetic": synthetic,
    "mnist": mnist,
    "fashion_mnist": fashion_mnist,
    "cifar10": cifar10,
}


def load(name, data_dir=None, **kwargs):
    """The dataset called ``name``, with the loader's arguments.

    Parameters
    ----------
    name : str
        A key of :data:`LOADERS`.
    data_dir : str or Path, optional
        Where the files are, for the loaders that read files (ignored by the others).
    **kwargs
        The loader's other arguments.

    Returns
    -------
    Bunch
    """
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(LOADERS)}")
    loader = LOADERS[name]
    if data_dir is not None and "data_dir" in inspect.signature(loader).parameters:
        kwargs["data_dir"] = data_dir
    return loader(**kwargs)

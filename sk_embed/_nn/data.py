"""The data path: whole tensors and batches sliced from them, or rows kept where the
user holds them and fetched batch by batch.

skorch's default ``Dataset`` + ``DataLoader`` assemble every batch sample by sample in
Python (``__getitem__`` + collate), which costs more than the forward and backward pass
of a small model. So in-memory float arrays become one float32 tensor on the target
device, and each batch is one gather of its rows (a slice when not shuffled).

Everything else stays where it is, in its own dtype, and each batch is fetched and made
float32 on the device when it is taken: sparse rows (:class:`SparseRows`), arrays of
other dtypes and memory-mapped arrays (:class:`ArrayRows`), and a user's torch
``Dataset`` (:class:`DatasetRows`). Those batches go through a torch ``DataLoader``
whose items are whole batches, so the ``DataLoader`` options (``num_workers``,
``pin_memory``, ...) apply to them.
"""

from __future__ import annotations

import mmap
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from torch.utils.data import DataLoader, Dataset, Subset

# Rows per chunk when a whole array is checked or scanned: bounded memory at any size.
_CHUNK_ELEMENTS = 1 << 22
# dtypes torch holds as they are; any other numeric dtype is made float32 in NumPy.
_TORCH_DTYPES = {
    np.dtype(t)
    for t in (
        np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64,
        np.float16, np.float32, np.float64,
    )
}  # fmt: skip


def check_float32_range(X):
    """Refuse values that are finite in float64 but infinite in float32, where the
    network computes.

    Parameters
    ----------
    X : ndarray
        Validated input (finite).

    Raises
    ------
    ValueError
        Naming the range.
    """
    limit = np.finfo(np.float32).max
    values = X.data if sp.issparse(X) else X
    if X.dtype == np.float64 and values.size and np.abs(values).max() > limit:
        raise ValueError(
            f"X has values beyond float32's range (|x| > {limit:.3g}); the network computes "
            "in float32, where they would be infinite. Rescale X."
        )


def check_finite_rows(X):
    """Check an array of any numeric dtype, chunk by chunk, for NaN, infinity and values
    beyond float32's range, without a copy of the whole array.

    Parameters
    ----------
    X : ndarray or np.memmap

    Raises
    ------
    ValueError
        Naming the problem and the first row that has it.
    """
    if X.dtype.kind not in "fc":
        return
    step = max(1, _CHUNK_ELEMENTS // max(1, int(np.prod(X.shape[1:]))))
    for start in range(0, len(X), step):
        chunk = np.asarray(X[start : start + step])
        bad = ~np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
        if bad.any():
            row = start + int(np.argmax(bad))
            what = "NaN" if np.isnan(chunk[row - start]).any() else "infinity"
            raise ValueError(f"Input X contains {what} (first at row {row}).")
        if chunk.dtype == np.float64:
            check_float32_range(chunk)


def validation_options(X):
    """scikit-learn's ``validate_data`` options for input the data path takes: an array
    of a numeric dtype keeps it (a float array is made float32 on the device, any other
    stays as it is until its batches are taken), sparse rows are accepted, and a memory
    map is left to :func:`input_rows` to check chunk by chunk, never copied.

    Parameters
    ----------
    X : array-like

    Returns
    -------
    dict
    """
    dtype = getattr(X, "dtype", None)
    numeric = isinstance(dtype, np.dtype) and dtype.kind in "biuf"
    return dict(
        allow_nd=True,
        dtype=None if numeric else [np.float32, np.float64],
        accept_sparse=["csr", "csc"],
        ensure_all_finite=not isinstance(X, np.memmap),
    )


def input_rows(X, validated):
    """What the data path keeps of the user's input once validated: an in-memory float
    array or sparse matrix as it is (the net copies it to float32 on the device), any
    other array (another dtype, a memory map) as :class:`ArrayRows` that stay where the
    user holds them, checked chunk by chunk for values the network cannot take.

    Parameters
    ----------
    X : array-like
        What the user passed.
    validated : ndarray or sparse matrix
        ``X`` through :func:`validation_options`' ``validate_data``.

    Returns
    -------
    ndarray, sparse matrix or ArrayRows
    """
    memmap = isinstance(X, np.memmap)
    if sp.issparse(validated) or (validated.dtype in (np.float32, np.float64) and not memmap):
        check_float32_range(validated)  # validate_data checked finiteness
        return validated
    check_finite_rows(validated)
    return ArrayRows(X if memmap else validated, "cpu")


def check_device(device):
    """Refuse a device that torch cannot name or this machine does not have.

    Parameters
    ----------
    device : str or torch.device

    Raises
    ------
    ValueError
        Naming ``device`` and what is available.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device={device!r} is not a torch device ({error}).") from error
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    available = ["cpu"] + [f"cuda:{i}" for i in range(n_cuda)]
    if torch.backends.mps.is_available():
        available.append("mps")
    missing = (
        (dev.type == "cuda" and (n_cuda == 0 or (dev.index or 0) >= n_cuda))
        or (dev.type == "mps" and "mps" not in available)
        or dev.type not in ("cpu", "cuda", "mps")
    )
    if missing:
        raise ValueError(
            f"device={device!r} is not available on this machine; available: "
            f"{', '.join(available)}."
        )


class _Rows:
    """Rows kept where they are, a selection of them (``index``) taken lazily.

    Subclasses give ``_count`` (rows held) and ``_fetch(rows)`` (those rows as a CPU
    tensor, in their own dtype where torch has it).
    """

    def __init__(self, device, index=None):
        self.device = torch.device(device)
        self.index = index

    def __len__(self):
        return self._count() if self.index is None else len(self.index)

    def _rows(self, positions):
        positions = np.asarray(positions.cpu() if torch.is_tensor(positions) else positions)
        return positions if self.index is None else self.index[positions]

    def __getitem__(self, positions):
        """The rows at ``positions`` (indices, a boolean mask or a slice of this
        selection), still not fetched."""
        if isinstance(positions, slice):
            positions = np.arange(len(self))[positions]
        positions = np.asarray(positions.cpu() if torch.is_tensor(positions) else positions)
        if positions.dtype == bool:
            positions = np.flatnonzero(positions)
        return self._selected(self._rows(positions).astype(np.intp))

    def on(self, device):
        """These rows, computed on ``device``.

        Parameters
        ----------
        device : str or torch.device

        Returns
        -------
        rows of the same type
        """
        other = self._selected(self.index)
        other.device = torch.device(device)
        return other

    def _selected(self, rows):
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.index = rows
        return other

    def fetch(self, positions):
        """Rows at ``positions`` as a CPU tensor (their own dtype where torch has it).

        Parameters
        ----------
        positions : array-like of int

        Returns
        -------
        tensor of shape (len(positions), ...)
        """
        return self._fetch(self._rows(positions))


def to_device(batch, device, non_blocking=False):
    """A fetched batch as float32 on ``device`` (moved first: a narrow dtype is cheaper
    to move).

    Parameters
    ----------
    batch : tensor
    device : torch.device
    non_blocking : bool, default=False

    Returns
    -------
    tensor
    """
    return batch.to(device, non_blocking=non_blocking).to(torch.float32)


class SparseRows(_Rows):
    """Rows of a sparse matrix that stay sparse in memory; a batch of them is made dense
    (float32) when it is taken.

    Parameters
    ----------
    matrix : scipy sparse matrix or array of shape (n, n_features)
        Converted to CSR (rows are what is selected).
    device : str or torch.device
    """

    def __init__(self, matrix, device):
        super().__init__(device)
        self.matrix = sp.csr_matrix(matrix)

    def _selected(self, rows):  # a sparse selection is small: take it now
        return SparseRows(self.matrix if rows is None else self.matrix[rows], self.device)

    def _count(self):
        return self.matrix.shape[0]

    def _fetch(self, rows):
        return torch.from_numpy(self.matrix[rows].toarray().astype(np.float32, copy=False))


class ArrayRows(_Rows):
    """Rows of a NumPy array of any numeric dtype, memory-mapped ones included, kept in
    their dtype where they are; a batch is read when it is taken.

    Parameters
    ----------
    array : ndarray or np.memmap of shape (n, ...)
    device : str or torch.device
    """

    def __init__(self, array, device):
        super().__init__(device)
        self.array = array

    @property
    def dtype(self):
        """The array's dtype."""
        return self.array.dtype

    @property
    def shape(self):
        """``(n, *sample_shape)`` of this selection."""
        return (len(self), *self.array.shape[1:])

    def _count(self):
        return len(self.array)

    def _fetch(self, rows):
        batch = np.take(self.array, rows, axis=0)
        if batch.dtype not in _TORCH_DTYPES:
            batch = batch.astype(np.float32)
        return torch.from_numpy(batch)

    def __getstate__(self):
        # A memory map travels to DataLoader workers (or a pickle) as its file, not its
        # contents.
        state = dict(self.__dict__)
        a = self.array
        if isinstance(a, np.memmap) and a.filename and isinstance(a.base, mmap.mmap):
            order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
            state["array"] = ("memmap", a.filename, a.dtype.str, a.offset, a.shape, order)
        return state

    def __setstate__(self, state):
        if isinstance(state["array"], tuple) and state["array"][0] == "memmap":
            _, filename, dtype, offset, shape, order = state["array"]
            state["array"] = np.memmap(
                filename, dtype=dtype, mode="r", offset=offset, shape=shape, order=order
            )
        self.__dict__.update(state)


class DatasetRows(_Rows):
    """The samples of a torch ``Dataset`` whose items are a sample or a
    ``(sample, label, ...)`` tuple; a batch is read item by item and stacked when it is
    taken.

    Every item must be an array or a tensor of one shape and one dtype, which the first
    item read sets (or ``shape``, a fitted model's); an item that differs is an error
    naming its index.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style: ``len`` and integer indexing.
    device : str or torch.device
    shape : tuple of int, optional
        The shape every sample must have.
    """

    def __init__(self, dataset, device, shape=None):
        super().__init__(device)
        self.dataset = dataset
        if len(dataset) == 0:
            raise ValueError("The dataset has no items.")
        first = self._sample(0)
        self.sample_shape = tuple(first.shape) if shape is None else tuple(shape)
        self.dtype = first.dtype
        self._check(first, 0)

    def _count(self):
        return len(self.dataset)

    @property
    def shape(self):
        """``(n, *sample_shape)`` of this selection."""
        return (len(self), *self.sample_shape)

    def _sample(self, i):
        item = self.dataset[int(i)]
        if isinstance(item, (tuple, list)):
            item = item[0]
        if isinstance(item, np.ndarray) and item.dtype.kind in "biuf":
            item = torch.from_numpy(item if item.dtype in _TORCH_DTYPES else item.astype("f4"))
        if not torch.is_tensor(item) or item.is_complex():
            raise TypeError(
                f"Item {int(i)} of the dataset holds a {type(item).__name__}"
                f"{' of dtype ' + str(item.dtype) if hasattr(item, 'dtype') else ''}; items "
                "must be numeric arrays or tensors, or (sample, label) pairs of them. For "
                "images, give the dataset a transform that makes tensors (torchvision's "
                "transforms.PILToTensor() or ToTensor())."
            )
        return item

    def _check(self, sample, i):
        if tuple(sample.shape) != self.sample_shape or sample.dtype != self.dtype:
            raise ValueError(
                f"Item {int(i)} of the dataset is a sample of shape {tuple(sample.shape)} and "
                f"dtype {sample.dtype}; the dataset's samples are of shape "
                f"{self.sample_shape} and dtype {self.dtype}. Every item must have one "
                "shape and one dtype (resize or cast in the dataset's transform)."
            )

    def _fetch(self, rows):
        samples = []
        for i in rows:
            sample = self._sample(i)
            self._check(sample, i)
            samples.append(sample)
        batch = torch.stack(samples)
        if batch.is_floating_point():
            finite = torch.isfinite(batch.reshape(len(batch), -1)).all(dim=1)
            if not finite.all():
                i = rows[int(torch.argmin(finite.int()))]
                raise ValueError(f"Item {int(i)} of the dataset contains NaN or infinity.")
        return batch

    def labels(self):
        """The labels the items carry (the second element of each), read once.

        Returns
        -------
        ndarray of shape (n,)

        Raises
        ------
        ValueError
            When the items carry no labels.
        """
        labels = []
        for i in self._rows(np.arange(len(self))):
            item = self.dataset[int(i)]
            if not isinstance(item, (tuple, list)) or len(item) < 2:
                raise ValueError(
                    f"y is None and item {int(i)} of the dataset carries no label (items "
                    "are samples, not (sample, label) pairs); pass y, the labels aligned "
                    "with the dataset (for a torchvision dataset, dataset.targets)."
                )
            labels.append(self._label(item[1], i, labels))
        return np.asarray(labels)

    @staticmethod
    def _label(label, i, before):
        """One item's label as a scalar of the same kind as the labels ``before`` it."""
        if torch.is_tensor(label) or isinstance(label, np.ndarray):
            if label.size == 1 if isinstance(label, np.ndarray) else label.numel() == 1:
                label = label.item()
            else:
                raise ValueError(
                    f"Item {int(i)} of the dataset carries a label of shape "
                    f"{tuple(label.shape)}; labels must be one class each (an int or a "
                    "str), not one-hot rows or several values. Give the class index "
                    "(e.g. label.argmax()) in the dataset, or pass y."
                )
        if label is None or not isinstance(label, (str, bytes, bool, int, float, np.generic)):
            raise ValueError(
                f"Item {int(i)} of the dataset carries the label {label!r}; labels must "
                "be ints or strs (one kind for every item)."
            )
        if before and _kind(label) != _kind(before[0]):
            raise ValueError(
                f"Item {int(i)} of the dataset carries the label {label!r} "
                f"({type(label).__name__}), but item 0's is {before[0]!r} "
                f"({type(before[0]).__name__}); every label must be of one kind."
            )
        return label


def _kind(label):
    """Numbers are one kind of label, strings another."""
    return "str" if isinstance(label, (str, bytes, np.str_, np.bytes_)) else "number"


class Batch(NamedTuple):
    """One batch: inputs, encoded labels and, in a weighted fit, sample weights."""

    X: torch.Tensor
    y: torch.Tensor
    sample_weight: torch.Tensor | None = None


def device_rows(X, device):
    """Validated input as the net computes on it: an in-memory float array as one float32
    tensor on ``device`` (``torch.tensor`` copies, so the user's array is never shared or
    changed); sparse rows stay sparse and other rows stay where they are, each batch made
    float32 on the device when it is taken.

    Parameters
    ----------
    X : ndarray, sparse matrix, ArrayRows or DatasetRows
    device : str or torch.device

    Returns
    -------
    tensor, SparseRows, ArrayRows or DatasetRows
    """
    if sp.issparse(X):
        return SparseRows(X, device)
    if isinstance(X, _Rows):
        return X.on(device)
    # torch takes no negative strides (a view such as X[::-1]); contiguous arrays pass as is
    return torch.tensor(np.ascontiguousarray(X), dtype=torch.float32, device=device)


def training_data(X, y, sample_weight, device):
    """The data of one fit: rows of weight 0 left out (they take no part at all), the
    weights scaled to mean 1.

    Parameters
    ----------
    X : ndarray, sparse matrix, ArrayRows or DatasetRows
        Validated input.
    y : ndarray of int
        The network column of each sample's class.
    sample_weight : ndarray of float64, or None
    device : str or torch.device

    Returns
    -------
    TensorDataset
    """
    if sample_weight is not None:
        if not sample_weight.all():
            kept = sample_weight > 0
            X, y, sample_weight = X[kept], y[kept], sample_weight[kept]
        sample_weight = torch.tensor(sample_weight / sample_weight.mean(), dtype=torch.float32)
    return TensorDataset(
        device_rows(X, device),
        torch.as_tensor(y, dtype=torch.long, device=device),
        None if sample_weight is None else sample_weight.to(device),
    )


class TensorDataset(Dataset):
    """Inputs, (optional) encoded labels and (optional) sample weights.

    The inputs are a whole tensor, or rows kept elsewhere (:class:`SparseRows`,
    :class:`ArrayRows`, :class:`DatasetRows`). Works as an ordinary map-style dataset too,
    so skorch's ``train_split`` helpers (which wrap it in a ``Subset``) keep working.
    """

    def __init__(self, X, y=None, sample_weight=None):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        y = self.y[i] if self.y is not None else torch.tensor(0)
        if self.sample_weight is None:
            return self.X[i], y
        return self.X[i], y, self.sample_weight[i]

    def tensors(self):
        """``(X, y, sample_weight)``; ``y`` is a zero placeholder when the dataset has no
        labels, ``sample_weight`` None when it has no weights."""
        y = self.y if self.y is not None else torch.zeros(len(self.X), dtype=torch.long)
        w = self.sample_weight
        return self.X, y.to(self.X.device), None if w is None else w.to(self.X.device)


def _tensors(dataset):
    """``(X, y, sample_weight)`` of a :class:`TensorDataset` or a ``Subset`` of one."""
    if isinstance(dataset, TensorDataset):
        return dataset.tensors()
    if isinstance(dataset, Subset) and isinstance(dataset.dataset, TensorDataset):
        X, y, w = dataset.dataset.tensors()
        idx = torch.as_tensor(dataset.indices, dtype=torch.long, device=y.device)
        X = X[idx] if torch.is_tensor(X) else X[dataset.indices]
        return X, y[idx], None if w is None else w[idx]
    raise TypeError(
        f"TensorBatches needs a TensorDataset (or a Subset of one), got {type(dataset).__name__}"
    )


class _Fetches(Dataset):
    """An epoch's batches as the items of a ``DataLoader``: item ``i`` is batch ``i``'s
    rows, fetched (in a worker, when there are workers)."""

    def __init__(self, rows, batches):
        self.rows = rows
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.rows.fetch(self.batches[i])


class TensorBatches:
    """Iterate over ``(X_batch, y_batch)`` slices of a :class:`TensorDataset`, or
    ``(X_batch, y_batch, sample_weight_batch)`` when the dataset has weights.

    It takes the place of skorch's ``iterator_train`` / ``iterator_valid``; the
    ``iterator_train__*`` arguments of the estimator reach it.

    Parameters
    ----------
    dataset : TensorDataset or Subset of one
    batch_size : int, default=128
    shuffle : bool, default=False
        Draw a new order every epoch.
    generator : torch.Generator, optional
        Source of the shuffling order (seeded from the estimator's ``random_state``).
    drop_last : bool, default=False
        Skip a last, smaller batch.
    samples_per_class : int or None, default=None
        With ``shuffle``, class-balanced batches: each batch is ``batch_size // K``
        groups of ``K`` samples of one class (``P x K``), so every batch holds positive
        pairs. Each epoch covers every sample at least once; a class whose size is not
        a multiple of ``K`` fills its last group with its own samples again.
    sample_weights : bool, default=True
        Yield the dataset's sample weights with each batch, when it has them. The net's
        prediction and validation batches leave them out (skorch's steps take pairs).
    **loader_options
        torch ``DataLoader`` options (``num_workers``, ``pin_memory``,
        ``persistent_workers``, ...) for inputs fetched batch by batch (sparse rows,
        arrays kept in their dtype, memory maps, a ``Dataset``). A whole tensor's batches
        are views and need no loader; the options do not apply to it.
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        generator=None,
        drop_last=False,
        samples_per_class=None,
        sample_weights=True,
        **loader_options,
    ):
        self.X, self.y, self.sample_weight = _tensors(dataset)  # X: a tensor or rows
        if not sample_weights:
            self.sample_weight = None
        self.shuffle = shuffle
        self.generator = generator
        self.drop_last = drop_last
        self.loader_options = loader_options
        self.samples_per_class = samples_per_class if shuffle else None
        if self.samples_per_class is not None:
            k = int(self.samples_per_class)
            if k < 1:
                raise ValueError(f"samples_per_class must be >= 1; got {samples_per_class}")
            batch_size = max(k, batch_size // k * k)  # whole groups per batch
        self.batch_size = batch_size

    def _n_rows(self):
        if self.samples_per_class is None:
            return len(self.X)
        k = self.samples_per_class
        counts = torch.bincount(self.y)
        return int(((counts + k - 1) // k).sum()) * k

    def _starts(self, n):
        """Where the batches of ``n`` rows start. Training never gets a last batch of one
        sample (BatchNorm cannot train on it, a pair loss finds no pair in it): it joins
        the batch before."""
        if self.drop_last:
            return list(range(0, n // self.batch_size * self.batch_size, self.batch_size))
        starts = list(range(0, n, self.batch_size))
        if self.shuffle and len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return starts

    def __len__(self):
        return len(self._starts(self._n_rows()))

    def _order(self):
        """Row order of one epoch: shuffled, or shuffled groups of K same-class rows."""
        n = len(self.X)
        perm = torch.randperm(n, generator=self.generator)
        if self.samples_per_class is None:
            return perm
        k = self.samples_per_class
        y = self.y.cpu()[perm]
        by_class = perm[torch.argsort(y, stable=True)]  # grouped by class, random within
        counts = torch.bincount(y)
        starts = torch.cumsum(counts, 0) - counts
        padded = (counts + k - 1) // k * k
        cls = torch.repeat_interleave(torch.arange(len(counts)), padded)
        pos = torch.arange(len(cls)) - torch.repeat_interleave(
            torch.cumsum(padded, 0) - padded, padded
        )
        groups = by_class[starts[cls] + pos % counts[cls]].view(-1, k)
        return groups[torch.randperm(len(groups), generator=self.generator)].reshape(-1)

    def _spans(self, n):
        starts = self._starts(n)
        ends = [*starts[1:], n] if not self.drop_last else [s + self.batch_size for s in starts]
        return list(zip(starts, ends))

    def _worker_seeds(self):
        # DataLoader draws its workers' seeds from this generator. It follows the
        # shuffling generator's seed but never draws from it, so the batches are the
        # same with and without workers, and a Dataset's random transforms differ from
        # epoch to epoch and follow random_state.
        if self.generator is None or not self.loader_options.get("num_workers"):
            return torch.Generator()
        if getattr(self, "_workers", None) is None:
            self._workers = torch.Generator().manual_seed(self.generator.initial_seed() + 1)
        seed = int(torch.randint(2**62, (1,), generator=self._workers))
        return torch.Generator().manual_seed(seed)

    def __iter__(self):
        order = self._order() if self.shuffle else None
        labels = [self.y] if self.sample_weight is None else [self.y, self.sample_weight]
        if order is not None:
            labels = [part[order.to(part.device)] for part in labels]
        spans = self._spans(len(labels[0]))  # class-balanced orders repeat rows
        if torch.is_tensor(self.X):  # slices, or one gather per batch (no shuffled copy)
            if order is None:
                batches = (self.X[start:end] for start, end in spans)
            else:
                order = order.to(self.X.device)
                batches = (self.X[order[start:end]] for start, end in spans)
        else:
            rows = np.arange(len(self.X)) if order is None else order.numpy()
            fetches = _Fetches(self.X, [rows[start:end] for start, end in spans])
            loader = DataLoader(
                fetches, batch_size=None, generator=self._worker_seeds(), **self.loader_options
            )
            pinned = bool(self.loader_options.get("pin_memory"))
            batches = (to_device(b, self.X.device, non_blocking=pinned) for b in loader)
        for batch, (start, end) in zip(batches, spans):
            yield Batch(batch, *(part[start:end] for part in labels))

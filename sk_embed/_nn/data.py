"""The fast data path: whole tensors and batches sliced from them.

skorch's default ``Dataset`` + ``DataLoader`` assemble every batch sample by sample in
Python (``__getitem__`` + collate), which costs more than the forward and backward pass
of a small model. Here the data is one tensor on the target device, shuffled once per
epoch with a single gather, and batches are views into it. Sparse rows stay sparse
(:class:`SparseRows`): they are shuffled as a sparse matrix and each batch is made dense
on the device.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch.utils.data import Dataset, Subset


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


class SparseRows:
    """Rows of a sparse matrix that stay sparse in memory; a batch of them is made dense
    (float32) on ``device`` when it is taken.

    Parameters
    ----------
    matrix : scipy sparse matrix or array of shape (n, n_features)
        Converted to CSR (rows are what is selected).
    device : str or torch.device
    """

    def __init__(self, matrix, device):
        self.matrix = sp.csr_matrix(matrix)
        self.device = torch.device(device)

    def __len__(self):
        return self.matrix.shape[0]

    def __getitem__(self, rows):
        if isinstance(rows, torch.Tensor):
            rows = rows.cpu().numpy()
        return SparseRows(self.matrix[rows], self.device)

    def dense(self):
        """The rows as a dense float32 tensor on the device.

        Returns
        -------
        tensor of shape (n, n_features)
        """
        return torch.as_tensor(self.matrix.toarray(), dtype=torch.float32, device=self.device)


def dense(X):
    """A batch as a tensor: :class:`SparseRows` made dense, a tensor as it is.

    Parameters
    ----------
    X : tensor or SparseRows

    Returns
    -------
    tensor
    """
    return X.dense() if isinstance(X, SparseRows) else X


class TensorDataset(Dataset):
    """Inputs, (optional) encoded labels and (optional) sample weights held as whole
    tensors.

    Works as an ordinary map-style dataset too, so skorch's ``train_split`` helpers
    (which wrap it in a ``Subset``) keep working.
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
        idx = torch.as_tensor(dataset.indices, dtype=torch.long, device=X.device)
        return X[idx], y[idx], None if w is None else w[idx]
    raise TypeError(
        f"TensorBatches needs a TensorDataset (or a Subset of one), got {type(dataset).__name__}"
    )


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
    ):
        self.X, self.y, self.sample_weight = _tensors(dataset)  # X: a tensor or SparseRows
        if not sample_weights:
            self.sample_weight = None
        self.shuffle = shuffle
        self.generator = generator
        self.drop_last = drop_last
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

    def __iter__(self):
        parts = [self.X, self.y]
        if self.sample_weight is not None:
            parts.append(self.sample_weight)
        if self.shuffle:
            order = self._order().to(self.X.device)
            parts = [part[order] for part in parts]
        n = len(parts[0])  # class-balanced orders repeat rows to fill their groups
        starts = self._starts(n)
        ends = [*starts[1:], n] if not self.drop_last else [s + self.batch_size for s in starts]
        for start, end in zip(starts, ends):
            X, *rest = (part[start:end] for part in parts)
            yield (dense(X), *rest)

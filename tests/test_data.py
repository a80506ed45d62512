"""Tests of sk_embed/_nn/data.py."""

import numpy as np
import pytest
import torch
from torch.utils.data import Subset

from sk_embed import EmbeddingClassifier
from sk_embed._nn.data import TensorBatches, TensorDataset


def test_batches_cover_every_sample_once_and_shuffle_per_epoch():
    X = torch.arange(10.0).unsqueeze(1)
    y = torch.arange(10)
    it = TensorBatches(
        TensorDataset(X, y), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    assert len(it) == 3
    epochs = []
    for _ in range(2):
        batches = list(it)
        assert [len(b[0]) for b in batches] == [4, 4, 2]
        xs = torch.cat([b[0] for b in batches]).squeeze(1)
        ys = torch.cat([b[1] for b in batches])
        assert torch.equal(xs.long(), ys)  # rows and labels move together
        assert sorted(ys.tolist()) == list(range(10))
        epochs.append(ys)
    assert not torch.equal(epochs[0], epochs[1])


def test_no_shuffle_keeps_order_and_drop_last():
    X = torch.arange(10.0).unsqueeze(1)
    it = TensorBatches(TensorDataset(X), batch_size=4, drop_last=True)
    assert len(it) == 2
    assert torch.equal(torch.cat([b[0] for b in it]).squeeze(1), torch.arange(8.0))


def test_subset_of_tensor_dataset():
    X = torch.arange(10.0).unsqueeze(1)
    it = TensorBatches(Subset(TensorDataset(X, torch.arange(10)), [7, 2, 5]), batch_size=2)
    assert torch.cat([b[1] for b in it]).tolist() == [7, 2, 5]


def test_other_datasets_are_refused_with_a_reason():
    with pytest.raises(TypeError, match="TensorDataset"):
        TensorBatches([1, 2, 3])


def test_balanced_batches_are_p_classes_by_k_samples():
    y = torch.tensor([0] * 10 + [1] * 7 + [2] * 3 + [3] * 12)
    X = torch.arange(len(y), dtype=torch.float32).unsqueeze(1)
    it = TensorBatches(
        TensorDataset(X, y),
        batch_size=10,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        samples_per_class=4,
    )
    assert it.batch_size == 8  # whole groups of 4
    seen = []
    for xb, yb, _ in it:
        groups = yb.view(-1, 4)
        assert (groups == groups[:, :1]).all()  # each group is one class
        assert torch.equal(y[xb.squeeze(1).long()], yb)
        seen += xb.squeeze(1).long().tolist()
    assert set(seen) == set(range(len(y)))  # every sample at least once
    assert len(seen) == (3 + 2 + 1 + 3) * 4


def test_training_never_gets_a_last_batch_of_one_sample(digits):
    n = 129
    ds = TensorDataset(
        torch.arange(n, dtype=torch.float32)[:, None], torch.zeros(n, dtype=torch.long)
    )
    train = TensorBatches(
        ds, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    sizes = [len(xb) for xb, *_ in train]
    assert sizes == [64, 65] and len(train) == 2
    seen = torch.cat([xb for xb, *_ in train]).flatten().sort().values
    assert torch.equal(seen, torch.arange(n, dtype=torch.float32))  # every sample once
    assert [len(xb) for xb, *_ in TensorBatches(ds, batch_size=64)] == [64, 64, 1]  # inference
    # the case that made torch's BatchNorm raise: 129 samples in batches of 64
    X, y = digits
    clf = EmbeddingClassifier(backbone__batch_norm=True, max_epochs=2, tol=None)
    assert clf.fit(X[:n], y[:n]).score(X[:n], y[:n]) > 0.2


def test_sparse_rows_give_the_batches_of_the_dense_rows():
    import scipy.sparse as sp

    from sk_embed._nn.data import SparseRows

    rng = np.random.RandomState(0)
    dense = rng.rand(50, 7) * (rng.rand(50, 7) < 0.3)
    y = torch.as_tensor(rng.randint(0, 3, 50))
    batches = {}
    for name, X in (("dense", torch.tensor(dense, dtype=torch.float32)),
                    ("sparse", SparseRows(sp.csc_matrix(dense), "cpu"))):  # fmt: skip
        gen = torch.Generator().manual_seed(0)
        iterator = TensorBatches(TensorDataset(X, y), batch_size=16, shuffle=True, generator=gen)
        batches[name] = list(iterator)
    assert len(batches["dense"]) == len(batches["sparse"]) == 4
    for (Xd, yd, _), (Xs, ys, _) in zip(batches["dense"], batches["sparse"]):
        assert isinstance(Xs, torch.Tensor) and Xs.dtype == torch.float32
        torch.testing.assert_close(Xs, Xd)
        torch.testing.assert_close(ys, yd)

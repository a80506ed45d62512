import pytest
import torch
from torch.utils.data import Subset

from sk_embed._data import TensorBatches, TensorDataset
from sk_embed.backbones import CNN, MLP, build_backbone


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


@pytest.mark.parametrize("shape", [(8, 8), (1, 28, 28), (3, 32, 32), (2, 7, 9)])
def test_cnn_any_image_size(shape):
    net = CNN(shape, 5)
    out = net(torch.zeros(4, *shape))
    assert out.shape == (4, 5)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [256, 5]


def test_mlp_flattens_images():
    assert MLP(64, 3)(torch.zeros(2, 8, 8)).shape == (2, 3)


def test_resnet18_without_torchvision_names_the_extra():
    try:
        import torchvision  # noqa: F401
    except Exception:
        with pytest.raises(ImportError, match=r"sk-embed\[vision\]"):
            build_backbone("resnet18", (3, 32, 32), 2, {})
    else:
        net = build_backbone("resnet18", (1, 32, 32), 2, {})
        assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 2)

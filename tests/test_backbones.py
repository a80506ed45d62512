"""Tests of sk_embed/backbones.py."""

import pytest
import torch
from torch import nn

from sk_embed import EmbeddingClassifier
from sk_embed.backbones import BACKBONES, CNN, CUSTOM_LR, MLP, build_backbone


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


def test_mlp_batch_norm_and_dropout_are_optional_layers():
    plain = MLP(10, 2)
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.Dropout)) for m in plain.modules())
    net = MLP(10, 2, hidden_sizes=(8, 4), batch_norm=True, dropout=0.5)
    assert [m.num_features for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d)] == [8, 4]
    assert [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)] == [0.5, 0.5]
    x = torch.randn(16, 10)
    net.train()
    torch.manual_seed(0)
    a = net(x)
    torch.manual_seed(1)
    assert not torch.equal(a, net(x))  # dropout draws masks in training
    net.eval()
    torch.testing.assert_close(net(x), net(x))


def test_the_default_learning_rate_is_the_backbones_own(digits):
    """``lr=None``: 1e-2 for the mlp, 1e-3 for the cnn and modules of one's own (the
    cnn collapses at 1e-2 on 28x28 images; docs/robustness.md); an explicit lr wins."""
    X, y = digits
    X, y = X[:120], y[:120]
    quick = dict(max_epochs=1, tol=None, lr_schedule="constant", random_state=0)
    mlp = EmbeddingClassifier(**quick).fit(X, y)
    cnn = EmbeddingClassifier(backbone="cnn", **quick).fit(X.reshape(-1, 8, 8), y)
    own = EmbeddingClassifier(backbone=nn.Linear(64, 2), standardize=False, **quick).fit(X, y)
    set_ = EmbeddingClassifier(backbone="cnn", lr=0.05, **quick).fit(X.reshape(-1, 8, 8), y)
    assert mlp.lr is None and cnn.lr is None  # the parameter stays as given
    lrs = [clf.history_[:, "lr"][0] for clf in (mlp, cnn, own, set_)]
    assert lrs == [BACKBONES["mlp"].lr, BACKBONES["cnn"].lr, CUSTOM_LR, 0.05]
    assert lrs[:3] == [1e-2, 1e-3, 1e-3]
    assert BACKBONES["resnet18"].lr == 1e-3

"""Tests of sk_embed/_nn/net.py: option routing, building the parts from prefixed
options, and the one-way contract between a technique's head and loss."""

import numpy as np
import pytest
import torch

from sk_embed import available_losses
from sk_embed._nn.data import TensorDataset
from sk_embed._nn.net import EmbeddingNet
from sk_embed._nn.options import is_option
from sk_embed.losses import get_technique


@pytest.mark.parametrize(
    "name,routed",
    [
        ("loss__margin", True),
        ("backbone__hidden_sizes", True),
        ("optimizer__weight_decay", True),
        ("iterator_train__samples_per_class", True),
        ("callbacks", True),
        ("train_split", True),
        ("optimizer", True),
        ("loss__", False),
        ("criterion__reduction", False),
        ("module__x", False),
        ("margin", False),
    ],
)
def test_routing_table(name, routed):
    assert is_option(name) is routed


def _net(**options):
    return EmbeddingNet(
        technique="softmax",
        backbone="mlp",
        activation="linear",
        n_components=3,
        n_classes=4,
        input_shape=(5,),
        seed=0,
        max_epochs=2,
        tol=None,
        **options,
    )


def test_parts_are_built_from_prefixed_options():
    net = _net(loss__label_smoothing=0.2, backbone__hidden_sizes=(7,)).initialize()
    assert net.criterion_.label_smoothing == 0.2
    widths = [m.out_features for m in net.module_.encoder.modules() if hasattr(m, "out_features")]
    assert widths == [7, 3]
    assert net.module_.head.weight.shape == (4, 3)


def test_unknown_technique_option_is_named():
    with pytest.raises(ValueError, match="no parameter.*loss__margin"):
        _net(loss__margin=0.1).initialize()


def test_the_class_positions_are_placed_after_training():
    X = torch.randn(40, 5)
    y = np.arange(40) % 4
    net = _net().fit(TensorDataset(X, torch.as_tensor(y)), y)
    _, z = net.scores_and_embedding(X)
    means = torch.stack([z[torch.as_tensor(y) == k].mean(0) for k in range(4)])
    torch.testing.assert_close(net.module_.head.centers, means)


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()} | {
        k: v for k, v in vars(module).items() if isinstance(v, int | float | bool | str)
    }


@pytest.mark.parametrize("loss", available_losses())
def test_the_loss_only_reads_the_head_and_the_head_never_calls_the_loss(loss):
    torch.manual_seed(0)
    head, criterion = get_technique(loss).build(3, 4)
    z = torch.randn(16, 3, requires_grad=True)
    y = torch.arange(16) % 4
    head.place_centers(z.detach(), y)
    before = _state(head)
    calls = []
    criterion.register_forward_hook(lambda *args: calls.append(1))
    criterion.train()
    head.train()
    criterion(head(z), z, y, head).backward()
    assert calls == [1]
    after = _state(head)
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]) if torch.is_tensor(value) else value == after[key]
    # every hook of the head works without the loss
    head.eval()
    scores = head(z.detach())
    head.proba(scores, z.detach())
    head.score_samples(scores, z.detach())
    head.embed(z.detach())
    head.place_centers(z.detach(), y)
    head.add_classes(z.detach()[:4], torch.tensor([0, 0, 1, 1]), 2)
    assert head.centers.shape == (6, 3)
    assert calls == [1]

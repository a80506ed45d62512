"""Tests of sk_embed/losses/base.py."""

import torch

from sk_embed.losses import class_means


def test_class_means():
    Z = torch.tensor([[0.0, 0.0], [2.0, 2.0], [5.0, 1.0]])
    y = torch.tensor([0, 0, 2])
    means = class_means(Z, y, 3)
    assert torch.equal(means[0], torch.tensor([1.0, 1.0]))
    assert torch.isnan(means[1]).all()
    assert torch.equal(means[2], torch.tensor([5.0, 1.0]))

"""Tests of sk_embed/losses/normalized_softmax.py."""

import torch

from sk_embed.losses import LinearHead, get_technique


def test_normalize_weights_constraint_holds_during_training():
    head = LinearHead(4, 3, normalize_weights=True)
    with torch.no_grad():
        head.weight.mul_(7.0)
    assert head.bias is None
    assert torch.allclose(head.class_weights().norm(dim=1), torch.ones(3))


def test_normalized_softmax_pins_the_constraint():
    head, _ = get_technique("normalized_softmax").build(3, 4, params={"normalize_weights": True})
    assert head.normalize_weights and head.bias is None
    assert torch.allclose(head.class_weights().norm(dim=1), torch.ones(4))

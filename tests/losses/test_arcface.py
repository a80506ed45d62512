"""Tests of sk_embed/losses/arcface.py."""

import math

import pytest
import torch

from sk_embed.losses import get_technique


def test_arcface_fallback_branch_is_taken_and_matches():
    head, loss = get_technique("arcface").build(2, 2, params={"margin": 0.5})
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    z = torch.tensor([[-1.0, 0.05], [0.2, 1.0]], dtype=torch.float32)  # theta_0 ~ pi, theta_1 small
    y = torch.tensor([0, 1])
    cos_y = head(z).gather(1, y.unsqueeze(1))
    target = loss.modify_target(cos_y, z).squeeze(1)
    assert target[0].item() == pytest.approx(cos_y[0].item() - 0.5 * math.sin(0.5), rel=1e-6)
    theta1 = math.acos(cos_y[1].item())
    assert target[1].item() == pytest.approx(math.cos(theta1 + 0.5), rel=1e-5)

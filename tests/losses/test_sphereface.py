"""Tests of sk_embed/losses/sphereface.py."""

import math

import pytest
import torch

from sk_embed import EmbeddingClassifier
from sk_embed.losses import get_technique

QUICK = dict(max_epochs=3, tol=None, random_state=0)


def test_sphereface_margin_must_be_an_integer(small):
    X, y = small
    with pytest.raises(ValueError, match=r"loss__margin.*an int in the range \[1, inf\)"):
        EmbeddingClassifier("sphereface", loss__margin=1.5, **QUICK).fit(X, y)


def test_sphereface_schedule_and_psi():
    _, loss = get_technique("sphereface").build(2, 3)
    assert loss.current_lambda() == 1000.0
    loss.iteration.fill_(100)
    assert loss.current_lambda() == pytest.approx(1000 / 13)
    loss.iteration.fill_(10**6)
    assert loss.current_lambda() == 5.0
    # psi is monotone decreasing on [0, pi] and equals cos(m theta) on [0, pi/m]
    theta = torch.linspace(0, math.pi, 1001, dtype=torch.float64)
    values = loss.psi(torch.cos(theta))
    assert (values[1:] <= values[:-1] + 1e-9).all()
    small = theta < math.pi / 4
    assert torch.allclose(values[small], torch.cos(4 * theta[small]), atol=1e-6)


def test_sphereface_counts_training_iterations_only():
    head, loss = get_technique("sphereface").build(2, 3)
    z, y = torch.randn(5, 2), torch.tensor([0, 1, 2, 0, 1])
    loss.train()
    loss(head(z), z, y, head)
    loss.eval()
    loss(head(z), z, y, head)
    assert int(loss.iteration) == 1

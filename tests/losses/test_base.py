"""Tests of sk_embed/losses/_base.py."""

import torch

from sk_embed.losses import class_means


def test_class_means():
    Z = torch.tensor([[0.0, 0.0], [2.0, 2.0], [5.0, 1.0]])
    y = torch.tensor([0, 0, 2])
    means = class_means(Z, y, 3)
    assert torch.equal(means[0], torch.tensor([1.0, 1.0]))
    assert torch.isnan(means[1]).all()
    assert torch.equal(means[2], torch.tensor([5.0, 1.0]))


def test_a_head_written_with_the_old_hook_name_still_places_its_centers():
    import pytest

    from sk_embed.losses import Head

    with pytest.warns(FutureWarning, match="renamed place_centers"):

        class OldHead(Head):
            def forward(self, z):
                return z

            def fit_points(self, z, y):
                self.centers.fill_(7.0)

    head = OldHead(2, 2)
    head.place_centers(torch.zeros(2, 2), torch.tensor([0, 1]))
    assert torch.equal(head.centers, torch.full((2, 2), 7.0))

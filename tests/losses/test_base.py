"""Tests of sk_embed/losses/_base.py."""

import pytest
import torch

from sk_embed.losses import class_means


def test_class_means():
    Z = torch.tensor([[0.0, 0.0], [2.0, 2.0], [5.0, 1.0]])
    y = torch.tensor([0, 0, 2])
    means = class_means(Z, y, 3)
    assert torch.equal(means[0], torch.tensor([1.0, 1.0]))
    assert torch.isnan(means[1]).all()
    assert torch.equal(means[2], torch.tensor([5.0, 1.0]))


def test_center_spread_is_the_mean_squared_distance_between_two_centers():
    from sk_embed.losses._base import center_spread

    for dtype in (torch.float32, torch.float64):
        c = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=dtype)
        pairs = [((c[i] - c[j]) ** 2).sum() for i in range(5) for j in range(5) if i != j]
        torch.testing.assert_close(center_spread(c), torch.stack(pairs).mean())
    assert center_spread(torch.zeros(1, 3)) == 1  # one center, or all in one place
    assert center_spread(torch.zeros(4, 3)) == 1


@pytest.mark.parametrize("loss", ["center", "contrastive", "triplet", "regression"])
def test_distance_scores_do_not_depend_on_the_embedding_s_scale(loss):
    """score_samples is minus the squared distance to the nearest center over the mean
    squared distance between centers, so a model whose embedding (centers included) is
    a times larger scores every sample the same: a threshold carries over between fits
    that end at different scales (OpenSetClassifier's folds and its refit)."""
    from sk_embed.losses import get_technique
    from sk_embed.losses._base import squared_distances

    torch.manual_seed(0)
    head, _ = get_technique(loss).build(3, 4)
    head.eval()
    z = torch.randn(10, 3)
    centers = head.centers.detach().clone() if loss == "regression" else torch.randn(4, 3)
    head.centers.data.copy_(centers)
    want = -squared_distances(z, centers).min(1).values
    pairs = squared_distances(centers, centers)
    want = want / (pairs.sum() / 12)
    torch.testing.assert_close(head.score_samples(head(z), z), want)
    head.centers.data.mul_(7.0)
    torch.testing.assert_close(head.score_samples(head(7.0 * z), 7.0 * z), want)

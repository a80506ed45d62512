"""Points spread evenly on the unit sphere, for class weights and class targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def spread_on_sphere(n_points, n_components, *, steps=300, generator=None, dtype=torch.float32):
    """``n_points`` unit vectors in ``n_components`` dimensions, as far apart as found.

    Starts from random directions (``generator`` decides which) and minimizes the
    Riesz energy ``sum_{i<j} 1 / ||x_i - x_j||`` by projected gradient descent in
    float64. In 1-D the answer is +-1 alternating; in 2-D, up to a rotation, the regular
    polygon; for ``n_points <= n_components + 1`` close to a regular simplex.

    Returns
    -------
    points : tensor of shape (n_points, n_components), unit rows
    """
    if n_components == 1:
        signs = torch.tensor([(-1.0) ** i for i in range(n_points)], dtype=torch.float64)
        return signs.unsqueeze(1).to(dtype)
    x = torch.randn(n_points, n_components, generator=generator, dtype=torch.float64)
    x = F.normalize(x, dim=1)
    if n_points < 2:
        return x.to(dtype)
    x.requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.05)
    mask = ~torch.eye(n_points, dtype=torch.bool)
    for step in range(steps):
        opt.param_groups[0]["lr"] = 0.05 * (1 - step / steps) + 1e-3
        unit = F.normalize(x, dim=1)
        dist = torch.cdist(unit, unit)[mask].clamp_min(1e-9)
        energy = (1.0 / dist).sum()
        opt.zero_grad()
        energy.backward()
        opt.step()
    return F.normalize(x.detach(), dim=1).to(dtype)

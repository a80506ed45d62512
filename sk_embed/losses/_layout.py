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


def circle(n_points, n_components):
    """``n_points`` evenly on the unit circle (2-D only), the first at angle 0."""
    if n_components != 2:
        raise ValueError(
            f"loss__targets='circle' is a 2-D layout; n_components={n_components}. "
            "Use 'sphere' (any dimension), 'grid' or 'simplex'."
        )
    angles = 2 * torch.pi * torch.arange(n_points, dtype=torch.float64) / n_points
    return torch.stack([torch.cos(angles), torch.sin(angles)], 1)


def grid(n_points, n_components):
    """The first ``n_points`` nodes (in row-major order) of the smallest regular grid
    with at least ``n_points`` nodes in ``n_components`` dimensions, spanning [-1, 1]."""
    side = 1
    while side**n_components < n_points:
        side += 1
    axis = torch.linspace(-1, 1, side, dtype=torch.float64) if side > 1 else torch.zeros(1)
    mesh = torch.cartesian_prod(*[axis.double()] * n_components) if n_components > 1 else axis
    return mesh.reshape(-1, n_components)[:n_points]


def simplex(n_points, n_components):
    """The vertices of a regular simplex on the unit sphere (needs ``d >= C - 1``)."""
    if n_components < n_points - 1:
        raise ValueError(
            f"loss__targets='simplex' needs n_components >= n_classes - 1 = {n_points - 1}; "
            f"got n_components={n_components}. Use 'sphere' for fewer dimensions."
        )
    centered = torch.eye(n_points, dtype=torch.float64) - 1.0 / n_points
    # an orthonormal basis of the (C-1)-dimensional span of the centered vertices
    u, _, _ = torch.linalg.svd(centered.T, full_matrices=False)
    coords = centered @ u[:, : n_points - 1]
    out = torch.zeros(n_points, n_components, dtype=torch.float64)
    out[:, : n_points - 1] = F.normalize(coords, dim=1)
    return out

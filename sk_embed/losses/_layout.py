"""Points spread evenly on the unit sphere, for class weights and class targets."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def spread_on_sphere(n_points, n_components, *, steps=None, generator=None, dtype=torch.float32):
    """``n_points`` unit vectors in ``n_components`` dimensions, as far apart as found.

    Where the best layout is known it is used directly, randomly rotated (``generator``
    decides the rotation): +-1 in 1-D, the regular polygon in 2-D, the regular simplex
    when ``n_points <= n_components + 1``. Otherwise random directions are moved apart
    by minimizing the Riesz energy ``sum_{i<j} 1 / ||x_i - x_j||`` with projected
    gradient steps in float64 (the octahedron for 6 points in 3-D, for instance);
    ``steps=None`` takes 1000 steps for small problems and fewer for large ones (50 for
    1000 points in 128-D, where random directions are already nearly orthogonal), so
    the cost stays near a second.

    Returns
    -------
    points : tensor of shape (n_points, n_components), unit rows
    """
    if n_components == 1:
        signs = torch.tensor([(-1.0) ** i for i in range(n_points)], dtype=torch.float64)
        return signs.unsqueeze(1).to(dtype)
    if n_components == 2:
        offset = 2 * torch.pi * torch.rand((), generator=generator, dtype=torch.float64)
        return circle(n_points, 2, offset=offset).to(dtype)
    if n_points <= n_components + 1:
        rotation, _ = torch.linalg.qr(
            torch.randn(n_components, n_components, generator=generator, dtype=torch.float64)
        )
        return (simplex(n_points, n_components) @ rotation).to(dtype)
    if steps is None:
        steps = int(min(1000, max(50, 3e7 / (n_points**2 * n_components))))
    x = torch.randn(n_points, n_components, generator=generator, dtype=torch.float64)
    x = F.normalize(x, dim=1).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.05)
    off_diagonal = ~torch.eye(n_points, dtype=torch.bool)
    for step in range(steps):
        opt.param_groups[0]["lr"] = 0.05 * (1 - step / steps) + 1e-4
        unit = F.normalize(x, dim=1)
        energy = torch.cdist(unit, unit)[off_diagonal].clamp_min(1e-9).reciprocal().sum()
        opt.zero_grad()
        energy.backward()
        opt.step()
    return F.normalize(x.detach(), dim=1).to(dtype)


def circle(n_points, n_components, offset=0.0):
    """``n_points`` evenly on the unit circle (2-D only), the first at angle ``offset``."""
    if n_components != 2:
        raise ValueError(
            f"loss__targets='circle' is a 2-D layout; n_components={n_components}. "
            "Use 'sphere' (any dimension), 'grid' or 'simplex'."
        )
    angles = offset + 2 * torch.pi * torch.arange(n_points, dtype=torch.float64) / n_points
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


def assign_by_similarity(similarity, targets, generator=None, starts=4):
    """Which target each class gets, so that classes that look alike sit close.

    Minimizes ``sum_ij s_ij ||t_p(i) - t_p(j)||^2`` over the assignments ``p``:
    exchanges of two classes' targets while one lowers the sum, from the classes' own
    order and from ``starts`` random ones, the best kept. A fixed layout in label order
    can put two often-confused classes on opposite sides, where the squared loss's
    compromise for an ambiguous sample, the mean of their targets, is nearest a third
    class.

    Parameters
    ----------
    similarity : array of shape (C, C)
        Symmetric, non-negative, zero diagonal: how much two classes look alike.
    targets : array of shape (C, d)
    generator : torch.Generator, optional
        Draws the random starting orders.
    starts : int, default=4
        Random starting orders, besides the classes' own (none above 100 classes).

    Returns
    -------
    ndarray of int, shape (C,)
        ``p``: class ``i`` gets ``targets[p[i]]``.
    """
    W = np.asarray(similarity, dtype=np.float64)
    T = np.asarray(targets, dtype=np.float64)
    C = len(T)
    if C < 3 or not W.any():
        return np.arange(C)
    G = ((T[:, None] - T[None]) ** 2).sum(-1)
    off = ~np.eye(C, dtype=bool)
    if np.ptp(G[off]) <= 1e-5 * G[off].max():  # a simplex (to float32 rounding): all alike
        return np.arange(C)
    sweeps = max(1, min(50, int(1e9 // C**3)))  # each sweep is O(C^3)
    orders = [np.arange(C)]
    if C <= 100:
        orders += [torch.randperm(C, generator=generator).numpy() for _ in range(starts)]
    best, best_cost = None, np.inf
    for order in orders:
        p = _exchange(W, G, order.copy(), sweeps)
        cost = (W * G[np.ix_(p, p)]).sum()
        if best is None or cost < best_cost - 1e-9 * abs(best_cost):
            best, best_cost = p, cost
    return best


def _exchange(W, G, p, sweeps):
    """Exchange two classes' targets while the best exchange lowers the weighted sum."""
    Gp = G[np.ix_(p, p)]
    for _ in range(sweeps):
        improved = False
        for a in range(len(p)):
            # the sum's change when a and b exchange targets, for every b at once
            change = 2 * (((W[a] - W) * (Gp - Gp[a])).sum(1) + 2 * W[a] * Gp[a])
            change[a] = 0.0
            b = int(np.argmin(change))
            if change[b] < -1e-12 * max(abs(change).max(), 1.0):
                p[[a, b]] = p[[b, a]]
                Gp[[a, b]] = Gp[[b, a]]
                Gp[:, [a, b]] = Gp[:, [b, a]]
                improved = True
        if not improved:
            break
    return p

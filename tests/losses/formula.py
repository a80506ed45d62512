"""Reference pieces the metric-loss tests compare against: plain-Python distances, a
seeded batch and a brute-force triplet miner, written straight from the definitions."""

import math

import torch


def distance(a, b, squared=True, normalize=False):
    """Euclidean (or squared) distance of two lists, optionally of the unit vectors."""
    if normalize:
        na, nb = math.sqrt(sum(v * v for v in a)), math.sqrt(sum(v * v for v in b))
        a, b = [v / na for v in a], [v / nb for v in b]
    sq = sum((u - v) ** 2 for u, v in zip(a, b))
    return sq if squared else math.sqrt(sq)


def batch(dtype, n=24, d=3, C=4, seed=0):
    """A seeded batch ``(z, y)``: n embeddings of d dimensions in C classes."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype), torch.randint(0, C, (n,), generator=g)


def brute_force(d, y, how):
    """The triplets ``(a, p, n)`` each miner should choose, by enumeration."""
    n = len(y)
    pos = lambda a, p: a != p and y[a] == y[p]  # noqa: E731
    neg = lambda a, q: y[a] != y[q]  # noqa: E731
    if how == "all":
        return {
            (a, p, q)
            for a in range(n)
            for p in range(n)
            for q in range(n)
            if pos(a, p) and neg(a, q)
        }
    out = set()
    if how == "batch_hard":
        for a in range(n):
            ps = [p for p in range(n) if pos(a, p)]
            qs = [q for q in range(n) if neg(a, q)]
            if ps and qs:
                out.add((a, max(ps, key=lambda p: d[a][p]), min(qs, key=lambda q: d[a][q])))
    elif how == "semi_hard":
        for a in range(n):
            qs = [q for q in range(n) if neg(a, q)]
            for p in range(n):
                if not (pos(a, p) and qs):
                    continue
                farther = [q for q in qs if d[a][q] > d[a][p]]
                q = (
                    min(farther, key=lambda q: d[a][q])
                    if farther
                    else max(qs, key=lambda q: d[a][q])
                )
                out.add((a, p, q))
    return out

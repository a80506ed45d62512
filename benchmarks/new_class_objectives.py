"""Which training objective makes an encoder good for classes it has not seen?

A study of the encoder alone, in a hand-written PyTorch loop, so that candidate
objectives can be compared before any of them becomes an estimator option. Protocol of
``benchmarks/new_classes.py``: digits (the package's 70/30 split), classes 0-5 known,
6-9 new; an encoder is trained on the known classes' training samples; then nearest
class mean on its embeddings, centered on the known classes' mean and scaled to unit
length (SimpleShot's CL2N), with the known classes' means from all their training
samples and each new class's from ``--shots`` samples (5 draws). Each row: new-class
accuracy and points of known accuracy lost, mean over ``--seeds`` training seeds x 5
draws, with the range of the per-seed means. The pixel rows are the same protocol on
the raw pixels, in the same run.

Every encoder is the estimator's default mlp (64 - 256 - 128 - ``--dim``, ReLU) or a
small cnn (two 3x3 convolutions, a 2x2 pooling, 256 units), trained with Adam (lr 1e-3,
batch 64, cosine-annealed over 60 epochs) on a cosine classifier with an additive
margin (``cosface``: scale 16, margin 0.1), plus the auxiliary objective of the row:

- ``reconstruction``: a decoder's squared error on the input, weight 10 (the
  estimator's ``reconstruction=10.0``);
- ``instance, <augmentation>``: a SimCLR loss (NT-Xent, temperature 0.2, through a
  projection head) between two augmented views of each sample; augmentations are
  Gaussian noise (0.5 of the input's scale), SCARF's corruption (40% of the features
  replaced by the same feature of random samples) and a random shift of one pixel;
- ``mirror classes`` / ``rotation classes``: each known class's mirrored (or 90, 180
  and 270 degree rotated) samples form classes of their own while training;
- ``mixes``: ``reserve_classes=15``, mixes of two classes labelled with 15 virtual
  classes;
- ``self-supervised only``: no classifier, the instance loss alone;
- ``sub-classes``: k-means splits each known class's training samples into 5 clusters
  (on the pixels), and a second cosine classifier learns the 30 clusters.

Usage::

    python benchmarks/new_class_objectives.py [--dim 32] [--shots 5] [--seeds 3] [--jobs 2]
        [--rows reconstruction "mirror classes, reconstruction"]
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from joblib import Parallel, delayed
from sklearn.cluster import KMeans
from torch import nn

from sk_embed import datasets

KNOWN = 6
EPOCHS, BATCH, LR = 60, 64, 1e-3
SCALE, MARGIN = 16.0, 0.1

#: The auxiliary objectives of each row.
ROWS = {
    "cosface": {},
    "reconstruction": {"reconstruction": 10.0},
    "instance, noise": {"instance": "noise"},
    "instance, SCARF": {"instance": "scarf"},
    "instance, shift": {"instance": "shift"},
    "reconstruction + instance, shift": {"reconstruction": 10.0, "instance": "shift"},
    "self-supervised only, shift": {"classify": False, "instance": "shift"},
    "self-supervised only, SCARF": {"classify": False, "instance": "scarf"},
    "rotation classes": {"transforms": "rotations"},
    "rotation classes, reconstruction": {"transforms": "rotations", "reconstruction": 10.0},
    "mirror classes, reconstruction": {"transforms": "mirror", "reconstruction": 10.0},
    "mixes, reconstruction": {"mixes": 15, "reconstruction": 10.0},
    "mirror classes, mixes, reconstruction": {
        "transforms": "mirror", "mixes": 15, "reconstruction": 10.0
    },
    "sub-classes": {"subclasses": 5},
    "sub-classes, mixes, reconstruction": {"subclasses": 5, "mixes": 15, "reconstruction": 10.0},
    "cnn": {"cnn": True},
    "cnn, reconstruction": {"cnn": True, "reconstruction": 10.0},
    "cnn, mirror classes, reconstruction": {
        "cnn": True, "transforms": "mirror", "reconstruction": 10.0
    },
}  # fmt: skip


def _data():
    """Rows of 64 pixels of the package's digits split, and the labels."""
    d = datasets.digits()
    rows = (X.reshape(len(X), -1).astype(np.float32) for X in (d.X_train, d.X_test))
    return *rows, d.y_train, d.y_test


class _Encoder(nn.Module):
    """The mlp or cnn encoder, with the training-only parts every row may use."""

    def __init__(self, dim, cnn, n_head):
        super().__init__()
        if cnn:
            self.body = nn.Sequential(
                nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(1024, 256), nn.ReLU(), nn.Linear(256, dim),
            )  # fmt: skip
        else:
            self.body = nn.Sequential(
                nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, dim)
            )
        self.classes = nn.Parameter(torch.randn(n_head, dim) * 0.1)
        self.projection = nn.Sequential(nn.Linear(dim, 128), nn.ReLU(), nn.Linear(128, 64))
        self.decoder = nn.Sequential(nn.Linear(dim, 128), nn.ReLU(), nn.Linear(128, 64))

    def forward(self, x):
        return self.body(x)


def _nt_xent(a, b, temperature=0.2):
    """SimCLR's loss: each view's partner is its class among the batch's 2n views."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    similarity = (z @ z.T / temperature).fill_diagonal_(float("-inf"))
    n = len(a)
    return F.cross_entropy(similarity, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))


def _augment(kind, x, pool, mean, scale):
    """A random view of the (centered, scaled) batch ``x``."""
    if kind == "noise":
        return x + 0.5 * torch.randn_like(x)
    if kind == "scarf":
        replace = torch.rand_like(x) < 0.4
        donors = pool[torch.randint(0, len(pool), x.shape), torch.arange(x.shape[1])]
        return torch.where(replace, donors, x)
    images = F.pad((x * scale + mean).view(-1, 1, 8, 8), (1, 1, 1, 1))  # shift: raw pixels
    dy, dx = torch.randint(0, 3, (2, len(x)))
    views = torch.stack([img[:, i : i + 8, j : j + 8] for img, i, j in zip(images, dy, dx)])
    return (views.reshape(len(x), 64) - mean) / scale


def _transformed(kind, x, y):
    """The batch and its transformed copies, each labelled as classes of their own."""
    images = x.view(-1, 8, 8)
    if kind == "mirror":
        copies = [images.flip(2)]
    else:
        copies = [torch.rot90(images, k, (1, 2)) for k in (1, 2, 3)]
    xs = [x] + [c.reshape(len(x), 64) for c in copies]
    return torch.cat(xs), torch.cat([y + KNOWN * i for i in range(len(xs))]), KNOWN * len(xs)


def _mixed(x, y, n_classes, n_virtual):
    """The batch and mixes of two of its classes, labelled with virtual classes."""
    half = len(x) // 2
    a, b = torch.randperm(len(x))[:half], torch.randperm(len(x))[:half]
    keep = y[a] != y[b]
    a, b = a[keep], b[keep]
    lam = 0.3 + 0.4 * torch.rand(len(a), 1)
    low, high = torch.minimum(y[a], y[b]), torch.maximum(y[a], y[b])
    virtual = n_classes + (low * n_classes + high) % n_virtual
    mixed = lam * x[a] + (1 - lam) * x[b]
    return torch.cat([x, mixed]), torch.cat([y, virtual]), n_classes + n_virtual


def train(row, dim, seed):
    """An encoder trained on the known classes with ``row``'s objectives, and the
    input's centering and scale."""
    torch.set_num_threads(1)  # --jobs trainings share the cores
    torch.manual_seed(seed)
    X_train, _, y_train, _ = _data()
    known = X_train[y_train < KNOWN]
    mean, scale = torch.tensor(known.mean(0)), float(known.std(0).mean())  # one common scale
    X, y = (torch.tensor(known) - mean) / scale, torch.tensor(y_train[y_train < KNOWN])
    options = ROWS[row]
    net = _Encoder(dim, options.get("cnn", False), KNOWN * 4 + options.get("mixes", 0))
    if "subclasses" in options:  # k clusters of each class's pixels, labelled apart
        k, labels = options["subclasses"], y.numpy()
        subclass = np.zeros(len(X), dtype=np.int64)
        for c in range(KNOWN):
            rows = np.flatnonzero(labels == c)
            clusters = KMeans(k, n_init=4, random_state=seed).fit_predict(known[rows])
            subclass[rows] = c * k + clusters
        subclass = torch.tensor(subclass)
        net.subclasses = nn.Parameter(torch.randn(KNOWN * k, dim) * 0.1)
    optimizer = torch.optim.Adam(net.parameters(), LR)
    steps = EPOCHS * -(-len(X) // BATCH)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(X)).split(BATCH):
            xb, yb, n_classes = X[batch], y[batch], KNOWN
            if "transforms" in options:
                xb, yb, n_classes = _transformed(options["transforms"], xb, yb)
            if "mixes" in options:
                xb, yb, n_classes = _mixed(xb, yb, n_classes, options["mixes"])
            z = net(xb)
            loss = torch.zeros(())
            if "subclasses" in options:  # the batch's own samples come first in xb
                cosine = F.normalize(z[: len(batch)]) @ F.normalize(net.subclasses).T
                loss = loss + F.cross_entropy(SCALE * cosine, subclass[batch])
            if options.get("classify", True):
                cosine = F.normalize(z) @ F.normalize(net.classes[:n_classes]).T
                loss = loss + F.cross_entropy(
                    SCALE * (cosine - MARGIN * F.one_hot(yb, n_classes)), yb
                )
            if "reconstruction" in options:
                loss = loss + options["reconstruction"] * F.mse_loss(net.decoder(z), xb)
            if "instance" in options:
                kind, views = options["instance"], X[batch]
                a = net(_augment(kind, views, X, mean, scale))
                b = net(_augment(kind, views, X, mean, scale))
                loss = loss + _nt_xent(net.projection(a), net.projection(b))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return net, mean, scale


def scores(embed, shots, draws=5):
    """``(before, drop, new)`` per draw: nearest class mean on CL2N embeddings."""
    X_train, X_test, y_train, y_test = _data()
    z_train, z_test = embed(X_train), embed(X_test)
    center = z_train[y_train < KNOWN].mean(0)

    def cl2n(z):
        z = z - center
        return z / np.linalg.norm(z, axis=1, keepdims=True)

    z_train, z_test = cl2n(z_train), cl2n(z_test)
    known_test = y_test < KNOWN
    means = np.stack([z_train[y_train == c].mean(0) for c in range(KNOWN)])

    def nearest(centers):
        return np.argmin(((z_test[:, None] - centers[None]) ** 2).sum(-1), 1)

    before = np.mean(nearest(means)[known_test] == y_test[known_test])
    out = []
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        few = [rng.choice(np.flatnonzero(y_train == c), shots, False) for c in range(KNOWN, 10)]
        predicted = nearest(np.concatenate([means, [z_train[i].mean(0) for i in few]]))
        after = np.mean(predicted[known_test] == y_test[known_test])
        out.append((before, before - after, np.mean(predicted[~known_test] == y_test[~known_test])))
    return np.array(out)


def _task(row, dim, seed, shots):
    net, mean, scale = train(row, dim, seed)

    def embed(X):
        with torch.no_grad():
            return net((torch.tensor(X) - mean) / scale).numpy()

    return scores(embed, shots)


def _line(name, per_seed):
    """A table row from per-seed arrays of ``(before, drop, new)`` per draw."""
    seed_new = [r[:, 2].mean() for r in per_seed]
    rows = np.concatenate(per_seed)
    return (
        f"| {name} | {rows[:, 2].mean():.3f} ({min(seed_new):.3f}-{max(seed_new):.3f}) | "
        f"{100 * rows[:, 1].mean():.1f} | {rows[:, 0].mean():.3f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1, help="trainings at a time")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    args = parser.parse_args()
    start = time.perf_counter()
    tasks = [(row, seed) for row in args.rows for seed in range(args.seeds)]
    # by reference: a worker cannot unpickle this script's functions with torch in them
    from new_class_objectives import _task as task

    results = Parallel(n_jobs=args.jobs)(
        delayed(task)(row, args.dim, seed, args.shots) for row, seed in tasks
    )
    print(
        f"\nnearest class mean, {args.dim}-D, {args.shots} shots, {args.seeds} seeds x 5 draws"
        "\n\n| encoder objective | new-class acc. (seed range) | known drop, points "
        "| known acc. before |\n|---|---|---|---|"
    )
    print(_line("raw pixels, no training", [scores(lambda X: X, args.shots)]))
    for row in args.rows:
        print(_line(row, [r for (name, _), r in zip(tasks, results) if name == row]))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

"""Which training objective makes an encoder good for classes it has not seen?

A study of the encoder alone, in a hand-written PyTorch loop, so that candidate
objectives can be compared before any of them becomes an estimator option. Protocol of
``benchmarks/new_classes.py``: digits (the package's 70/30 split), classes 0-5 known,
6-9 new; an encoder is trained on the known classes' training samples; then nearest
class mean (scikit-learn's ``NearestCentroid``) on its embeddings, centered on the
known classes' mean and scaled to unit length (SimpleShot's CL2N), with the known
classes' means from all their training samples and each new class's from ``--shots``
samples (5 draws). Each row: new-class accuracy and points of known accuracy lost,
mean over ``--seeds`` training seeds x 5 draws, with the range of the per-seed means.
The pixel row is the same protocol on the raw pixels, in the same run.

Every encoder is the estimator's default mlp (64 - 256 - 128 - ``--dim``, ReLU) or a
small cnn (two 3x3 convolutions, a 2x2 pooling, 256 units), trained with Adam (lr 1e-3,
batch 64, cosine-annealed over 60 epochs) with the estimator's ``cosface`` head and
loss (scale 16, margin 0.1), plus the auxiliary objective of the row (where the
estimator has the part, it is the estimator's own):

- ``reconstruction``: the squared error on the input of a decoder as the estimator's
  (Linear - ReLU - Linear, 128 hidden units), weight 10 (``reconstruction=10.0``);
- ``instance, <augmentation>``: a SimCLR loss (NT-Xent, temperature 0.2, through a
  projection head) between two augmented
  views of each sample; the augmentations are Gaussian noise (0.5 of the input's
  scale), SCARF's corruption (40% of the features replaced by the same feature of
  random samples) and ``sk_embed.augment.shift`` (up to a pixel);
- ``mirror classes`` / ``rotation classes``: each known class's mirrored (or 90, 180
  and 270 degree rotated) samples form classes of their own while training;
- ``mixes``: ``reserve_classes=15``'s mixes of two classes (as the estimator mixes
  them, :func:`mix_batch`), labelled with 15 virtual classes;
- ``self-supervised only``: no classifier, the instance loss alone;
- ``sub-classes``: k-means splits each known class's training samples into 5 clusters
  (on the pixels), and a second ``cosface`` head, without a margin, learns the 30.

Usage::

    python benchmarks/new_class_objectives.py [--dim 32] [--shots 5] [--seeds 0 1 2] [--jobs 2]
        [--rows reconstruction "mirror classes, reconstruction"]
"""

import time
import warnings

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestCentroid
from torch import nn

from sk_embed import datasets
from sk_embed.augment import shift
from sk_embed.backbones import MLP
from sk_embed.losses import get_technique

KNOWN = 6
EPOCHS, BATCH, LR = 60, 64, 1e-3

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


def mix_batch(X, y, n_known, n_virtual):
    """The batch followed by up to ``len(X) // 2`` mixes ``lam x_a + (1 - lam) x_b`` of
    two samples of different classes (``lam`` uniform in [0.3, 0.7]), the mix of classes
    ``a < b`` labelled ``n_known + rank(a, b) % n_virtual``: ``reserve_classes``' mixes,
    as the estimator draws them (docs/open_set.md)."""
    half = len(X) // 2
    first, second = torch.randperm(len(X))[:half], torch.randperm(len(X))[:half]
    keep = y[first] != y[second]
    first, second = first[keep], second[keep]
    lam = 0.3 + 0.4 * torch.rand((len(first), *[1] * (X.dim() - 1)), dtype=X.dtype)
    mixed = lam * X[first] + (1 - lam) * X[second]
    a, b = torch.minimum(y[first], y[second]), torch.maximum(y[first], y[second])
    rank = a * n_known - a * (a + 1) // 2 + (b - a - 1)
    return torch.cat([X, mixed]), torch.cat([y, n_known + rank % n_virtual])


class _Encoder(nn.Module):
    """The mlp (the estimator's own) or a small cnn, with the training-only parts every
    row may use: the estimator's ``cosface`` head and loss (for the known classes and
    those each row adds), a second one for sub-classes, a SimCLR projection head and the
    estimator's reconstruction decoder."""

    def __init__(self, dim, cnn, n_classes, n_subclasses):
        super().__init__()
        if cnn:
            self.body = nn.Sequential(
                nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(1024, 256), nn.ReLU(), nn.Linear(256, dim),
            )  # fmt: skip
        else:
            self.body = MLP(64, dim)
        cosface = get_technique("cosface")  # the estimator's: scale 16, margin 0.1
        self.head, self.loss = (
            cosface.build_head(dim, n_classes),
            cosface.build_loss(dim, n_classes),
        )
        if n_subclasses:  # a second cosine classifier, without a margin
            self.subhead = cosface.build_head(dim, n_subclasses)
            self.subloss = cosface.build_loss(dim, n_subclasses, {"margin": 0.0})
        self.projection = nn.Sequential(nn.Linear(dim, 128), nn.ReLU(), nn.Linear(128, 64))
        # the estimator's reconstruction decoder: Linear - ReLU - Linear, 128 hidden
        self.decoder = nn.Sequential(nn.Linear(dim, 128), nn.ReLU(), nn.Linear(128, 64))

    def forward(self, x):
        return self.body(x)


def _nt_xent(a, b, temperature=0.2):
    """SimCLR's loss: each view's partner is the other view of its sample.

    The same value as pytorch-metric-learning's ``NTXentLoss(temperature=0.2)`` with
    each sample's two views labelled alike (equal to 1e-15 in float64), in 0.15 ms a
    call on this batch against its 54 ms: as one cross-entropy over the similarities.
    """
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
    views = shift((x * scale + mean).view(-1, 8, 8))  # by up to a pixel, in raw pixels
    return (views.reshape(len(x), 64) - mean) / scale


def _transformed(kind, x, y):
    """The batch and its transformed copies, each labelled as classes of their own."""
    images = x.view(-1, 8, 8)
    if kind == "mirror":
        copies = [images.flip(2)]
    else:
        copies = [torch.rot90(images, k, (1, 2)) for k in (1, 2, 3)]
    xs = [x] + [c.reshape(len(x), 64) for c in copies]
    return torch.cat(xs), torch.cat([y + KNOWN * i for i in range(len(xs))])


def train(row, dim, seed):
    """An encoder trained on the known classes with ``row``'s objectives, and the
    input's centering and scale."""
    torch.manual_seed(seed)
    X_train, _, y_train, _ = _data()
    known = X_train[y_train < KNOWN]
    mean, scale = torch.tensor(known.mean(0)), float(known.std(0).mean())  # one common scale
    X, y = (torch.tensor(known) - mean) / scale, torch.tensor(y_train[y_train < KNOWN])
    options = ROWS[row]
    copies = {"mirror": 1, "rotations": 3}.get(options.get("transforms"), 0)
    n_classes = KNOWN * (1 + copies) + options.get("mixes", 0)
    k = options.get("subclasses", 0)
    net = _Encoder(dim, options.get("cnn", False), n_classes, KNOWN * k)
    if k:  # k clusters of each class's pixels, labelled apart
        subclass = np.zeros(len(X), dtype=np.int64)
        for c in range(KNOWN):
            rows = np.flatnonzero(y.numpy() == c)
            clusters = KMeans(k, n_init=4, random_state=seed).fit_predict(known[rows])
            subclass[rows] = c * k + clusters
        subclass = torch.tensor(subclass)
    optimizer = torch.optim.Adam(net.parameters(), LR)
    steps = EPOCHS * -(-len(X) // BATCH)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(X)).split(BATCH):
            xb, yb = X[batch], y[batch]
            if "transforms" in options:
                xb, yb = _transformed(options["transforms"], xb, yb)
            if "mixes" in options:
                xb, yb = mix_batch(xb, yb, KNOWN * (1 + copies), options["mixes"])
            z = net(xb)
            loss = torch.zeros(())
            if k:  # the batch's own samples come first in xb
                mine = z[: len(batch)]
                loss = loss + net.subloss(net.subhead(mine), mine, subclass[batch], net.subhead)
            if options.get("classify", True):
                loss = loss + net.loss(net.head(z), z, yb, net.head)
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
    known_train, known_test = y_train < KNOWN, y_test < KNOWN

    def nearest_mean(rows):
        with warnings.catch_warnings():  # pixels that are 0 within a class: no matter here
            warnings.filterwarnings("ignore", "self.within_class_std_dev_", UserWarning)
            return NearestCentroid().fit(z_train[rows], y_train[rows])

    before = nearest_mean(known_train).score(z_test[known_test], y_test[known_test])
    out = []
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        few = [rng.choice(np.flatnonzero(y_train == c), shots, False) for c in range(KNOWN, 10)]
        added = nearest_mean(np.concatenate([np.flatnonzero(known_train), *few]))
        after = added.score(z_test[known_test], y_test[known_test])
        out.append((before, before - after, added.score(z_test[~known_test], y_test[~known_test])))
    return np.array(out)


def _task(row, dim, seed, shots):
    net, mean, scale = train(row, dim, seed)

    def embed(X):
        with torch.no_grad():
            return net((torch.tensor(X) - mean) / scale).numpy()

    return scores(embed, shots)


def _row(name, per_seed):
    """A table row from per-seed arrays of ``(before, drop, new)`` per draw."""
    seed_new = [r[:, 2].mean() for r in per_seed]
    rows = np.concatenate(per_seed)
    return {
        "encoder objective": name,
        "new-class acc. (seed range)": (
            f"{rows[:, 2].mean():.3f} ({min(seed_new):.3f}-{max(seed_new):.3f})"
        ),
        "known drop, points": f"{100 * rows[:, 1].mean():.1f}",
        "known acc. before": rows[:, 0].mean(),
    }


def main():
    parser = h.parser(__doc__, params=False)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    args = parser.parse_args()
    start = time.perf_counter()
    tasks = [(row, seed) for row in args.rows for seed in args.seeds]
    results = h.runs(
        _task,
        [(row, args.dim, seed, args.shots) for row, seed in tasks],
        jobs=args.jobs,
        threads=1,  # --jobs trainings share the cores
    )
    print(
        f"\nnearest class mean, {args.dim}-D, {args.shots} shots, {len(args.seeds)} seeds x "
        "5 draws\n"
    )
    table = [_row("raw pixels, no training", [scores(lambda X: X, args.shots)])]
    for row in args.rows:
        table.append(_row(row, [r for (name, _), r in zip(tasks, results) if name == row]))
    print(h.table(table))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

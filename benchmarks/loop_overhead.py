"""How much does ``EmbeddingClassifier.fit`` cost over a hand-written PyTorch loop?

Both train the same module (MLP 64-256-128-2 + linear head) on scikit-learn's digits
with the same optimizer (Adam with its fused step, as ``fit`` runs it; lr 1e-3), batch
size, epochs and per-epoch shuffling.
The hand loop is what a PyTorch user writes: a tensor, a permutation per epoch, slices,
zero_grad/forward/backward/step, and the loss read back for logging. ``fit`` also
validates the input, encodes labels, builds the network and computes the class
centers, all inside the timed call. Runs alternate and the median ratio is printed, with
plain skorch
(NeuralNetClassifier with its own Dataset and DataLoader) for reference.

``--step`` times instead an epoch of ``fit`` at its defaults on 14,000 x 40 rows
(``make_classification``) with the optimizer's fused step (the default) and with
torch's own default step (``optimizer__fused=False``), alternating; the median ratio
of neighbouring runs.

Usage: python benchmarks/loop_overhead.py [--repeats 7] [--epochs 30] [--step]
"""

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits, make_classification
from skorch import NeuralNetClassifier

from sk_embed import EmbeddingClassifier
from sk_embed.backbones import MLP
from sk_embed.losses import LinearHead


def hand_loop(X, y, n_classes, epochs, batch_size, seed):
    torch.manual_seed(seed)
    X = torch.tensor(X, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.long)
    encoder, head = MLP(X.shape[1], 2), LinearHead(2, n_classes)
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3, fused=True)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen)
        Xs, ys = X[order], y[order]
        total = 0.0
        for start in range(0, len(X), batch_size):
            xb, yb = Xs[start : start + batch_size], ys[start : start + batch_size]
            opt.zero_grad()
            loss = F.cross_entropy(head(encoder(xb)), yb)
            loss.backward()
            opt.step()
            total += loss.item()
    return total


class _Plain(torch.nn.Module):
    def __init__(self, n_features, n_classes):
        super().__init__()
        self.encoder, self.head = MLP(n_features, 2), LinearHead(2, n_classes)

    def forward(self, x):
        return self.head(self.encoder(x))


def plain_skorch(X, y, n_classes, epochs, batch_size, seed):
    """skorch as it comes: NeuralNetClassifier, its Dataset and DataLoader."""
    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        _Plain(X.shape[1], n_classes),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        optimizer__fused=True,
        lr=1e-3,
        max_epochs=epochs,
        batch_size=batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )
    return net.fit(X.astype(np.float32), y.astype(np.int64))


def _spread(values, unit=""):
    """``m{unit} (min a, max b)``, ``m`` the median."""
    low, high = np.min(values), np.max(values)
    return f"{np.median(values):.3f}{unit} (min {low:.3f}, max {high:.3f})"


def step_kernels(repeats, epochs):
    """Seconds per epoch of ``fit`` at its defaults, fused step against torch's default."""
    X, y = make_classification(
        n_samples=14000, n_features=40, n_informative=20, n_classes=8, random_state=0
    )
    kernels = {"fused (default)": {}, "torch's default (optimizer__fused=False)": {
        "optimizer__fused": False}}  # fmt: skip
    EmbeddingClassifier(max_epochs=1, tol=None, random_state=0).fit(X, y)  # warm-up

    def fit(options):
        return lambda seed: EmbeddingClassifier(
            max_epochs=epochs, tol=None, random_state=seed, **options
        ).fit(X, y)

    times = h.alternate({name: fit(options) for name, options in kernels.items()}, repeats)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, rows {X.shape}, "
        f"defaults, {epochs} epochs, {repeats} runs each, alternating"
    )
    for name, seconds in times.items():
        print(f"{name}: median {_spread(seconds / epochs, ' s an epoch')}")
    # The machine's speed drifts over minutes: compare each pair of neighbouring runs.
    print(f"median ratio fused / torch's default: {_spread(times.ratios(*kernels))}")


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--step",
        action="store_true",
        help="time the optimizer's kernels instead (10 epochs a fit, or --epochs if fewer)",
    )
    args = parser.parse_args()
    if args.step:
        return step_kernels(args.repeats, min(args.epochs, 10))

    X, y = load_digits(return_X_y=True)
    n_classes = len(np.unique(y))
    # The same work on both sides: a fixed number of epochs (tol=None), no standardization.
    clf = EmbeddingClassifier(
        max_epochs=args.epochs,
        tol=None,
        standardize=False,
        batch_size=args.batch_size,
        lr=1e-3,
        lr_schedule="constant",
        random_state=0,
    )
    clf.fit(X, y)  # warm-up: first-call costs (imports, allocator) on both sides
    hand_loop(X, y, n_classes, args.epochs, args.batch_size, 0)
    common = (X, y, n_classes, args.epochs, args.batch_size)
    calls = {
        "hand-written loop": lambda seed: hand_loop(*common, seed),
        "EmbeddingClassifier.fit": lambda seed: clf.set_params(random_state=seed).fit(X, y),
        "plain skorch NeuralNetClassifier": lambda seed: plain_skorch(*common, seed),
    }
    times = h.alternate(calls, args.repeats)
    median = times.median()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, digits "
        f"{X.shape}, {args.epochs} epochs, batch {args.batch_size}, {args.repeats} runs"
    )
    print(f"hand-written loop: median {median['hand-written loop']:.3f} s")
    print(f"EmbeddingClassifier.fit: median {median['EmbeddingClassifier.fit']:.3f} s")
    ratios = times.ratios("EmbeddingClassifier.fit", "hand-written loop")
    print(f"median ratio fit / hand loop: {_spread(ratios)}")
    plain = times.ratios("plain skorch NeuralNetClassifier", "hand-written loop")
    print(f"median ratio plain skorch NeuralNetClassifier / hand loop: {np.median(plain):.3f}")


if __name__ == "__main__":
    main()

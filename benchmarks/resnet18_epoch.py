"""How long is one epoch of the resnet18 backbone on this CPU, next to the cnn?

``EmbeddingClassifier(backbone=..., n_components=10, max_epochs=1, tol=None)`` fits
1,000 random 3x32x32 float32 images with 10 classes (the resnet18 takes its small-image
stem at 32 pixels). Each backbone is fitted ``--repeats`` times, alternating, so both see
the same machine; the whole ``fit`` is timed (validation, building the network, the
epoch, the class centers). Prints the best and the median of the runs as a Markdown
table. Keep the thread count at 1 on a shared machine (``--threads``).

Usage: python benchmarks/resnet18_epoch.py [--repeats 3] [--threads 1] [--n 1000]
"""

import os

import _harness as h  # a sibling: the scripts run from benchmarks/; it imports no torch

BACKBONES = ("resnet18", "cnn")


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n", type=int, default=1000, help="number of images")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch starts OpenMP

    import numpy as np
    import torch

    from sk_embed import EmbeddingClassifier

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, 3, 32, 32), dtype=np.float32)
    y = np.arange(args.n) % 10

    def fit(backbone):
        return lambda run: EmbeddingClassifier(
            backbone=backbone, n_components=10, max_epochs=1, tol=None, random_state=run
        ).fit(X, y)

    times = h.alternate({name: fit(name) for name in BACKBONES}, args.repeats)
    batch_size = EmbeddingClassifier().batch_size
    print(
        f"1 epoch of fit, {args.n} random 3x32x32 images, batch size {batch_size}, "
        f"{args.threads} thread(s), torch {torch.__version__}, {args.repeats} runs\n"
    )
    best, median = times.best(), times.median()
    rows = [
        {
            "backbone": name,
            "best (s)": f"{best[name]:.2f}",
            "median (s)": f"{median[name]:.2f}",
            "ms per image (best)": f"{1000 * best[name] / args.n:.1f}",
            "vs cnn (best)": f"{best[name] / best['cnn']:.1f}x",
        }
        for name in BACKBONES
    ]
    print(h.table(rows))


if __name__ == "__main__":
    main()

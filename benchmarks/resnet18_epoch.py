"""How long is one epoch of the resnet18 backbone on this CPU, next to the cnn?

``EmbeddingClassifier(backbone=..., n_components=10, max_epochs=1, tol=None)`` fits
1,000 random 3x32x32 float32 images with 10 classes (the resnet18 takes its small-image
stem at 32 pixels). Each backbone is fitted ``--repeats`` times, alternating, so both see
the same machine; the whole ``fit`` is timed (validation, building the network, the
epoch, the class centers). Prints the best and the median of the runs as a Markdown
table. Keep the thread count at 1 on a shared machine (``--threads``).

Usage: python benchmarks/resnet18_epoch.py [--repeats 3] [--threads 1] [--n 1000]
"""

import argparse
import os
import statistics
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    backbones = ("resnet18", "cnn")
    times = {name: [] for name in backbones}
    for run in range(args.repeats):
        for name in backbones:
            clf = EmbeddingClassifier(
                backbone=name, n_components=10, max_epochs=1, tol=None, random_state=run
            )
            start = time.perf_counter()
            clf.fit(X, y)
            times[name].append(time.perf_counter() - start)
    print(
        f"1 epoch of fit, {args.n} random 3x32x32 images, batch size {clf.batch_size}, "
        f"{args.threads} thread(s), torch {torch.__version__}, {args.repeats} runs\n"
    )
    print("| backbone | best (s) | median (s) | ms per image (best) | vs cnn (best) |")
    print("|---|---:|---:|---:|---:|")
    for name in backbones:
        best, median = min(times[name]), statistics.median(times[name])
        ratio = best / min(times["cnn"])
        print(f"| {name} | {best:.2f} | {median:.2f} | {1000 * best / args.n:.1f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()

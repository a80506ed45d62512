"""Data-parallel training (docs/distributed.md): what several processes buy.

CPU (default): the epoch time of ``fit`` on 1 process (all the cores) and on 2
processes sharing them (``notebook_launcher``, gloo), the same global batch, for the
mlp on rows and the cnn on images. GPU (``--gpu``): images per second of the cnn (or
``--backbone resnet18``) on 1, 2, 4, ... GPUs of this machine (NCCL), the global batch
growing with the GPUs (``--batch-size`` per GPU), and the scaling efficiency: the
throughput on N GPUs over N times that on one.

One process is timed twice: on all the cores and on one thread. Each row is the median
epoch time of ``--epochs`` epochs after the first (warm-up),
softmax, 10 classes, ``tol=None``. The processes are started by
:func:`sk_embed.notebook_launcher`; ``torchrun --nproc_per_node N`` starts the same
training.

``--equivalence``: for every technique, the largest difference between the embeddings
(``transform``) of 2 processes and of 1 process with the same global batch, over the
largest embedding value, after 3 epochs on 363 digits (batches of 64, the last one split
unevenly): at the settings of tests/test_distributed.py (8-D; contrastive and triplet
with SGD) and at the defaults (2-D, Adam), beside the difference that running one
process on torch's other CPU kernels (``ATEN_CPU_CAPABILITY=default``) makes.

Usage: python benchmarks/distributed.py [--rows 20000] [--images 4000] [--epochs 3]
       [--batch-size 256] [--processes 1 2] [--gpu] [--backbone cnn] [--equivalence]
       [--set KEY=VALUE ...]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from _cli import add_set_option

import sk_embed
from sk_embed import EmbeddingClassifier, notebook_launcher


def make_data(kind, n, seed=0):
    """10 classes: rows of 64 features, or 1x28x28 images (a prototype per class plus
    noise), float32 in memory."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    shape = (64,) if kind == "rows" else (1, 28, 28)
    prototypes = rng.normal(size=(10, *shape)).astype(np.float32)
    X = prototypes[y] + rng.normal(scale=2.0, size=(n, *shape)).astype(np.float32)
    return X, y


def epoch_seconds(X, y, params, threads=None):
    """The fit's epoch times after the first, how many processes trained and the torch
    threads of each (``threads``: set here; else the launcher's share of the cores)."""
    import torch.distributed as dist

    if threads is not None:
        torch.set_num_threads(threads)
    clf = EmbeddingClassifier(**params).fit(X, y)
    world = dist.get_world_size() if dist.is_initialized() else 1
    return [row["dur"] for row in clf.history_][1:], world, torch.get_num_threads()


def run(kind, n, processes, params):
    """A table row per number of processes (one process twice: on all the cores, and on
    one thread): epoch time (median), samples per second, and the epoch time over that
    of one process on all the cores."""
    X, y = make_data("rows" if kind == "mlp" else "images", n)
    runs = [(k, None) for k in processes]
    if 1 in processes and (os.cpu_count() or 1) > 1:
        runs.insert(processes.index(1) + 1, (1, 1))
    rows = []
    for k, threads in runs:
        times, world, threads = notebook_launcher(
            epoch_seconds, args=(X, y, {**params, "backbone": kind}, threads), num_processes=k
        )
        assert world == k
        seconds = float(np.median(times))
        rows.append((kind, k, threads, seconds, n / seconds))
    one = rows[0][3] if rows[0][1] == 1 else None
    return [(*r, None if one is None else r[3] / one) for r in rows]


def equivalence_cases():
    """(name, backbone, parameters) of the equivalence table: every technique on the mlp
    at the tests' settings and at the defaults, three on the cnn at the tests' settings."""
    sgd = {"optimizer": "sgd", "lr": 0.05}
    cases = []
    for loss in sk_embed.available_losses():
        tested = {"n_components": 8, **(sgd if loss in ("contrastive", "triplet") else {})}
        cases += [(loss, "mlp", "tests", tested), (loss, "mlp", "defaults", {})]
    for loss in ("softmax", "center", "triplet"):
        cases.append(
            (loss, "cnn", "tests", {"n_components": 8, **(sgd if loss == "triplet" else {})})
        )
    return cases


def embeddings(cases):
    """``transform`` of 363 digits after 3 epochs (seed 0) for each case."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    out = []
    for loss, backbone, _, params in cases:
        data = X[:363] if backbone == "mlp" else X[:363].reshape(-1, 8, 8)
        clf = EmbeddingClassifier(
            loss=loss, backbone=backbone, max_epochs=3, tol=None, random_state=0, **params
        )
        out.append(clf.fit(data, y[:363]).transform(data))
    return out


def equivalence():
    """The equivalence table (see the module's docstring)."""
    cases = equivalence_cases()
    two = notebook_launcher(embeddings, args=(cases,), num_processes=2)
    torch.set_num_threads(1)  # as each of the 2 processes
    one = embeddings(cases)
    with tempfile.TemporaryDirectory() as folder:  # one process on the other kernels
        path = os.path.join(folder, "other.npz")
        env = dict(os.environ, ATEN_CPU_CAPABILITY="default", OMP_NUM_THREADS="1")
        subprocess.run([sys.executable, __file__, "--other-kernels", path], env=env, check=True)
        other = list(np.load(path).values())

    def difference(a, b):
        return np.abs(a - b).max() / np.abs(a).max()

    found = {}
    for (loss, backbone, setting, _), a, b, c in zip(cases, one, two, other):
        found.setdefault((loss, backbone), {})[setting] = (difference(a, b), difference(a, c))
    print("| technique | backbone | 2 processes, tests' settings | 2 processes, defaults "
          "| 1 process, other kernels, defaults |")  # fmt: skip
    print("|---|---|---:|---:|---:|")
    for (loss, backbone), settings in found.items():
        tested = settings["tests"][0]
        default, kernels = settings.get("defaults", (None, None))
        cells = ["" if v is None else f"{v:.1e}" for v in (tested, default, kernels)]
        print(f"| {loss} | {backbone} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000, help="samples of the mlp rows")
    parser.add_argument("--images", type=int, default=4000, help="28x28 images of the cnn")
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed (after one more)")
    parser.add_argument("--batch-size", type=int, default=256, help="global batch (per GPU)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gpu", action="store_true", help="the GPU table instead")
    parser.add_argument("--backbone", default="cnn", help="the GPU table's backbone")
    parser.add_argument("--equivalence", action="store_true", help="2 processes against 1")
    parser.add_argument("--other-kernels", help=argparse.SUPPRESS)  # equivalence's helper
    add_set_option(parser)
    args = parser.parse_args()
    if args.other_kernels:
        np.savez(args.other_kernels, *embeddings(equivalence_cases()))
        return
    if args.equivalence:
        equivalence()
        return
    params = {
        "max_epochs": args.epochs + 1,
        "tol": None,
        "batch_size": args.batch_size,
        "random_state": 0,
        **dict(args.set),
    }
    if args.gpu:
        gpu_table(args, params)
        return
    print(f"CPU: {os.cpu_count()} cores, global batch {args.batch_size}\n")
    print("| backbone | processes | threads each | epoch (s) | samples/s | time / 1 process |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, n in (("mlp", args.rows), ("cnn", args.images)):
        for _, k, threads, seconds, rate, ratio in run(kind, n, args.processes, params):
            ratio = "" if ratio is None else f"{ratio:.2f}"
            print(f"| {kind} | {k} | {threads} | {seconds:.3f} | {rate:,.0f} | {ratio} |")


def gpu_table(args, params):
    """Images per second on 1, 2, 4, ... GPUs (weak scaling: ``--batch-size`` per GPU)."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        print("No CUDA device here: the GPU table needs a machine with GPUs.")
        return
    sizes = [k for k in (1, 2, 4, 8, 16) if k <= count]
    X, y = make_data("images", args.images)
    X = np.repeat(X, 3, axis=1) if args.backbone == "resnet18" else X
    print(f"GPU: {count} x {torch.cuda.get_device_name(0)}, {args.backbone}, ")
    print(f"{args.batch_size} images per GPU per step\n")
    print("| GPUs | global batch | epoch (s) | images/s | scaling efficiency |")
    print("|---:|---:|---:|---:|---:|")
    one = None
    for k in sizes:
        run_params = {
            **params,
            "backbone": args.backbone,
            "device": "cuda",
            "batch_size": args.batch_size * k,
        }
        times, world, _ = notebook_launcher(epoch_seconds, args=(X, y, run_params), num_processes=k)
        rate = len(X) / float(np.median(times))
        one = one or rate
        print(
            f"| {k} | {args.batch_size * k} | {np.median(times):.3f} | {rate:,.0f} "
            f"| {rate / (k * one):.2f} |"
        )


if __name__ == "__main__":
    main()

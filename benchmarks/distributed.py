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

import _harness as h
import numpy as np
import torch

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
    columns = ("backbone", "processes", "threads each", "epoch (s)", "samples/s")
    return [
        {
            **dict(zip(columns, (*r[:4], round(r[4])))),
            "time / 1 process": "" if one is None else r[3] / one,
        }
        for r in rows
    ]


def equivalence_cases():
    """(name, backbone, parameters) of the equivalence table: every technique on the mlp
    at the tests' settings and at the defaults, three on the cnn at the tests' settings
    (without dropout: each rank draws its own rows' masks, one process others)."""
    sgd = {"optimizer": "sgd", "lr": 0.05}
    cases = []
    for loss in sk_embed.available_losses():
        tested = {"n_components": 8, **(sgd if loss in ("contrastive", "triplet") else {})}
        cases += [(loss, "mlp", "tests", tested), (loss, "mlp", "defaults", {})]
    for loss in ("softmax", "center", "triplet"):
        cases.append(
            (
                loss,
                "cnn",
                "tests",
                {"n_components": 8, "backbone__dropout": 0.0, **(sgd if loss == "triplet" else {})},
            )
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
        return float(np.abs(a - b).max() / np.abs(a).max())

    rows = {}
    for (loss, backbone, setting, _), a, b, c in zip(cases, one, two, other):
        row = rows.setdefault((loss, backbone), {"technique": loss, "backbone": backbone})
        if setting == "tests":
            row["2 processes, tests' settings"] = difference(a, b)
        else:
            row["2 processes, 2-D, Adam"] = difference(a, b)
            row["1 process, other kernels, 2-D, Adam"] = difference(a, c)
    return list(rows.values())


def _scientific(rows):
    return [{k: f"{v:.1e}" if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, out=True)
    parser.add_argument("--rows", type=int, default=20000, help="samples of the mlp rows")
    parser.add_argument("--images", type=int, default=4000, help="28x28 images of the cnn")
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed (after one more)")
    parser.add_argument("--batch-size", type=int, default=256, help="global batch (per GPU)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gpu", action="store_true", help="the GPU table instead")
    parser.add_argument("--backbone", default="cnn", help="the GPU table's backbone")
    parser.add_argument("--equivalence", action="store_true", help="2 processes against 1")
    parser.add_argument("--other-kernels", help=argparse.SUPPRESS)  # equivalence's helper
    args = parser.parse_args()
    if args.other_kernels:
        np.savez(args.other_kernels, *embeddings(equivalence_cases()))
        return
    if args.equivalence:
        rows = equivalence()
        columns = list(rows[0]) + [c for c in rows[-1] if c not in rows[0]]
        print(h.table(_scientific(rows), columns))
        h.save(args.out, rows)
        return
    params = {
        "max_epochs": args.epochs + 1,
        "tol": None,
        "batch_size": args.batch_size,
        "random_state": 0,
        **args.set,
    }
    if args.gpu:
        rows = gpu_table(args, params)
    else:
        print(f"CPU: {os.cpu_count()} cores, global batch {args.batch_size}\n")
        rows = []
        for kind, n in (("mlp", args.rows), ("cnn", args.images)):
            rows += run(kind, n, args.processes, params)
    if rows:
        print(h.table(rows, digits={"epoch (s)": 3, "time / 1 process": 2}))
    h.save(args.out, rows)


def gpu_table(args, params):
    """Rows of images per second on 1, 2, 4, ... GPUs (weak scaling: ``--batch-size``
    per GPU)."""
    # device_count does not initialize CUDA here: the launched processes need it not to be
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        print("No CUDA device here: the GPU table needs a machine with GPUs.")
        return []
    X, y = make_data("images", args.images)
    X = np.repeat(X, 3, axis=1) if args.backbone == "resnet18" else X
    print(f"GPU: {count} devices, {args.backbone}, {args.batch_size} images per GPU per step\n")
    rows, one = [], None
    for k in [k for k in (1, 2, 4, 8, 16) if k <= count]:
        run_params = {
            **params,
            "backbone": args.backbone,
            "device": "cuda",
            "batch_size": args.batch_size * k,
        }
        times, _, _ = notebook_launcher(epoch_seconds, args=(X, y, run_params), num_processes=k)
        seconds = float(np.median(times))
        rate = len(X) / seconds
        one = one or rate
        rows.append(
            {
                "GPUs": k,
                "global batch": args.batch_size * k,
                "epoch (s)": seconds,
                "images/s": round(rate),
                "scaling efficiency": rate / (k * one),
            }
        )
    return rows


if __name__ == "__main__":
    main()

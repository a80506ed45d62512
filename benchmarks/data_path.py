"""Memory and time of the data path on image-sized data (docs/performance.md).

Three measurements, each fit in a fresh Python process so its peak memory is its own:

1. ``memory``: three runs of one epoch of the mlp (defaults, ``max_epochs=1``) on a uint8 memory map
   of ``--rows`` x 784 pixels; the peak resident memory (``ru_maxrss``) over the
   resident memory right before ``fit``. The in-memory float32 array of the same pixels
   is measured the same way, for reference.
2. ``time``: the epoch time (skorch's ``dur``, mean of two epochs) on the memory map
   against the same data as an in-memory float32 array: one process, a warm-up fit,
   then ``--repeats`` pairs of fits alternating; the median of the pairs' ratios.
3. ``augment``: the same for the cnn on 28x28 images (``--images`` of them, from the
   memory map) with ``augment="shift"`` against without.

The machine's speed drifts by tens of percent over minutes (other tenants), so only
ratios of runs next to each other are compared.

Usage: python benchmarks/data_path.py [--rows 200000] [--images 20000] [--repeats 5]
"""

import tempfile
import time
from pathlib import Path

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np


def _memmap(path, rows, backbone):
    shape = (rows, 784) if backbone == "mlp" else (rows, 28, 28)
    return np.memmap(path, dtype=np.uint8, mode="r", shape=shape), np.arange(rows) % 10


def one_fit(path, rows, form, backbone):
    """One epoch on the memory map (``form="memmap"``) or on its pixels as an in-memory
    float32 array; run in a fresh process, so that its peak memory is its own."""
    from sk_embed import EmbeddingClassifier

    X, y = _memmap(path, rows, backbone)
    if form == "float32":
        X = np.asarray(X, dtype=np.float32)
    clf = EmbeddingClassifier(backbone=backbone, max_epochs=1, tol=None, random_state=0)
    before, _ = h.memory_mb()
    start = time.perf_counter()
    clf.fit(X, y)
    total = time.perf_counter() - start
    _, peak = h.memory_mb()
    return {"before_mb": before, "peak_mb": peak, "epoch_s": clf.history_[-1, "dur"],
            "fit_s": total}  # fmt: skip


def epoch_pairs(path, rows, backbone, repeats):
    """Epoch times (skorch's ``dur``, mean of two epochs) of two settings, alternating:
    for the mlp the memory map against its pixels as float32 in memory; for the cnn
    ``augment="shift"`` against none, both from the memory map."""
    from sk_embed import EmbeddingClassifier

    memmap, y = _memmap(path, rows, backbone)
    if backbone == "mlp":
        settings = {"memmap": (memmap, {}), "float32": (np.asarray(memmap, dtype=np.float32), {})}
    else:
        settings = {"shift": (memmap, {"augment": "shift"}), "none": (memmap, {})}

    def epoch(X, extra):
        clf = EmbeddingClassifier(
            backbone=backbone, max_epochs=2, tol=None, random_state=0, **extra
        )
        clf.fit(X, y)
        return float(np.mean([row["dur"] for row in clf.history_]))

    epoch(*next(iter(settings.values())))  # warm-up
    calls = {name: (lambda i, s=setting: epoch(*s)) for name, setting in settings.items()}
    return h.alternate(calls, repeats, own_time=True)


def _pixels(path, rows, seed=0):
    """Random digit-like pixels written chunk by chunk (the file is the data)."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            f.write(rng.integers(0, 256, size=(n, 784), dtype=np.uint8).tobytes())


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pixels.u8"
        _pixels(path, max(args.rows, args.images))
        size = args.rows * 784 / 2**20
        print(f"uint8 memory map of {args.rows} x 784 ({size:.0f} MB), mlp, one epoch\n")
        runs = {"memmap": [], "float32": []}
        for _ in range(3):
            for form in runs:  # alternating, so both see the same machine
                runs[form].append(h.fresh_process(one_fit, path, args.rows, form, "mlp"))
        column = "peak RSS over pre-fit RSS (MB), median of runs"
        memory = [
            {"input": form, column: np.median([r["peak_mb"] - r["before_mb"] for r in found])}
            for form, found in runs.items()
        ]
        print(h.table(memory, digits=0))
        _ratio("mlp", "epoch time, memory map / in-memory float32", path, args.rows, args)
        print(f"\ncnn on {args.images} images of 28x28 (uint8 memory map)")
        _ratio("cnn", 'epoch time, augment="shift" / none', path, args.images, args)


def _ratio(backbone, label, path, rows, args):
    times = h.fresh_process(epoch_pairs, path, rows, backbone, args.repeats)
    (first, a), (second, b) = times.items()
    ratio = times.ratios(first, second)
    print(
        f"{label}: median {np.median(ratio):.2f} (min {min(ratio):.2f}, max "
        f"{max(ratio):.2f}, {len(ratio)} pairs); epoch {first} {np.median(a):.2f} s, "
        f"{second} {np.median(b):.2f} s"
    )


if __name__ == "__main__":
    main()

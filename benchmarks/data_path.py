"""Memory and time of the data path on image-sized data (docs/performance.md).

Three measurements, each fit in a fresh Python process so its peak memory is its own:

1. ``memory``: one epoch of the mlp (defaults, ``max_epochs=1``) on a uint8 memory map
   of ``--rows`` x 784 pixels; the peak resident memory (``ru_maxrss``) over the
   resident memory right before ``fit``. The in-memory float32 array of the same pixels
   is measured the same way, for reference.
2. ``time``: the epoch time (skorch's ``dur``) of that fit on the memory map, against the
   same data as an in-memory float32 array, in the same run.
3. ``augment``: the epoch time of the cnn on 28x28 images with ``augment="shift"``
   against without, in the same run (``--images`` images).

Usage: python benchmarks/data_path.py [--rows 200000] [--images 20000] [--repeats 3]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np
from sk_embed import EmbeddingClassifier

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

path, rows, form, backbone, augment = sys.argv[1:6]
rows = int(rows)
if backbone == "mlp":
    X = np.memmap(path, dtype=np.uint8, mode="r", shape=(rows, 784))
else:
    X = np.memmap(path, dtype=np.uint8, mode="r", shape=(rows, 28, 28))
y = np.arange(rows) % 10
if form == "float32":
    X = np.asarray(X, dtype=np.float32)
clf = EmbeddingClassifier(backbone=backbone, max_epochs=1, tol=None, random_state=0,
                          augment=None if augment == "none" else augment)
before = rss_mb()
start = time.perf_counter()
clf.fit(X, y)
total = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before_mb": before, "peak_mb": peak, "epoch_s": clf.history_[-1, "dur"],
                  "fit_s": total}))
"""


def _run(path, rows, form, backbone, augment="none"):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(rows), form, backbone, augment],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _pixels(path, rows, seed=0):
    """Random digit-like pixels written chunk by chunk (the file is the data)."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            f.write(rng.integers(0, 256, size=(n, 784), dtype=np.uint8).tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pixels.u8"
        _pixels(path, max(args.rows, args.images))
        size = args.rows * 784 / 2**20
        print(f"uint8 memory map of {args.rows} x 784 ({size:.0f} MB), mlp, one epoch\n")
        runs = {"memmap": [], "float32": []}
        for _ in range(args.repeats):
            for form in runs:  # alternating, so both see the same machine
                runs[form].append(_run(path, args.rows, form, "mlp"))
        print("| input | peak RSS over pre-fit RSS (MB) | epoch (s), median of runs |")
        print("|---|---|---|")
        for form, found in runs.items():
            extra = statistics.median(r["peak_mb"] - r["before_mb"] for r in found)
            epoch = statistics.median(r["epoch_s"] for r in found)
            print(f"| {form} | {extra:.0f} | {epoch:.2f} |")
        ratio = [m["epoch_s"] / f["epoch_s"] for m, f in zip(runs["memmap"], runs["float32"])]
        print(
            f"\nepoch time, memory map / in-memory float32: median {statistics.median(ratio):.2f} "
            f"(min {min(ratio):.2f}, max {max(ratio):.2f})\n"
        )
        print(f"cnn on {args.images} images of 28x28 (uint8 memory map), one epoch")
        shifted, plain = [], []
        for _ in range(args.repeats):
            shifted.append(_run(path, args.images, "memmap", "cnn", "shift")["epoch_s"])
            plain.append(_run(path, args.images, "memmap", "cnn")["epoch_s"])
        ratio = [s / p for s, p in zip(shifted, plain)]
        print(
            f"epoch: shift {statistics.median(shifted):.2f} s, none "
            f"{statistics.median(plain):.2f} s; ratio median {statistics.median(ratio):.2f} "
            f"(min {min(ratio):.2f}, max {max(ratio):.2f})"
        )


if __name__ == "__main__":
    main()

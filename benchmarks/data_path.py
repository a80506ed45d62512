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

PAIRS = r"""
import json, sys
import numpy as np
from sk_embed import EmbeddingClassifier

path, rows, backbone, repeats = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
shape = (rows, 784) if backbone == "mlp" else (rows, 28, 28)
memmap = np.memmap(path, dtype=np.uint8, mode="r", shape=shape)
y = np.arange(rows) % 10
if backbone == "mlp":  # the memory map against the same pixels as float32 in memory
    settings = {"memmap": (memmap, {}), "float32": (np.asarray(memmap, dtype=np.float32), {})}
else:  # shift against none, both from the memory map
    settings = {"shift": (memmap, {"augment": "shift"}), "none": (memmap, {})}

def epoch(X, extra):
    clf = EmbeddingClassifier(backbone=backbone, max_epochs=2, tol=None, random_state=0, **extra)
    clf.fit(X, y)
    return float(np.mean([row["dur"] for row in clf.history_]))

epoch(*next(iter(settings.values())))  # warm-up
times = {name: [] for name in settings}
for _ in range(repeats):
    for name, (X, extra) in settings.items():
        times[name].append(epoch(X, extra))
print(json.dumps(times))
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
                runs[form].append(_run(path, args.rows, form, "mlp"))
        print("| input | peak RSS over pre-fit RSS (MB), median of runs |")
        print("|---|---|")
        for form, found in runs.items():
            extra = statistics.median(r["peak_mb"] - r["before_mb"] for r in found)
            print(f"| {form} | {extra:.0f} |")
        _ratio("mlp", "epoch time, memory map / in-memory float32", path, args.rows, args)
        print(f"\ncnn on {args.images} images of 28x28 (uint8 memory map)")
        _ratio("cnn", 'epoch time, augment="shift" / none', path, args.images, args)


def _ratio(backbone, label, path, rows, args):
    out = subprocess.run(
        [sys.executable, "-c", PAIRS, str(path), str(rows), backbone, str(args.repeats)],
        capture_output=True,
        text=True,
        check=True,
    )
    times = json.loads(out.stdout.strip().splitlines()[-1])
    (first, a), (second, b) = times.items()
    ratio = [x / z for x, z in zip(a, b)]
    print(
        f"{label}: median {statistics.median(ratio):.2f} (min {min(ratio):.2f}, max "
        f"{max(ratio):.2f}, {len(ratio)} pairs); epoch {first} {statistics.median(a):.2f} s, "
        f"{second} {statistics.median(b):.2f} s"
    )


if __name__ == "__main__":
    main()

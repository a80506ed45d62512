"""Retrieval scores at scale: time and memory against pytorch-metric-learning.

Synthetic clusters: ``--classes`` Gaussian clusters in ``--dim`` dimensions, ``--n``
queries and ``--n`` references drawn from them (R = n / classes per query). Each
computation runs in a fresh process, so its peak memory (``ru_maxrss``) is its own:

- ``metrics.retrieval_scores`` with faiss and with scikit-learn (``backend=``), chunks
  of ``--chunk-size`` queries;
- pytorch-metric-learning's ``AccuracyCalculator`` (its faiss k-NN, ``k="max_bin_count"``),
  on the same arrays.

It prints each one's seconds, peak memory over the memory before the call, and
precision@1 / MAP@R (the same for all three).

Usage: python benchmarks/retrieval_scale.py [--n 100000] [--dim 128] [--classes 1000]
       [--noise 1.5] [--chunk-size N]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

path, who, chunk = sys.argv[1], sys.argv[2], sys.argv[3]
chunk = None if chunk == "None" else int(chunk)
try:
    import faiss  # imported before the clock starts, for every computation
except ImportError:
    pass
data = np.load(path)
Zq, yq, Zr, yr = data["Zq"], data["yq"], data["Zr"], data["yr"]
if who == "pml":
    import torch
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    calc = AccuracyCalculator(include=("precision_at_1", "mean_average_precision_at_r"),
                              k="max_bin_count")
    args = [torch.from_numpy(a) for a in (Zq, yq, Zr, yr)]
    before = rss_mb()
    start = time.perf_counter()
    out = calc.get_accuracy(*args)
    p1, mapr = out["precision_at_1"], out["mean_average_precision_at_r"]
else:
    from sk_embed import metrics
    before = rss_mb()
    start = time.perf_counter()
    out = metrics.retrieval_scores(Zq, yq, Zr, yr, k=(1,), chunk_size=chunk, backend=who)
    p1, mapr = out.precision_at_1, out.map_at_r
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "extra_mb": peak - before, "p1": p1, "map_at_r": mapr}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=None, help="default: the function's")
    parser.add_argument("--noise", type=float, default=1.5, help="cluster spread")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(args.classes, args.dim)).astype(np.float32)

    def draw(n):
        y = rng.integers(0, args.classes, n)
        return (centers[y] + args.noise * rng.normal(size=(n, args.dim))).astype(np.float32), y

    (Zq, yq), (Zr, yr) = draw(args.n), draw(args.n)
    print(
        f"{args.n} queries x {args.n} references, d={args.dim}, {args.classes} classes "
        f"(R about {args.n // args.classes}), chunk_size={args.chunk_size}\n"
    )
    print("| computation | seconds | peak memory over before (MB) | precision@1 | MAP@R |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, Zq=Zq, yq=yq, Zr=Zr, yr=yr)
        names = {
            "faiss": "retrieval_scores, faiss",
            "sklearn": "retrieval_scores, scikit-learn",
            "pml": "pytorch-metric-learning AccuracyCalculator (faiss)",
        }
        for who, label in names.items():
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), who, str(args.chunk_size)],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                print(f"| {label} | failed: {out.stderr.strip().splitlines()[-1]} | | | |")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"| {label} | {r['seconds']:.1f} | {r['extra_mb']:.0f} | {r['p1']:.4f} | "
                f"{r['map_at_r']:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

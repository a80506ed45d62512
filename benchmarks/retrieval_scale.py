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

import tempfile
import time
from pathlib import Path

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np

NAMES = {
    "faiss": "retrieval_scores, faiss",
    "sklearn": "retrieval_scores, scikit-learn",
    "pml": "pytorch-metric-learning AccuracyCalculator (faiss)",
}
COLUMNS = ["computation", "seconds", "peak memory over before (MB)", "precision@1", "MAP@R"]


def measure(path, who, chunk):
    """Seconds, peak memory over the memory before the call, precision@1 and MAP@R of
    one computation (``who``: a ``retrieval_scores`` backend or ``"pml"``); run in a
    fresh process, so that its peak memory is its own."""
    try:
        import faiss  # noqa: F401  imported before the clock starts, for every computation
    except ImportError:
        pass
    data = np.load(path)
    Zq, yq, Zr, yr = data["Zq"], data["yq"], data["Zr"], data["yr"]
    if who == "pml":
        import torch
        from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

        calc = AccuracyCalculator(
            include=("precision_at_1", "mean_average_precision_at_r"), k="max_bin_count"
        )
        tensors = [torch.from_numpy(a) for a in (Zq, yq, Zr, yr)]

        def scores():
            out = calc.get_accuracy(*tensors)
            return out["precision_at_1"], out["mean_average_precision_at_r"]
    else:
        from sk_embed import metrics

        def scores():
            out = metrics.retrieval_scores(Zq, yq, Zr, yr, k=(1,), chunk_size=chunk, backend=who)
            return out.precision_at_1, out.map_at_r

    before, _ = h.memory_mb()
    start = time.perf_counter()
    p1, mapr = scores()
    seconds = time.perf_counter() - start
    _, peak = h.memory_mb()
    return {"seconds": seconds, "extra_mb": peak - before, "p1": p1, "map_at_r": mapr}


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
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
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, Zq=Zq, yq=yq, Zr=Zr, yr=yr)
        for who, label in NAMES.items():
            try:
                r = h.fresh_process(measure, path, who, args.chunk_size)
            except Exception as error:  # a library missing, memory exhausted: say so
                rows.append({"computation": label, "seconds": f"failed: {error!r}"})
                continue
            rows.append(
                {
                    "computation": label,
                    "seconds": f"{r['seconds']:.1f}",
                    "peak memory over before (MB)": f"{r['extra_mb']:.0f}",
                    "precision@1": r["p1"],
                    "MAP@R": r["map_at_r"],
                }
            )
    print(h.table(rows, COLUMNS, digits=4))


if __name__ == "__main__":
    main()

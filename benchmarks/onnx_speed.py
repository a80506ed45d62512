"""How fast does an exported ONNX model run next to the estimator? (docs/performance.md)

A softmax model (10-D, defaults) fitted on scikit-learn's digits, exported with
``export_onnx(output="transform")``; onnxruntime (CPU, default session options) against
``EmbeddingClassifier.transform`` on the same batches of 1 and 256 rows, in the same
run, alternating; the median of ``--repeats`` timings of ``--calls`` calls each.

Usage: python benchmarks/onnx_speed.py [--repeats 7] [--calls 200]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from sklearn.datasets import load_digits

from sk_embed import EmbeddingClassifier


def _per_call(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    clf = EmbeddingClassifier(n_components=10, random_state=0).fit(X, y)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        clf.export_onnx(path)
        opset = onnx.load(path).opset_import[0].version
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    print(f"torch {torch.__version__}, onnx {onnx.__version__} (opset {opset}), "
          f"onnxruntime {ort.__version__}, {torch.get_num_threads()} torch threads\n")  # fmt: skip
    print("| batch | transform (ms) | onnxruntime (ms) | speed-up |\n|---|---|---|---|")
    for batch in (1, 256):
        rows = X[:batch]
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(_per_call(lambda r=rows: clf.transform(r), args.calls))
            theirs.append(_per_call(lambda r=rows: session.run(None, {"X": r}), args.calls))
        a, b = statistics.median(ours) * 1e3, statistics.median(theirs) * 1e3
        print(f"| {batch} | {a:.3f} | {b:.3f} | {a / b:.1f}x |", flush=True)
    # Where one row's transform time goes: input validation, the module's own forward.
    row, module = X[:1], clf.net_.module_.eval()
    with torch.no_grad():
        forward = _per_call(lambda: module(torch.from_numpy(row)), args.calls)
    validation = _per_call(lambda: clf._validate_X(row), args.calls)
    print(f"\none row: validation {validation * 1e3:.3f} ms, module forward "
          f"{forward * 1e3:.3f} ms; the rest of transform is the loop around them")  # fmt: skip


if __name__ == "__main__":
    main()

"""How fast does an exported ONNX model run next to the estimator? (docs/performance.md)

A softmax model (10-D, defaults) fitted on scikit-learn's digits, exported with
``export_onnx(output="transform")``; onnxruntime (CPU, default session options) against
``EmbeddingClassifier.transform`` on the same batches of 1 and 256 rows, in the same
run, alternating; the median of ``--repeats`` timings of ``--calls`` calls each. For one
row it also times the forward pass of the same network (``sk_embed.backbones.MLP`` and a
``LinearHead``, built alone): the rest of ``transform`` is input validation and the
batch loop around that pass.

Usage: python benchmarks/onnx_speed.py [--repeats 7] [--calls 200]
"""

import tempfile
from pathlib import Path

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
import onnx
import onnxruntime as ort
import torch
from sklearn.datasets import load_digits

from sk_embed import EmbeddingClassifier
from sk_embed.backbones import MLP
from sk_embed.losses import LinearHead


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
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
    rows = []
    for batch in (1, 256):
        block = X[:batch]
        calls = {
            "transform": lambda i, b=block: clf.transform(b),
            "onnxruntime": lambda i, b=block: session.run(None, {"X": b}),
        }
        median = h.alternate(calls, args.repeats, number=args.calls).median()
        ms = {name: 1e3 * seconds for name, seconds in median.items()}
        rows.append(
            {
                "batch": batch,
                "transform (ms)": ms["transform"],
                "onnxruntime (ms)": ms["onnxruntime"],
                "speed-up": f"{ms['transform'] / ms['onnxruntime']:.1f}x",
            }
        )
    print(h.table(rows))
    # Where one row's transform time goes: the network's own forward pass, and the rest.
    network = torch.nn.Sequential(MLP(X.shape[1], 10), LinearHead(10, 10)).eval()
    row = torch.from_numpy(X[:1])
    with torch.no_grad():
        forward = h.alternate({"forward": lambda i: network(row)}, 1, number=args.calls)
    forward_ms, total_ms = 1e3 * forward.best()["forward"], rows[0]["transform (ms)"]
    print(f"\none row: the network's forward pass {forward_ms:.3f} ms of transform's "
          f"{total_ms:.3f} ms; the rest is input validation and the batch loop")  # fmt: skip


if __name__ == "__main__":
    main()

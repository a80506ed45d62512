"""Training on chunks with ``partial_fit`` against ``fit`` on the whole training set.

The loop of docs/scaling.md ("When the training data does not fit in one machine's
memory"): a Dask array of the training rows in chunks, one ``partial_fit`` per chunk,
30 passes. Digits, 70/30 splits, seeds 0-2, 10-D, default options otherwise.

    python benchmarks/chunked_training.py [--seeds 0 1 2] [--passes 30]
"""

import time
import warnings

import _harness as h  # a sibling: the scripts run from benchmarks/
import dask.array as da
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sk_embed import EmbeddingClassifier

CHUNK = 252


def main():
    parser = h.parser(__doc__, jobs=None, params=False)
    parser.add_argument("--passes", type=int, default=30)
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        X_tr, X_te, y_tr, y_te = h.digits_split(seed)
        order = np.random.default_rng(seed).permutation(len(X_tr))  # shuffle, then chunk
        X_tr, y_tr = X_tr[order], y_tr[order]
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            whole = EmbeddingClassifier(n_components=10, random_state=seed).fit(X_tr, y_tr)
        t_whole = time.perf_counter() - start
        X_d = da.from_array(X_tr, chunks=(CHUNK, X_tr.shape[1]))
        y_d = da.from_array(y_tr, chunks=CHUNK)
        chunked = EmbeddingClassifier(n_components=10, random_state=seed)
        start = time.perf_counter()
        for _ in range(args.passes):
            for X_block, y_block in zip(X_d.to_delayed().ravel(), y_d.to_delayed()):
                chunked.partial_fit(X_block.compute(), y_block.compute(), classes=np.arange(10))
        t_chunked = time.perf_counter() - start
        rows.append((whole.score(X_te, y_te), chunked.score(X_te, y_te), t_whole, t_chunked))
        print(f"seed {seed}: fit {rows[-1][0]:.3f} ({t_whole:.1f} s, {whole.n_iter_} epochs), "
              f"chunks {rows[-1][1]:.3f} ({t_chunked:.1f} s, {chunked.n_iter_} calls)")  # fmt: skip
    mean = np.mean(rows, axis=0)
    print(f"mean test accuracy: fit {mean[0]:.3f}, chunks {mean[1]:.3f} "
          f"(ratio {mean[1] / mean[0]:.3f}); time ratio {mean[3] / mean[2]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

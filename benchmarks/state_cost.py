"""What keeping a fitted model whole costs, against the training it protects.

Each call that goes on training builds a new net holding a copy of the trained state
(module, criterion, optimizer, history), and each epoch keeps a copy of the states it
ends with, so that an interrupt returns to the last whole epoch. This prints both
costs next to the time of one epoch measured in the same run (mlp on rows of digits;
cnn on digits as 8x8 images), the median of ``--repeats`` runs::

    python benchmarks/state_cost.py
"""

from __future__ import annotations

import argparse
import time
import warnings
from functools import partial

import numpy as np
import torch
from sklearn.datasets import load_digits

from sk_embed import EmbeddingClassifier


def _median_seconds(call, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    print("| backbone | one epoch (ms) | copy at an epoch's end (ms) | new net for going on (ms) |")
    print("|---|---:|---:|---:|")
    for backbone, data in (("mlp", X), ("cnn", X.reshape(-1, 8, 8))):
        model = EmbeddingClassifier(backbone=backbone, max_epochs=2, tol=None, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(data, y)
            model.set_params(warm_start=True, max_epochs=1)
            epoch = _median_seconds(partial(model.fit, data, y), max(3, args.repeats // 4))
        net = model.net_
        copy_at_end = _median_seconds(net._whole_epochs, args.repeats)
        next_net = _median_seconds(model._next_net, args.repeats)
        print(
            f"| {backbone} | {epoch * 1e3:.1f} | {copy_at_end * 1e3:.2f} "
            f"({copy_at_end / epoch:.1%}) | {next_net * 1e3:.2f} ({next_net / epoch:.1%}) |"
        )


if __name__ == "__main__":
    main()

"""What keeping a fitted model whole costs, against the training it protects.

Each call that goes on training builds a new net holding a copy of the trained state,
and each epoch keeps a copy of the states it ends with, so that an interrupt returns to
the last whole epoch. A callback (``callbacks=``) marks when each epoch begins and
ends, so the public calls show where a call's time goes:

- one epoch: from its beginning to its end;
- between two epochs: what each epoch's end costs (the copy kept, the stopping rule,
  the schedule);
- before the first epoch: validation and the network, built new by a fresh ``fit``,
  a new net holding a copy of the trained state for a ``partial_fit`` that goes on;
- after the last epoch: the class centers and the samples add_classes keeps.

Fresh fits of 3 epochs and ``partial_fit`` calls on a fitted model alternate; the
median of ``--repeats`` of each, on one thread (mlp on rows of digits; cnn on digits as
8x8 images)::

    python benchmarks/state_cost.py [--repeats 20]
"""

import time
import warnings
from collections import defaultdict

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np
import torch
from sklearn.datasets import load_digits
from skorch.callbacks import Callback

from sk_embed import EmbeddingClassifier


class Clock(Callback):
    """Calls ``mark("begin")`` and ``mark("end")`` at each epoch's beginning and end (a
    function: a copy of the callback calls the same one)."""

    def __init__(self, mark):
        self.mark = mark

    def on_epoch_begin(self, net, **kwargs):
        self.mark("begin")

    def on_epoch_end(self, net, **kwargs):
        self.mark("end")


def costs(backbone, X, y, repeats):
    """Median seconds of each part (``"epoch"``, ``"between"``, and ``"before"``,
    ``"after"`` and ``"call"`` of a ``"fit"`` and of one going ``"on"``)."""
    marks, parts = [], defaultdict(list)

    def mark(event):
        marks.append((event, time.perf_counter()))

    def new():
        return EmbeddingClassifier(
            backbone=backbone, max_epochs=3, tol=None, random_state=0, callbacks=[Clock(mark)]
        )

    def timed(kind, call):
        marks.clear()
        mark("call")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(X, y)
        mark("return")
        events, t = np.array([e for e, _ in marks]), np.array([t for _, t in marks])
        begins, ends = t[events == "begin"], t[events == "end"]
        parts[f"before, {kind}"].append(begins[0] - t[0])
        parts[f"after, {kind}"].append(t[-1] - ends[-1])
        parts["epoch"] += list(ends - begins)
        parts["between"] += list(begins[1:] - ends[:-1])

    going = new().fit(X, y)
    calls = {
        "fit": lambda i: timed("fit", new().fit),
        "on": lambda i: timed("on", going.partial_fit),
    }
    whole = h.alternate(calls, repeats).median()
    out = {part: float(np.median(seconds)) for part, seconds in parts.items()}
    return out | {f"call, {kind}": seconds for kind, seconds in whole.items()}


def _row(backbone, ms):
    """A table row from milliseconds by part, each with its share of one epoch."""

    def cell(*parts):
        share = " / ".join(f"{ms[p] / ms['epoch']:.1%}" for p in parts)
        return " / ".join(f"{ms[p]:.2f}" for p in parts) + f" ({share})"

    return {
        "backbone": backbone,
        "one epoch (ms)": f"{ms['epoch']:.1f}",
        "between two epochs (ms)": cell("between"),
        "before the first epoch (ms), fit / going on": cell("before, fit", "before, on"),
        "after the last epoch (ms), fit / going on": cell("after, fit", "after, on"),
        "whole call (ms), fit of 3 epochs / going on": (
            f"{ms['call, fit']:.1f} / {ms['call, on']:.1f}"
        ),
    }


def main():
    parser = h.parser(__doc__, seeds=None, jobs=None, params=False)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    rows = []
    for backbone, data in (("mlp", X), ("cnn", X.reshape(-1, 8, 8))):
        seconds = costs(backbone, data, y, args.repeats)
        rows.append(_row(backbone, {part: 1e3 * s for part, s in seconds.items()}))
    print(h.table(rows))


if __name__ == "__main__":
    main()

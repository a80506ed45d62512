"""What the benchmark scripts share: their common options, seeded runs fanned out over
processes, timing by alternating runs, fresh processes and their memory, and Markdown
tables.

The scripts run as ``python benchmarks/<name>.py``, so they import this module as a
sibling (``import _harness as h``). It imports nothing heavy (no torch) until a function
needs it: a script may set thread variables before torch starts.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import numbers
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def param(text):
    """One ``--set`` item, ``key=value``, as ``(key, value)``.

    The value is read as a Python literal where it is one (``0.05``, ``(256,)``,
    ``True``), else kept as the string (``cosine``).

    Parameters
    ----------
    text : str

    Returns
    -------
    tuple of (str, object)
    """
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


class _Params(argparse.Action):
    """``--set``'s items as one dict."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, dict(values))


def parser(doc, *, seeds=(0, 1, 2), jobs=1, params=True, out=False):
    """An argument parser with the options the scripts share; a script adds its own.

    Parameters
    ----------
    doc : str
        The script's docstring: its first paragraph describes the script in ``--help``.
    seeds : sequence of int or None, default=(0, 1, 2)
        Default of ``--seeds`` (the seeds of the runs); None: no such option.
    jobs : int or None, default=1
        Default of ``--jobs`` (runs at a time, see :func:`runs`); None: no such option.
    params : bool, default=True
        Add ``--set KEY=VALUE ...``: estimator parameters for every fit of the script,
        as a dict in ``args.set``.
    out : bool, default=False
        Add ``--out FILE``: also write every run's results there as JSON (:func:`save`).

    Returns
    -------
    argparse.ArgumentParser
    """
    first = " ".join(doc.strip().split("\n\n")[0].split())
    p = argparse.ArgumentParser(description=first)
    if seeds is not None:
        p.add_argument(
            "--seeds", type=int, nargs="+", default=list(seeds), help="seeds of the runs"
        )
    if jobs is not None:
        p.add_argument("--jobs", type=int, default=jobs, help="runs at a time (processes)")
    if params:
        p.add_argument(
            "--set",
            nargs="*",
            type=param,
            default={},
            action=_Params,
            metavar="KEY=VALUE",
            help="estimator parameters, e.g. loss__margin=0.05 lr_schedule=cosine",
        )
    if out:
        p.add_argument("--out", type=Path, default=None, metavar="FILE", help="raw results (JSON)")
    return p


def save(path, rows):
    """Write ``rows`` (lists and dicts of numbers, arrays and strings) to ``path`` as JSON.

    Parameters
    ----------
    path : str or path-like or None
        Nothing is written when None (``--out`` not given).
    rows : object
    """
    if path is not None:
        Path(path).write_text(json.dumps(rows, indent=1, default=_plain))


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else str(value)


def split(X, y, seed=0, test_size=0.3):
    """The scripts' split: stratified, ``test_size`` held out, seeded.

    Parameters
    ----------
    X, y : array-like
    seed : int, default=0
    test_size : float, default=0.3

    Returns
    -------
    X_train, X_test, y_train, y_test
    """
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)


def digits_split(seed=0):
    """scikit-learn's digits as rows of 64 pixels (float64, 0..16), :func:`split` 70/30.

    Parameters
    ----------
    seed : int, default=0

    Returns
    -------
    X_train, X_test, y_train, y_test
    """
    from sklearn.datasets import load_digits

    return split(*load_digits(return_X_y=True), seed)


def runs(fn, tasks, *, jobs=1, threads=None, on_result=None):
    """``fn(*task)`` for every task, ``jobs`` at a time in worker processes (joblib).

    A function of the running script is sent to the workers by reference (the script
    imported as a module), so what it builds need not be picklable by value.

    Parameters
    ----------
    fn : callable
    tasks : iterable
        Argument tuples; any other item is the one argument (a seed).
    jobs : int, default=1
        1 runs the tasks here, one after the other.
    threads : int, optional
        torch's thread count for each run (1 when runs share the cores); None leaves it.
    on_result : callable, optional
        Called with each result as soon as it and the tasks before it are done, so a long
        run shows its figures as it goes (and keeps them if it is stopped).

    Returns
    -------
    list
        The results, in the order of ``tasks``.
    """
    from joblib import Parallel, delayed

    if jobs != 1:
        fn = _by_reference(fn)
    tasks = (task if isinstance(task, tuple) else (task,) for task in tasks)
    if threads:
        calls = (delayed(_call)(fn, task, threads) for task in tasks)
    else:
        calls = (delayed(fn)(*task) for task in tasks)
    results = []
    for result in Parallel(n_jobs=jobs, return_as="generator")(calls):
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results


def _call(fn, args, threads):
    """``fn(*args)`` on ``threads`` torch threads."""
    import torch

    torch.set_num_threads(threads)
    return fn(*args)


def _by_reference(fn):
    """``fn`` from the script imported as a module, when it is the running script's."""
    main = sys.modules["__main__"]
    if getattr(fn, "__module__", None) != "__main__" or not hasattr(main, "__file__"):
        return fn
    return getattr(importlib.import_module(Path(main.__file__).stem), fn.__qualname__)


class Timings(dict):
    """Seconds of each timed call, one per round: ``{name: ndarray of shape (rounds,)}``."""

    def best(self):
        """``{name: fastest round}``."""
        return {name: float(t.min()) for name, t in self.items()}

    def median(self):
        """``{name: median round}``."""
        return {name: float(np.median(t)) for name, t in self.items()}

    def ratios(self, a, b):
        """``a``'s time over ``b``'s, round by round (neighbouring runs: the machine's
        drift over minutes cancels)."""
        return self[a] / self[b]


def alternate(calls, repeats, *, number=1, own_time=False):
    """Time ``calls`` in turn, ``repeats`` rounds (a b a b ...), so that all see the same
    machine: its speed drifts by tens of percent over minutes when others share it.

    Parameters
    ----------
    calls : dict of str to callable
        Each is called with the round's index (0, 1, ...), e.g. to seed it.
    repeats : int
        Rounds.
    number : int, default=1
        Calls per round of each; its time is their mean.
    own_time : bool, default=False
        Each call returns its own measurement in seconds (an epoch's duration from
        ``history_``, a loop synchronized with the GPU), used instead of the wall time.

    Returns
    -------
    Timings
    """
    times = {name: [] for name in calls}
    for i in range(repeats):
        for name, call in calls.items():
            start, total = time.perf_counter(), 0.0
            for _ in range(number):
                value = call(i)
                total += value if own_time else 0.0
            elapsed = total if own_time else time.perf_counter() - start
            times[name].append(elapsed / number)
    return Timings({name: np.array(t) for name, t in times.items()})


def fresh_process(fn, *args):
    """``fn(*args)`` in a new Python process, so that its peak memory (``ru_maxrss``) is
    its own; ``fn`` is a function of the script (the child imports it).

    Parameters
    ----------
    fn : callable
    *args
        Picklable arguments.

    Returns
    -------
    object
        ``fn``'s result; its exception is raised here.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def memory_mb():
    """This process's resident memory now and its peak so far, in MB (Linux).

    Returns
    -------
    now, peak : float
    """
    import resource

    with open("/proc/self/status") as status:
        now = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return now / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(rows, columns=None, *, digits=3, ddof=1):
    """Rows as a Markdown table.

    A cell that is a sequence of numbers (one per seed) shows as ``mean ± sd``; a float
    with ``digits`` decimals (NaN as an en dash); anything else as ``str`` gives it.

    Parameters
    ----------
    rows : list of dict or of sequence
        A dict's values by column, or a sequence's in the order of ``columns``.
    columns : list of str, optional
        The header; default: the keys of the first row.
    digits : int or dict of str to int, default=3
        Decimals, for all columns or by column (3 for those not named).
    ddof : int, default=1
        Of the standard deviation: 1, the sample's; one value shows sd 0.

    Returns
    -------
    str
    """
    columns = list(columns if columns is not None else rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        values = row if isinstance(row, Mapping) else dict(zip(columns, row))
        cells = []
        for c in columns:
            d = digits.get(c, 3) if isinstance(digits, Mapping) else digits
            cells.append(_cell(values.get(c, ""), d, ddof))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value, digits, ddof):
    if isinstance(value, (str, bool, numbers.Integral)):
        return str(value)
    if isinstance(value, numbers.Real):
        return "–" if np.isnan(value) else f"{value:.{digits}f}"
    if isinstance(value, (list, tuple, np.ndarray)):
        values = np.asarray(value, dtype=float)
        sd = values.std(ddof=ddof) if len(values) > ddof else 0.0
        return f"{values.mean():.{digits}f} ± {sd:.{digits}f}"
    return str(value)

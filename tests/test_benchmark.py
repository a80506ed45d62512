"""Tests of sk_embed/benchmark.py."""

import matplotlib

matplotlib.use("Agg")
import importlib.util  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sk_embed import benchmark, datasets  # noqa: E402


def test_benchmark_run_rows_with_baselines():
    """UMAP is left out here (its first fit compiles for 20 s); the site build's UMAP
    example runs it through ``benchmark.run``."""
    data = datasets.synthetic(n_classes=3, n_per_class=40)
    baselines = ["PCA", "LDA", "NCA"]
    rows = benchmark.run(
        [data],
        losses=["softmax"],
        dims=[2],
        seeds=[0, 1],
        max_epochs=2,
        tol=None,
        baselines=baselines,
    )
    methods = [(r["method"], r["seed"]) for r in rows]
    assert methods == [(m, s) for s in (0, 1) for m in ["softmax", *baselines]]
    for row in rows:
        assert set(row) == set(benchmark.COLUMNS)
        assert row["fit_seconds"] > 0 and 0 <= row["knn_accuracy"] <= 1
    assert np.isnan(rows[1]["accuracy"])  # PCA does not classify
    assert "| synthetic | softmax | technique | 2 | 0 |" in benchmark.to_markdown(rows)


def test_umap_rows_are_there_or_their_absence_is_explained():
    if importlib.util.find_spec("umap") is None:
        assert "umap-learn is not installed" in benchmark.BASELINES_SKIPPED
        assert not any(name.startswith("UMAP") for name in benchmark.BASELINES)
    else:
        assert benchmark.BASELINES_SKIPPED == ""
        assert {"UMAP", "UMAP (unsupervised)"} <= set(benchmark.BASELINES)
        assert isinstance(benchmark.BASELINES["UMAP (unsupervised)"](2, 0), benchmark.Unsupervised)


def test_unsupervised_wrapper_never_sees_the_labels():
    class Spy(PCA):
        def fit(self, X, y=None):
            assert y is None
            return super().fit(X)

    X = np.random.default_rng(0).normal(size=(30, 4))
    pipe = make_pipeline(StandardScaler(), benchmark.Unsupervised(Spy(n_components=2)))
    Z = pipe.fit(X, np.arange(30) % 3).transform(X)
    assert Z.shape == (30, 2)


def test_summarize_means_and_spread_per_group():
    rows = [
        {"method": "a", "dim": 2, "accuracy": 0.8},
        {"method": "a", "dim": 2, "accuracy": 0.9},
        {"method": "a", "dim": 2, "accuracy": 1.0},
        {"method": "b", "dim": 2, "accuracy": 0.5},
    ]
    out = benchmark.summarize(rows, by=("method", "dim"), columns=("accuracy",))
    assert out[0] == {
        "method": "a",
        "dim": 2,
        "seeds": 3,
        "accuracy": pytest.approx(0.9),
        "accuracy_std": pytest.approx(0.1),  # sample standard deviation
        "min_accuracy": 0.8,
    }
    assert out[1]["seeds"] == 1 and np.isnan(out[1]["accuracy_std"])  # no spread from one
    table = benchmark.to_markdown(out, ["method", "accuracy"])
    assert "| a | 0.900 ± 0.100 |" in table and "| b | 0.500 |" in table


def test_parallel_runs_give_the_rows_of_the_serial_ones_in_the_same_order():
    """Each run seeds itself and gets the same thread count, so two processes give the
    same floats as one (the same machine, the same kernels)."""
    data = datasets.synthetic(n_classes=3, n_per_class=30)
    params = dict(losses=["softmax", "center"], dims=[2], seeds=[0, 1], max_epochs=2, tol=None)
    serial = benchmark.run([data], baselines=["PCA"], threads=1, **params)
    parallel = benchmark.run([data], baselines=["PCA"], n_jobs=2, **params)
    drop = ("fit_seconds", "transform_seconds")
    np.testing.assert_equal(  # NaN equals NaN here: the baselines' accuracy
        [{k: v for k, v in r.items() if k not in drop} for r in parallel],
        [{k: v for k, v in r.items() if k not in drop} for r in serial],
    )


def test_benchmark_run_picks_baselines_by_name_and_refuses_unknown_ones():
    data = datasets.synthetic(n_classes=3, n_per_class=40)
    rows = benchmark.run([data], losses=[], dims=[2], baselines=["NCA", "PCA"])
    assert [r["method"] for r in rows] == ["NCA", "PCA"]
    assert [r["method"] for r in benchmark.run([data], losses=[], baselines="PCA")] == ["PCA"]
    assert benchmark.run([data], losses=[], baselines=False) == []
    with pytest.raises(ValueError, match=r"Unknown baseline\(s\) \['tSNE'\]; available: "):
        benchmark.run([data], losses=[], baselines=["PCA", "tSNE"])

"""Tests of sk_embed/benchmark.py."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sk_embed import benchmark, datasets  # noqa: E402


def test_benchmark_run_rows_with_baselines():
    data = datasets.synthetic(n_classes=3, n_per_class=40)
    rows = benchmark.run([data], losses=["softmax"], dims=[2], seeds=[0, 1], max_epochs=2)
    methods = [(r["method"], r["seed"]) for r in rows]
    assert methods == [
        ("softmax", 0),
        ("PCA", 0),
        ("LDA", 0),
        ("NCA", 0),
        ("softmax", 1),
        ("PCA", 1),
        ("LDA", 1),
        ("NCA", 1),
    ]
    for row in rows:
        assert set(row) == set(benchmark.COLUMNS)
        assert row["fit_seconds"] > 0 and 0 <= row["knn_accuracy"] <= 1
    assert np.isnan(rows[1]["accuracy"])  # PCA does not classify
    assert "| synthetic | softmax | technique | 2 | 0 |" in benchmark.to_markdown(rows)


def test_summarize_means_and_minima_per_group():
    rows = [
        {"method": "a", "dim": 2, "accuracy": 0.8},
        {"method": "a", "dim": 2, "accuracy": 0.9},
        {"method": "b", "dim": 2, "accuracy": 0.5},
    ]
    out = benchmark.summarize(rows, by=("method", "dim"), columns=("accuracy",))
    assert out == [
        {"method": "a", "dim": 2, "accuracy": pytest.approx(0.85), "min_accuracy": 0.8, "n": 2},
        {"method": "b", "dim": 2, "accuracy": 0.5, "min_accuracy": 0.5, "n": 1},
    ]

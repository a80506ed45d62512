"""Tests of sk_embed/main.py."""

import json
import subprocess
import sys

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sk_embed.__main__ import main  # noqa: E402


def _not_blank(path):
    image = plt.imread(path)
    return image.std() > 0.01


def test_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "bench"
    main(
        [
            "bench",
            "--dataset",
            "digits",
            "--losses",
            "softmax",
            "cosface",
            "--dims",
            "2",
            "--max-epochs",
            "2",
            "--seeds",
            "0",
            "1",
            "--jobs",
            "2",
            "--no-baselines",
            "--quiet",
            "--out",
            str(out),
            "--dpi",
            "40",
        ]
    )
    for name in ("results.csv", "results.json", "results.md", "runs.csv", "comparison_2d.png"):
        assert (out / name).stat().st_size > 0, name
    rows = json.loads((out / "results.json").read_text())
    assert [(r["method"], r["seeds"]) for r in rows] == [("softmax", 2), ("cosface", 2)]
    runs = json.loads((out / "runs.json").read_text())
    assert [(r["method"], r["seed"]) for r in runs] == [
        (m, s) for s in (0, 1) for m in ("softmax", "cosface")
    ]
    for score in ("accuracy", "knn_accuracy", "silhouette", "map_at_r"):
        values = [r[score] for r in runs if r["method"] == "cosface"]
        assert rows[1][score] == pytest.approx(sum(values) / 2)
        assert rows[1][f"{score}_std"] == pytest.approx(abs(values[0] - values[1]) / 2**0.5)
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.startswith("dataset,method,kind,dim,seeds,accuracy,accuracy_std,knn_accuracy,")
    assert "![comparison_2d.png](comparison_2d.png)" in (out / "results.md").read_text()
    assert _not_blank(out / "comparison_2d.png")
    assert "| digits | cosface | technique | 2 | 2 | 0." in capsys.readouterr().out
    assert " ± " in (out / "results.md").read_text()


def test_help_explains_every_option():
    result = subprocess.run(
        [sys.executable, "-m", "sk_embed", "bench", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in (
        "--dataset",
        "--losses",
        "--dims",
        "--seeds",
        "--jobs",
        "--threads",
        "--max-epochs",
        "--backbone",
        "--no-baselines",
        "--data-dir",
        "--out",
        "--dpi",
        "--quiet",
    ):
        assert option in result.stdout


def test_bench_scores_retrieval_on_a_query_reference_split(tmp_path):
    from sk_embed import benchmark

    out = tmp_path / "bench"
    args = ["bench", "--losses", "softmax", "--dims", "2", "--max-epochs", "2", "--seeds", "0"]
    main([*args, "--jobs", "1", "--no-baselines", "--quiet", "--out", str(out), "--retrieval"])
    row = json.loads((out / "results.json").read_text())[0]
    run = json.loads((out / "runs.json").read_text())[0]
    for score in benchmark.RETRIEVAL_SCORES:
        assert 0.0 <= run[score] <= 1.0 and row[score] == pytest.approx(run[score])
    assert run["query_recall_at_1"] == pytest.approx(run["query_precision_at_1"])
    assert run["query_recall_at_1"] <= run["query_recall_at_5"] <= run["query_recall_at_10"]
    assert "query_map_at_r" in (out / "results.md").read_text()
    assert "half of the test split" in (out / "results.md").read_text()


def test_query_reference_split_is_stratified_and_fixed():
    import numpy as np

    from sk_embed.benchmark import _query_reference

    y = np.repeat(np.arange(5), [10, 11, 1, 4, 7])
    query = _query_reference(y)
    assert [int(query[y == c].sum()) for c in range(5)] == [5, 5, 0, 2, 3]
    assert np.array_equal(query, _query_reference(y))

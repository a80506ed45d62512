"""Tests of sk_embed/main.py."""

import json
import subprocess
import sys

import matplotlib

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
            "--no-baselines",
            "--quiet",
            "--out",
            str(out),
            "--dpi",
            "40",
        ]
    )
    for name in ("results.csv", "results.json", "results.md", "comparison_2d.png"):
        assert (out / name).stat().st_size > 0, name
    rows = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in rows] == ["softmax", "cosface"]
    assert (out / "results.csv").read_text().splitlines()[0].startswith("dataset,method,kind")
    assert "![comparison_2d.png](comparison_2d.png)" in (out / "results.md").read_text()
    assert _not_blank(out / "comparison_2d.png")
    assert "| digits | cosface |" in capsys.readouterr().out


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
        "--max-epochs",
        "--backbone",
        "--no-baselines",
        "--data-dir",
        "--out",
        "--dpi",
        "--quiet",
    ):
        assert option in result.stdout

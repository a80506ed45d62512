"""The documentation site builds, with warnings as errors: a broken docstring, reference
or gallery example fails here."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import sk_embed

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("sphinx_gallery")


def test_the_site_builds_with_an_api_page_per_public_name_and_every_figure(tmp_path):
    out = tmp_path / "html"
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs", out],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    for name in sk_embed.__all__:
        if name != "__version__":
            assert (out / "generated" / f"sk_embed.{name}.html").exists(), name
    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    assert len(examples) >= 6
    for example in examples:
        page = (out / "auto_examples" / f"{example.stem}.html").read_text()
        assert re.search(rf"sphx_glr_{example.stem}_\d+\.png", page), example.name

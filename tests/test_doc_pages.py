"""The guide's pages as a reader meets them: every Python block runs as written and
prints what the page shows, the pages describe today's sk-embed (its history is
CHANGELOG.md's), install it one way, show its version and how to cite it, and the
choosing page's picks are the best rows of its own tables.

Opting a block out of the run: an HTML comment right before it,
``<!-- skip-test: why -->`` (hidden on GitHub and on the site). Use it only for a
block that cannot run anywhere a test runs (it needs the network or a GPU); a block
that imports an optional package which is not installed is skipped on its own, with
the reason."""

import ast
import concurrent.futures
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import sk_embed

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: The longest one page's blocks may take, in seconds (they take 2 to 20 s on 2 cores).
PAGE_TIMEOUT = 240
SKIP = re.compile(r"^\s*<!--\s*skip-test:\s*(?P<why>.+?)\s*-->\s*$")


# --------------------------------------------------------------------------------------
# Reading a page's blocks


def _fences(text):
    """Every fenced block of ``text``: ``(language, first line of its code (1-based),
    its code dedented, the line before the fence, indent)``."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = re.match(r"^( *)```(\S*)", lines[i])
        if not match:
            i += 1
            continue
        indent, language = match.groups()
        end = i + 1
        while end < len(lines) and lines[end] != f"{indent}```":
            end += 1
        code = textwrap.dedent("\n".join(lines[i + 1 : end]) + "\n")
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        blocks.append((language, i + 2, code, before, end + 1))
        i = end + 1
    return blocks


def _imports(code):
    """The top-level packages ``code`` imports."""
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_blocks(text):
    """The Python blocks of a page's ``text``, in order, as dicts: ``line`` (of the code's first
    line), ``code``, ``skip`` (why it is not run, or None), ``output`` (the ```text
    block right after it, or None)."""
    fences, lines = _fences(text), text.splitlines()
    found = []
    for k, (language, line, code, before, _end) in enumerate(fences):
        if language != "python":
            continue
        skip = SKIP.match(before)
        why = skip.group("why") if skip else None
        if why is None:
            missing = sorted(
                name for name in _imports(code) if importlib.util.find_spec(name) is None
            )
            if missing:
                why = f"needs {', '.join(missing)}, not installed"
        following = fences[k + 1] if k + 1 < len(fences) else None
        output = None
        if following and following[0] == "text":
            between = lines[_end : following[1] - 2]
            if not any(s.strip() for s in between):
                output = following[2]
        found.append(
            {"line": line, "code": code, "skip": why, "opt_out": bool(skip), "output": output}
        )
    return found


# The child process: runs the blocks one after the other in one namespace, each
# compiled under the page's own path and line numbers (a traceback points into the
# page), and records what each one printed.
RUNNER = r"""
import contextlib, io, json, sys, traceback
page, spec, out = sys.argv[1:4]
blocks = json.load(open(spec))
namespace = {"__name__": "__main__"}
printed = []
for block in blocks:
    source = "\n" * (block["line"] - 1) + block["code"]
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            exec(compile(source, page, "exec"), namespace)
    except BaseException:
        sys.stdout.write(buffer.getvalue())
        traceback.print_exc()
        sys.exit(1)
    printed.append(buffer.getvalue())
json.dump(printed, open(out, "w"))
"""


def _runnable(page):
    return [b for b in python_blocks(page.read_text()) if b["skip"] is None]


def _run_page(page, folder):
    """Run ``page``'s runnable blocks in a fresh process in ``folder``: a message saying
    what failed, or what each block printed."""
    spec, out = folder / "blocks.json", folder / "printed.json"
    spec.write_text(json.dumps(_runnable(page)))
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    try:
        run = subprocess.run(
            [sys.executable, "-c", RUNNER, str(page), str(spec), str(out)],
            cwd=folder,  # files a block writes land in a temporary folder
            env=env,
            capture_output=True,
            text=True,
            timeout=PAGE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return f"{page.name}: its blocks ran past {PAGE_TIMEOUT} s"
    if run.returncode != 0:
        return f"{page.name}:\n{run.stdout[-3000:]}{run.stderr[-6000:]}"
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def page_runs(request, tmp_path_factory):
    """The runs of the pages this session tests, started together, two at a time (each
    process has one torch thread): a 2-core machine runs the pages side by side. Under
    pytest-xdist each test runs its own page, the workers sharing the cores."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        yield {}
        return
    pages = [
        item.callspec.params["page"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_python_blocks_run_as_written"
    ]
    pages = [page for page in pages if _runnable(page)]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    runs = {p: pool.submit(_run_page, p, tmp_path_factory.mktemp(p.stem)) for p in pages}
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)


NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+")


def _same_output(shown, printed, tolerance):
    """Whether ``printed`` is ``shown`` up to trained numbers: the same text around the
    numbers, and every number with a decimal point within ``tolerance`` (a trained
    model's floats move with the CPU's kernels; integers must match)."""
    if NUMBER.sub("#", shown).split() != NUMBER.sub("#", printed).split():
        return False
    for a, b in zip(NUMBER.findall(shown), NUMBER.findall(printed)):
        if ("." in a) != ("." in b):
            return False
        if "." in a and abs(float(a) - float(b)) > tolerance:
            return False
        if "." not in a and a != b:
            return False
    return True


#: How far a shown trained number may be from a fresh run's (see _same_output).
OUTPUT_TOLERANCE = 0.05


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if python_blocks(p.read_text())],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_python_blocks_run_as_written(page, page_runs, tmp_path):
    """The page's Python blocks run in order in one namespace, as a reader pastes them
    (in a fresh process, in an empty folder, one torch thread), and where a ```text
    block follows one, it is what that block printed."""
    blocks = python_blocks(page.read_text())
    runnable = [b for b in blocks if b["skip"] is None]
    skipped = [f"line {b['line']}: {b['skip']}" for b in blocks if b["skip"] is not None]
    if not runnable:
        pytest.skip(f"{page.name}: every block skipped ({'; '.join(skipped)})")
    run = page_runs[page].result() if page in page_runs else _run_page(page, tmp_path)
    assert isinstance(run, list), run
    for block, text in zip(runnable, run):
        if block["output"] is not None:
            assert _same_output(block["output"], text, OUTPUT_TOLERANCE), (
                f"{page.name}, block at line {block['line']} shows\n{block['output']}"
                f"but prints\n{text}"
            )
    missing = [f"line {b['line']}: {b['skip']}" for b in blocks if b["skip"] and not b["opt_out"]]
    if missing:  # opt-outs are not warned about: the test below counts them
        warnings.warn(f"{page.name}: not run: {'; '.join(missing)}", stacklevel=1)


def test_opt_outs_are_few_and_say_why():
    """``skip-test`` is for blocks that cannot run where tests run; each says why."""
    opted = [
        (page.name, b["line"], b["skip"])
        for page in PAGES
        for b in python_blocks(page.read_text())
        if b["opt_out"]
    ]
    assert all(len(why) > 15 for _, _, why in opted), opted
    assert len(opted) <= 3, opted


def test_block_reading():
    """How the blocks are found: indented ones too, with the page's line numbers, the
    ```text block right after one as its output, the opt-out comment, and a block that
    imports what is not installed."""
    text = textwrap.dedent(
        """\
        Text.

        ```python
        x = 1
        print(x)
        ```

        ```text
        1
        ```

        <!-- skip-test: needs the network to download a data set -->
        ```python
        x = 2
        ```

        ```{image} figure.png
        ```

        - a list item:

          ```python
          import not_a_package_anywhere.sub
          ```
        """
    )
    assert [f[0] for f in _fences(text)] == ["python", "text", "python", "{image}", "python"]
    first, opted, indented = python_blocks(text)
    assert first == {
        "line": 4,
        "code": "x = 1\nprint(x)\n",
        "skip": None,
        "opt_out": False,
        "output": "1\n",
    }
    assert opted["skip"] == "needs the network to download a data set" and opted["opt_out"]
    assert opted["output"] is None
    assert indented["code"] == "import not_a_package_anywhere.sub\n"  # dedented
    assert indented["skip"] == "needs not_a_package_anywhere, not installed"
    assert not indented["opt_out"]
    assert indented["line"] == 23


def test_shown_output_is_compared_up_to_trained_numbers():
    assert _same_output("0.972\n[1 4]\n", "0.9722\n[1 4]\n", 0.05)
    assert not _same_output("0.972\n", "0.872\n", 0.05)
    assert not _same_output("[1 4]\n", "[1 5]\n", 0.05)
    assert not _same_output("(540, 2)\n", "(540, 3)\n", 0.05)
    assert not _same_output("accuracy 0.97\n", "score 0.97\n", 0.05)


# --------------------------------------------------------------------------------------
# One install story, the version, how to cite


def _project():
    """pyproject.toml's ``[project]`` table (tomllib: Python 3.11 and later)."""
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


#: The one way the pages install sk-embed: in the clone, editable, with the extras as
#: pyproject.toml names them (and, optionally, the tested PyTorch pinned).
INSTALL = re.compile(r'pip install (?:-c constraints\.txt )?-e (?:\.|"\.\[(?P<extras>[\w,-]+)\]")')


def _user_pages():
    """The pages a user reads (the changelog page only includes CHANGELOG.md)."""
    return [p for p in PAGES if p.name != "changelog.md"]


def test_every_page_installs_sk_embed_the_same_way():
    extras = set(_project()["optional-dependencies"])
    for page in _user_pages():
        text = page.read_text()
        assert "sk-embed[" not in text, f"{page.name}: install from the clone, not the index"
        for match in re.finditer(r"pip install[^`\n#]*", text):
            command = match.group(0).strip()
            found = INSTALL.fullmatch(command)
            assert found, f"{page.name}: {command!r} is not the documented install"
            named = set(filter(None, (found.group("extras") or "").split(",")))
            assert named <= extras, f"{page.name}: {command!r} names an unknown extra"
    for page in ("README.md", "docs/getting_started.md"):  # the two front doors
        text = (ROOT / page).read_text()
        assert re.search(r"git clone .*\ncd sk-embed\n(.*\n)*pip install -e \.\s", text), page


def test_the_version_is_on_the_front_page_and_in_the_citation(monkeypatch):
    import runpy

    project = _project()
    version = project["version"]
    assert sk_embed.__version__ == version
    monkeypatch.setenv("SK_EMBED_DOCS_OFFLINE", "1")
    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    assert "substitution" in conf["myst_enable_extensions"]
    assert conf["myst_substitutions"]["version"] == conf["release"] == version
    front = (ROOT / "docs" / "index.md").read_text()
    assert "{{ version }}" in front.split("\n## ")[0]  # near the top, above the sections

    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == version and cff["title"].startswith("sk-embed")
    assert cff["authors"] == [{"name": "The sk-embed developers"}]
    assert cff["license"] == project["license"]
    for page in ("README.md", "docs/index.md"):  # a Cite section with the same record
        text = (ROOT / page).read_text()
        section = text.split("\n## Cite\n", 1)[1].split("\n## ", 1)[0]
        assert f"version = {{{version}}}" in section, page
        assert cff["title"] in section and "CITATION.cff" in section, page


# --------------------------------------------------------------------------------------
# Today's sk-embed only

#: Phrases of development history: what sk-embed was, what changed, where it was built.
#: A table measured with settings other than the defaults says which, as a fact of the
#: table ("measured with lr_schedule='plateau'"); the history is CHANGELOG.md's.
HISTORY = [
    r"\bformer(ly)?\b",
    r"\bused to\b",
    r"\bno longer\b",
    r"\bnow\b",
    r"\bwas lent\b",
    r"\bno GPU was\b",
    r"\bwhere these pages were built\b",
    r"\bthis (\d+-core )?(task|session|machine|round)\b",
    r"\bbefore the\b.*\b(change|noise|fix)\b",
    r"\b(was|were) (split|added|removed|changed|replaced|dropped|the default)\b",
    r"\bas (?-i:[A-Z])\w* was\b",  # "split, as UMAP was"
    r"\bthe old\b",
    r"\bwent from\b",
    r"\b(an?|the) earlier (run|runs|setting|version|schedule|default)\b",
    r"\btoday'?s (default|defaults|schedule|figures)\b",
    r"\bthe current (training )?defaults?\b",
    r"\bthen recorded\b",
    r"\bnone measured reaches\b",
]
_HISTORY = re.compile("|".join(f"(?:{p})" for p in HISTORY), re.IGNORECASE)


@pytest.mark.parametrize(
    "phrase",
    [
        "with the former schedule",
        "the defaults as they stood formerly",
        "No GPU was lent to the task that measured this",
        "The second row is the check as it was before the noise",
        "one that grows past that is split, as UMAP was",
        "starts a LocalCluster of 2 worker processes on this 2-core machine",
        "none measured reaches 0.85 at 5 samples",
        '(measured with the former `lr_schedule="plateau"`)',
        "with today's schedule the lowest seed is 0.924",
        "(2.4 points now)",
        "the placement is no longer the limit",
        "contrastive went from 1.16x to 0.79x",
        "In an earlier run, with the same chunks",
    ],
)
def test_history_phrases_are_caught(phrase):
    assert _HISTORY.search(phrase)


@pytest.mark.parametrize(
    "phrase",
    [
        'measured with lr_schedule="plateau"',
        "the previous fitted model stays as it was",
        "once an earlier build has run them",
        "a new net from today's parameters",
        "new classes you do not have yet",
    ],
)
def test_todays_phrases_pass(phrase):
    assert not _HISTORY.search(phrase)


def test_pages_describe_todays_sk_embed():
    """The guide tells what sk-embed does, not what it did or where it was measured."""
    found = [
        f"{page.relative_to(ROOT)}:{n}: {line.strip()}"
        for page in _user_pages()
        for n, line in enumerate(page.read_text().splitlines(), 1)
        if _HISTORY.search(line)
    ]
    assert not found, "\n".join(found)


# --------------------------------------------------------------------------------------
# The choosing page picks from its own tables


def _slug(heading):
    """A heading's anchor, as MyST (``myst_heading_anchors``) and GitHub make it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _tables(text):
    """The Markdown tables of ``text``, each a list of rows (lists of cells), the header
    first."""
    tables, current = [], None
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if set("".join(cells)) <= {"-", ":"}:
                continue  # the rule under the header
            current = current if current is not None else []
            current.append(cells)
        elif current is not None:
            tables.append(current)
            current = None
    return tables


def _names(cell):
    return set(re.findall(r"`([^`]+)`", cell))


def _named_rows(cell, rows):
    """The technique rows a pick's cell names: those whose every backquoted name is in
    the cell, the most specific only (a cell naming `cosface` with both options names
    that row, not `cosface` at its defaults)."""
    names = _names(cell)
    named = [key for key in rows if key <= names]
    return {key for key in named if not any(key < other for other in named)}


def test_choosing_picks_are_the_best_of_their_tables():
    """Each row of docs/choosing.md's summary names, as "take", the best row of the
    table its "judged on" link leads to (ties allowed), with "then try" the next ones
    and "avoid" the worst, on the linked column; every technique it names is a row of
    that table."""
    text = (ROOT / "docs" / "choosing.md").read_text()
    head, *parts = re.split(r"^## ", text, flags=re.M)
    sections = {_slug(part.splitlines()[0]): part for part in parts}
    summary = _tables(head)[0]
    columns = [c.lower() for c in summary[0]]
    assert columns == ["you want", "take", "then try", "avoid", "judged on"]
    checked = 0
    for want, take, then, avoid, judged in summary[1:]:
        link = re.search(r"\[([^\]]+)\]\(#([\w-]+)\)", judged)
        assert link, f"{want}: no link to the section it is judged on"
        measure, anchor = link.groups()
        assert anchor in sections, f"{want}: no section #{anchor}"
        if not _names(take):
            continue  # "any": nothing to rank
        table = next(
            (t for t in _tables(sections[anchor]) if measure.lower() in map(str.lower, t[0])),
            None,
        )
        assert table, f"{want}: section #{anchor} has no table with a column {measure!r}"
        column = [c.lower() for c in table[0]].index(measure.lower())
        rows = {}  # the technique rows: their backquoted names -> the measure
        for row in table[1:]:
            if row[0].startswith("`"):
                rows[frozenset(_names(row[0]))] = float(re.search(r"\d+\.\d+", row[column])[0])
        techniques = set(sk_embed.available_losses())
        for cell in (take, then, avoid):  # every technique a pick names is in the table
            for name in _names(cell) & techniques:
                assert any(name in key for key in rows), f"{want}: {name} is not in the table"
        best = max(rows.values())
        taken, tried, avoided = (_named_rows(c, rows) for c in (take, then, avoid))
        assert taken and all(rows[k] == best for k in taken), (want, "take", best)
        picked = taken | tried
        others = [v for k, v in rows.items() if k not in picked]
        assert not others or min(rows[k] for k in picked) >= max(others), (want, "then try")
        if avoided:
            rest = [v for k, v in rows.items() if k not in avoided]
            assert max(rows[k] for k in avoided) <= min(rest), (want, "avoid")
        checked += 1
    assert checked >= 6


def test_choosing_check_catches_a_wrong_pick():
    rows = {frozenset({"center"}): 0.987, frozenset({"regression"}): 0.985}
    assert _named_rows("`regression`", rows) == {frozenset({"regression"})}
    both = frozenset({"cosface", "reserve_classes=15"})
    rows = {frozenset({"cosface"}): 0.375, both: 0.744}
    assert _named_rows("`cosface` with `reserve_classes=15`", rows) == {both}
    assert _slug('An "unknown" answer (open set)') == "an-unknown-answer-open-set"
    assert _slug("A picture (2-D, 3-D)") == "a-picture-2-d-3-d"

"""Tests of the package as a whole: a light import, the layering rules, and numpydoc
docstrings on the whole public surface."""

import ast
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sk_embed

PACKAGE = Path(sk_embed.__file__).parent


def test_import_is_light():
    code = (
        "import sys, sk_embed; print([m for m in ('matplotlib', 'sk_embed.benchmark', "
        "'sk_embed.plotting') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert sk_embed.benchmark.run  # submodules load on first use


def test_estimator_is_the_scikit_learn_surface_only():
    source = (PACKAGE / "estimator.py").read_text()
    tree = ast.parse(source)
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "skorch" for name in imported)
    bases = {
        getattr(b, "id", getattr(b, "attr", None))
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for b in node.bases
    }
    assert "NeuralNet" not in bases


def _public_modules():
    yield sk_embed
    for info in pkgutil.walk_packages(sk_embed.__path__, "sk_embed."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield importlib.import_module(info.name)


def _public_objects():
    """(qualified name, object, is_method) for every public function, class and method."""
    seen = set()
    for module in _public_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{module.__name__}.{name}", obj, False
            if inspect.isclass(obj):
                for meth_name in dir(obj):  # methods it inherits from the package count too
                    meth = inspect.getattr_static(obj, meth_name)
                    if meth_name.startswith("_") or not inspect.isfunction(meth):
                        continue
                    if meth.__module__.startswith("sk_embed"):
                        yield f"{module.__name__}.{name}.{meth_name}", meth, True


def _section(doc, title):
    match = re.search(rf"^{title}\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", doc, re.M | re.S)
    return match.group(1) if match else None


def _returns_value(func):
    try:
        tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0]
    nested = {
        id(n)
        for f in ast.walk(body)
        if f is not body and isinstance(f, ast.FunctionDef | ast.Lambda)
        for n in ast.walk(f)
    }
    return any(
        isinstance(n, ast.Return) and n.value is not None and id(n) not in nested
        for n in ast.walk(body)
    ) or any(isinstance(n, ast.Yield) and id(n) not in nested for n in ast.walk(body))


PUBLIC = list(_public_objects())


@pytest.mark.parametrize("qualname,obj,is_method", PUBLIC, ids=[p[0] for p in PUBLIC])
def test_numpydoc_docstring(qualname, obj, is_method):
    doc = inspect.getdoc(obj)  # an override inherits the documented hook's docstring
    assert doc, f"{qualname} has no docstring"
    target = obj.__init__ if inspect.isclass(obj) else obj
    if inspect.isclass(obj) and "__init__" not in vars(obj) and obj.__init__ is object.__init__:
        return
    try:
        params = [
            p
            for p in inspect.signature(target).parameters.values()
            if p.name not in ("self", "cls") and not p.name.startswith("_")
        ]
    except (TypeError, ValueError):
        params = []
    if inspect.isclass(obj) and not any(
        k.__module__.startswith("sk_embed") and "__init__" in vars(k) for k in obj.__mro__
    ):
        params = []  # the constructor is a library's (NamedTuple, Callback, ...)
    if params:
        section = _section(doc, "Parameters")
        assert section is not None, f"{qualname}: no Parameters section"
        for p in params:
            assert re.search(rf"(^|[\s,*]){re.escape(p.name)}\b", section, re.M), (
                f"{qualname}: parameter {p.name!r} is not documented"
            )
    if not inspect.isclass(obj) and _returns_value(obj):
        assert _section(doc, "Returns") is not None or _section(doc, "Yields") is not None, (
            f"{qualname}: no Returns section"
        )

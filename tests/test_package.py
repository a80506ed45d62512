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


def _imports(path, module):
    """The absolute names that ``path`` (module ``module``) imports from, and the names
    it imports that may be submodules (``from . import losses``)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names, maybe = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            maybe.update(f"{base}.{alias.name}" for alias in node.names)
    return names, maybe


def _import_graph():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[module] = _imports(path, module)
    return {module: names | (maybe & set(found)) for module, (names, maybe) in found.items()}


# The estimator's side of the package: the scikit-learn surface and its plain helpers.
ESTIMATOR_SIDE = {
    "sk_embed.estimator", "sk_embed._labels", "sk_embed._options", "sk_embed._persistence",
}  # fmt: skip
PUBLIC_USERS = {
    "sk_embed.metrics", "sk_embed.plotting", "sk_embed.benchmark", "sk_embed.open_set",
}  # fmt: skip


def _within(name, module):
    return name == module or name.startswith(module + ".")


def _layer_violations(graph):
    """(importer, imported, rule) for every import that crosses the layers."""
    found = []
    for module, imported in graph.items():
        for name in imported:
            if not (_within(name, "sk_embed") or _within(name, "skorch")):
                continue
            if module in ESTIMATOR_SIDE and _within(name, "skorch"):
                found.append((module, name, "the estimator's side does not import skorch"))
            if module in ESTIMATOR_SIDE and name.startswith("sk_embed._nn."):
                found.append((module, name, "the estimator imports the torch side's entry only"))
            if _within(module, "sk_embed._nn") and (name in ESTIMATOR_SIDE or name == "sk_embed"):
                found.append((module, name, "the torch side does not import the estimator"))
            if (_within(module, "sk_embed.losses") or module == "sk_embed.backbones") and (
                name in ESTIMATOR_SIDE or _within(name, "sk_embed._nn") or name == "sk_embed"
            ):
                found.append((module, name, "techniques and backbones import neither side"))
            private = any(part.startswith("_") for part in name.split(".")[1:])
            if module in PUBLIC_USERS and _within(name, "sk_embed") and private:
                found.append((module, name, "metrics, plotting, benchmark: public surface"))
    return sorted(found)


def test_layers():
    graph = _import_graph()
    assert {"sk_embed.estimator", "sk_embed._nn.net", "sk_embed.losses.softmax"} <= set(graph)
    assert _layer_violations(graph) == []


def test_layer_check_finds_a_crossing():
    graph = {
        "sk_embed.estimator": {"skorch", "sk_embed._nn.net"},
        "sk_embed._nn.net": {"sk_embed.estimator"},
        "sk_embed.losses.center": {"sk_embed._nn"},
        "sk_embed.plotting": {"sk_embed._labels"},
    }
    rules = {rule for _, _, rule in _layer_violations(graph)}
    assert len(rules) == 5


def test_the_estimator_is_made_of_scikit_learn_classes_only():
    from sk_embed import EmbeddingClassifier

    assert all(base.__module__.startswith("sklearn.") for base in EmbeddingClassifier.__bases__)


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

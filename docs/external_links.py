"""Links from the API pages to the libraries sk-embed builds on, in any build.

Sphinx's intersphinx links ``sklearn.pipeline.Pipeline`` to scikit-learn's page only
when the build can download scikit-learn's inventory. This extension needs no network:

- a cross-reference to a name of scikit-learn, PyTorch, skorch, NumPy, SciPy, pandas,
  matplotlib or Python that nothing else resolved becomes a plain link to that name's
  page on the library's site (the address is built from the name, so offline builds
  link too);
- in docstrings, a name of those libraries written as code (``sklearn.frozen.X``,
  ``torch.autocast``) becomes such a cross-reference, and a guide page named by its
  path in the repository (docs/open_set.md) becomes a link to that page of the site.
"""

import importlib
import inspect
import re

from docutils import nodes

SKLEARN = "https://scikit-learn.org/stable/"
TORCH = "https://docs.pytorch.org/docs/stable/"
SKORCH = "https://skorch.readthedocs.io/en/stable/"
NUMPY = "https://numpy.org/doc/stable/reference/"
PYTHON = "https://docs.python.org/3/library/"

#: Names whose page is not where the rules below would look for it.
SPECIAL = {
    "torch.Tensor": TORCH + "tensors.html#torch.Tensor",
    "torch.device": TORCH + "tensor_attributes.html#torch.device",
    "torch.dtype": TORCH + "tensor_attributes.html#torch.dtype",
    "torch.Generator": TORCH + "generated/torch.Generator.html",
    "torch.autocast": TORCH + "amp.html#torch.autocast",
    "torch.amp.GradScaler": TORCH + "amp.html#torch.amp.GradScaler",
    "torch.utils.data.Dataset": TORCH + "data.html#torch.utils.data.Dataset",
    "torch.utils.data.DataLoader": TORCH + "data.html#torch.utils.data.DataLoader",
    "torch.distributed": TORCH + "distributed.html",
    "torch.nn": TORCH + "nn.html",
    "torch.optim": TORCH + "optim.html",
    "torch.optim.Optimizer": TORCH + "optim.html#torch.optim.Optimizer",
    "numpy.typing.ArrayLike": NUMPY + "typing.html#numpy.typing.ArrayLike",
    "numpy.memmap": NUMPY + "generated/numpy.memmap.html",
    "numpy.random.RandomState": NUMPY + "random/legacy.html#numpy.random.RandomState",
    "pandas.DataFrame": "https://pandas.pydata.org/docs/reference/api/pandas.DataFrame.html",
    "scipy.sparse": "https://docs.scipy.org/doc/scipy/reference/sparse.html",
    "matplotlib.figure.Figure": "https://matplotlib.org/stable/api/_as_gen/matplotlib.figure.Figure.html",
    "matplotlib.axes.Axes": "https://matplotlib.org/stable/api/_as_gen/matplotlib.axes.Axes.html",
    "pathlib.Path": PYTHON + "pathlib.html#pathlib.Path",
    "os.PathLike": PYTHON + "os.html#os.PathLike",
    "contextlib.contextmanager": PYTHON + "contextlib.html#contextlib.contextmanager",
    "collections.namedtuple": PYTHON + "collections.html#collections.namedtuple",
    "numpy.inf": NUMPY + "constants.html#numpy.inf",
    "numpy.nan": NUMPY + "constants.html#numpy.nan",
}
#: Words of scikit-learn's and Python's glossaries (link targets of numpydoc's types).
SPECIAL.update(
    {
        f"sklearn_glossary.{word}": SKLEARN + f"glossary.html#term-{term}"
        for word, term in [
            ("array_like", "array-like"),
            ("estimator", "estimator"),
            ("classifier", "classifier"),
            ("transformer", "transformer"),
        ]
    }
)
SPECIAL.update(
    {
        f"python_glossary.{word}": f"https://docs.python.org/3/glossary.html#term-{word}"
        for word in ("iterable", "sequence", "generator")
    }
)
#: Short forms a docstring uses for those names.
ALIASES = {"np": "numpy", "nn": "torch.nn", "torch.nn.Module": "torch.nn.Module"}
BUILTINS = {"int", "float", "str", "bool", "dict", "list", "tuple", "object", "type"}
ROOTS = ("sklearn", "torch", "skorch", "numpy", "np", "nn", "scipy", "pandas", "matplotlib")

#: The types numpydoc links in a Parameters / Returns / Attributes entry: only these
#: words (``numpydoc_xref_ignore = "all"``), each to the name it stands for.
XREF_ALIASES = {
    "ndarray": "numpy.ndarray",
    "array-like": "sklearn_glossary.array_like",
    "RandomState": "numpy.random.RandomState",
    "tensor": "torch.Tensor",
    "nn.Module": "torch.nn.Module",
    "torch.device": "torch.device",
    "torch.Generator": "torch.Generator",
    "Dataset": "torch.utils.data.Dataset",
    "skorch.History": "skorch.history.History",
    "skorch.NeuralNet": "skorch.net.NeuralNet",
    "Figure": "matplotlib.figure.Figure",
    "Axes": "matplotlib.axes.Axes",
    "Path": "pathlib.Path",
    "os.PathLike": "os.PathLike",
    "classifier": "sklearn_glossary.classifier",
    "transformer": "sklearn_glossary.transformer",
    "estimator": "sklearn_glossary.estimator",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "EmbeddingClassifier": "sk_embed.EmbeddingClassifier",
    "OpenSetClassifier": "sk_embed.OpenSetClassifier",
}
_PLAIN = ("int", "float", "str", "bool", "dict", "list", "tuple", "callable", "None", "True")
_PLAIN += ("False", "generator")
XREF_ALIASES.update({name: name for name in _PLAIN})  # left as text
XREF_ALIASES.update({w: f"python_glossary.{w}" for w in ("iterable", "sequence")})
# numpydoc's own defaults for these point into intersphinx inventories: replaced
XREF_ALIASES.update(
    {"boolean": "bool", "string": "str", "array_like": "sklearn_glossary.array_like"}
)
XREF_ALIASES.update({"array": "numpy.ndarray", "np.ndarray": "numpy.ndarray", "numpy": "numpy"})
XREF_ALIASES.update({"np.random.RandomState": "numpy.random.RandomState"})
XREF_ALIASES.update({"scalar": "float", "np.inf": "numpy.inf", "np.nan": "numpy.nan"})
XREF_ALIASES.update({"contextmanager": "contextlib.contextmanager"})
XREF_ALIASES.update({"namedtuple": "collections.namedtuple"})


def _object(name):
    """The module or object ``name`` names (None when it does not import), and whether
    it is a module."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                found = getattr(found, attr)
        except AttributeError:
            return None, False
        return found, cut == len(parts)
    return None, False


def _public_path(name, obj):
    """``name`` spelled where the library documents it, for a class or function: its
    defining module's path where the name itself is a re-export (skorch.NeuralNet)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if module and qualname and not module.startswith("_"):
        return f"{module}.{qualname}"
    return name


def url_of(name):
    """The page on its library's site that documents ``name``, or None."""
    head = name.split(".")[0]
    if head in ALIASES:
        name = ALIASES[head] + name[len(head) :]
    if name in SPECIAL:
        return SPECIAL[name]
    if name.startswith(("sklearn_glossary.", "python_glossary.")):
        return None
    if name in BUILTINS or name in ("callable", "None", "True", "False"):
        return None  # plain words of every type line: left as text
    root = name.split(".")[0]
    obj, is_module = _object(name)
    if obj is None or root not in ROOTS:  # no page to point at rather than a wrong one
        return None
    owner = name.rpartition(".")[0]
    method = not is_module and inspect.isclass(_object(owner)[0])  # an anchor on the class
    if root == "sklearn":
        if is_module:
            return SKLEARN + f"api/{name}.html"
        if method:
            return SKLEARN + f"modules/generated/{owner}.html#{name}"
        return SKLEARN + f"modules/generated/{name}.html"
    if root == "numpy":
        return NUMPY + ("index.html" if is_module else f"generated/{name}.html")
    if root == "torch":
        if is_module:
            return TORCH + f"{name.removeprefix('torch.')}.html"
        if method:
            return TORCH + f"generated/{owner}.html#{name}"
        return TORCH + f"generated/{name}.html"
    if root == "skorch":
        # a top-level name (skorch.NeuralNet) is documented under its module's path
        path = _public_path(name, obj) if name.count(".") == 1 and not is_module else name
        module = path if is_module else path.rsplit(".", 1)[0]
        while module.count(".") > 1:  # skorch.callbacks.training -> callbacks
            module = module.rsplit(".", 1)[0]
        page = module.partition(".")[2] or "index"
        return SKORCH + f"{page}.html" + ("" if is_module else f"#{path}")
    return None


def _resolve(app, env, node, contnode):
    """``missing-reference``: a link to the library's own page for its names."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").removeprefix("python:").removeprefix("numpy:")
    url = url_of(target)
    if url is None:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url, reftitle=target)
    reference += contnode
    return reference


_GUIDE_PAGE = re.compile(r"(?<![\w/`])docs/(\w+)\.md")
_CODE_NAME = re.compile(r"``((?:%s)\.[A-Za-z_][\w.]*)``" % "|".join(ROOTS))


def _link_docstring(app, what, name, obj, options, lines):
    """``autodoc-process-docstring``: guide pages and library names become links."""
    docs = app.srcdir
    for i, line in enumerate(lines):
        line = _GUIDE_PAGE.sub(
            lambda m: f":doc:`/{m.group(1)}`" if (docs / f"{m.group(1)}.md").exists() else m[0],
            line,
        )
        lines[i] = _CODE_NAME.sub(
            lambda m: f":py:obj:`{m.group(1)}`" if url_of(m.group(1)) else m[0], line
        )


def setup(app):
    app.connect("autodoc-process-docstring", _link_docstring)
    # after intersphinx (priority 500), which links the same names where it can reach
    # the libraries' inventories
    app.connect("missing-reference", _resolve, priority=800)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx configuration of the sk-embed site: ``make docs`` builds it into
docs/_build/html with warnings as errors."""

import os
import sys
import urllib.request

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # gallery_order
import external_links  # noqa: E402
import gallery_order  # noqa: E402
import gallery_quick  # noqa: E402

import sk_embed  # noqa: E402

project = "sk-embed"
author = "the sk-embed developers"
copyright = "2026, the sk-embed developers"
release = version = sk_embed.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # after mathjax: serves MathJax from the site itself
    "sphinx.ext.extlinks",
    "external_links",  # docs/external_links.py: the API pages link out, offline too
    "api_pages",  # docs/api_pages.py: the techniques' table on available_losses' page
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/**.ipynb", "auto_examples/**.py", "**.codeobj.json"]
myst_heading_anchors = 3
# $...$ and $$...$$ render as math; {{ version }} in a page is the package's version
myst_enable_extensions = ["dollarmath", "amsmath", "substitution"]
myst_substitutions = {"version": version}
suppress_warnings = ["myst.header"]  # pages start at their own heading level

autosummary_generate = True
templates_path = ["_templates"]  # the estimator's page lists its methods first
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# The types in a Parameters / Returns entry link to their library's page: only the words
# listed in external_links.XREF_ALIASES ("ndarray", "nn.Module", "Dataset", ...).
numpydoc_xref_param_type = True
numpydoc_xref_aliases = external_links.XREF_ALIASES
numpydoc_xref_ignore = "all"
# An API page's table of contents lists its methods by their own names ("fit()"), not
# by their whole dotted path.
toc_object_entries_show_parents = "hide"


# Links to the documentation of the libraries sk-embed builds on, and to papers. They
# are plain links, so they work in a build without internet.
extlinks = {
    "sklearn": ("https://scikit-learn.org/stable/modules/generated/%s.html", "%s"),
    "torch-guide": ("https://docs.pytorch.org/docs/stable/%s", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable/%s", None),
    "numpy": ("https://numpy.org/doc/stable/reference/generated/%s.html", "%s"),
    "arxiv": ("https://arxiv.org/abs/%s", "arXiv:%s"),
    "doi": ("https://doi.org/%s", "doi:%s"),
}

# Where the build can reach the libraries' inventories, the API page's types and the
# cross-references also link there; offline the plain links above still stand and the
# build stays free of warnings.
_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "sklearn": "https://scikit-learn.org/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "skorch": "https://skorch.readthedocs.io/en/stable/",
}


def _reachable(url, timeout=5.0):
    """Whether the inventory at ``url`` can be read now (a failed fetch during the
    build would be a warning, and warnings are errors)."""
    try:
        with urllib.request.urlopen(url + "objects.inv", timeout=timeout) as response:
            return response.status == 200 and bool(response.read(16))
    except (OSError, ValueError):
        return False


if os.environ.get("SK_EMBED_DOCS_OFFLINE") != "1" and all(map(_reachable, _INVENTORIES.values())):
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {name: (url, None) for name, url in _INVENTORIES.items()}


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    # sections (folders of examples/) in gallery_order.SECTIONS' order
    "subsection_order": [f"../examples/{name}" for name in gallery_order.SECTIONS],
    "within_subsection_order": "gallery_order.gallery_order",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "show_memory": False,
    # every figure also at twice its pixels, for sharp screens and for the enlarged
    # view a click on it opens (_static/site.js)
    "image_srcset": ["2x"],
    "reset_modules": (
        "matplotlib",
        "gallery_quick.reset_max_epochs",
        "gallery_quick.share_cores",
    ),
    # two examples at a time, each on its share of the cores (docs/gallery_quick.py): on
    # 2 cores the gallery takes about half as long as one example after the other
    "parallel": gallery_quick.jobs(),
}

html_theme = "pydata_sphinx_theme"
html_title = f"sk-embed {version}"
html_theme_options = {
    "navigation_with_keys": False,
    # every top-level page in the top bar, the API reference included (not under "More"),
    # on one line at 1400 pixels: the links start right after the name, and the search
    # is an icon
    "header_links_before_dropdown": 8,
    "navbar_align": "left",
    "navbar_persistent": ["search-button"],
    # an API page's "On this page" lists the class and its methods
    "show_toc_level": 2,
}
# The pages at the top of the site have no section to navigate, and the studies' tables
# need the width: their text gets the room (the top bar and breadcrumbs still lead on).
_FULL_WIDTH = ("index", "getting_started", "embedded_space", "choosing", "changelog")
_FULL_WIDTH += ("benchmarks", "robustness", "open_set_study", "performance")
html_sidebars = {page: [] for page in _FULL_WIDTH}
html_static_path = ["_static"]
html_css_files = ["tables.css"]
html_js_files = ["site.js"]

# scikit-learn's metadata-routing plumbing on the estimator is documented by
# scikit-learn, with references into its own site.
_SKLEARN_PLUMBING = ("get_metadata_routing",)


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    if name in _SKLEARN_PLUMBING or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)

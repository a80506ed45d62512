"""Sphinx configuration of the sk-embed site: ``make docs`` builds it into
docs/_build/html with warnings as errors."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # gallery_order
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
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.codeobj.json"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # pages start at their own heading level

autosummary_generate = True
templates_path = ["_templates"]  # the estimator's page lists its methods first
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "within_subsection_order": "gallery_order.gallery_order",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "show_memory": False,
    "reset_modules": ("matplotlib", "gallery_quick.reset_max_epochs"),
}

html_theme = "pydata_sphinx_theme"
html_title = "sk-embed"
html_theme_options = {"navigation_with_keys": False}
html_static_path = ["_static"]
html_css_files = ["tables.css"]

# scikit-learn's metadata-routing plumbing on the estimator is documented by
# scikit-learn, with references into its own site.
_SKLEARN_PLUMBING = ("get_metadata_routing",)


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    if name in _SKLEARN_PLUMBING or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)

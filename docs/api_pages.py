"""What the API pages show beyond the docstrings: the page of
:func:`sk_embed.available_losses` lists every registered technique, what it does and its
``loss__`` options, read from the registry when the site is built (so the list is the
one the installed package has)."""

from sk_embed import available_losses
from sk_embed.losses import get_technique


def _option(name, default):
    return f"``loss__{name}={default!r}``"


def technique_table():
    """The registered techniques as the lines of an reST table."""
    lines = [
        "",
        ".. rubric:: The techniques",
        "",
        "Each name is a value of ``EmbeddingClassifier(loss=...)``; its options are set as",
        "``loss__<option>``. :doc:`/techniques` describes each technique, with its paper",
        "and how its defaults were chosen; :doc:`/choosing` says which to take for what.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 20 45 35",
        "",
        "   * - ``loss``",
        "     - what it does to the embedded space",
        "     - options (defaults)",
    ]
    for name in available_losses():
        technique = get_technique(name)
        options = ", ".join(_option(k, v) for k, v in technique.parameters().items())
        summary = technique.summary.replace("|", "\\|")  # ||z|| is not a substitution
        lines += [
            f"   * - ``{name}``",
            f"     - {summary}",
            f"     - {options or 'none'}",
        ]
    return lines + [""]


def _extend(app, what, name, obj, options, lines):
    """``autodoc-process-docstring``, after numpydoc has turned the sections into reST."""
    if name == "sk_embed.available_losses":
        lines.extend(technique_table())


def setup(app):
    app.connect("autodoc-process-docstring", _extend, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

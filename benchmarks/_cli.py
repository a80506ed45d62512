"""What the benchmark scripts share on their command line.

The scripts run as ``python benchmarks/<name>.py``, so they import this module as a
sibling (``from _cli import ...``).
"""

import ast


def estimator_param(text):
    """One ``--set`` item, ``key=value``, as ``(key, value)``.

    The value is read as a Python literal where it is one (``0.05``, ``(256,)``,
    ``True``), else kept as the string (``cosine``).

    Parameters
    ----------
    text : str

    Returns
    -------
    tuple of (str, object)
    """
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def add_set_option(parser):
    """Add ``--set KEY=VALUE ...``: estimator parameters for every fit of the script;
    ``dict(args.set)`` gives them.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument(
        "--set",
        nargs="*",
        type=estimator_param,
        default=[],
        metavar="KEY=VALUE",
        help="estimator parameters, e.g. loss__margin=0.05 lr_schedule=cosine",
    )

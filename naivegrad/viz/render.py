"""``draw``: write a computation graph to a file, as DOT text (always) or rendered by Graphviz (optional).

Rendering needs the ``graphviz`` Python package (``pip install "naivegrad[viz]"``) and Graphviz's ``dot``
program; the DOT text needs neither, and any Graphviz viewer opens it.
"""

import shutil
from pathlib import Path

from .dot import to_dot

from .._atomic import atomic_write

__all__ = ["draw", "GraphvizNotInstalled"]

TEXT_FORMATS = ("dot", "gv")
RENDERED_FORMATS = ("svg", "png", "pdf")

INSTALL_HINT = (
    'pip install "naivegrad[viz]" (the graphviz Python package) and the Graphviz "dot" program '
    "(e.g. apt-get install graphviz, brew install graphviz, conda install graphviz); "
    "a .dot file needs neither"
)


class GraphvizNotInstalled(RuntimeError):
    """Rendering SVG/PNG/PDF needs the graphviz Python package and Graphviz's ``dot`` program."""


def draw(root, path, format=None, *, max_nodes=200, rankdir="LR", labels=None):
    """Draw the graph that computed ``root`` into ``path``; returns the path written.

    >>> loss.backward()
    >>> draw(loss, "graph.svg")     # or .png, .pdf; "graph.dot" works with no Graphviz at all

    ``format`` defaults to the file's extension (dot, gv, svg, png, pdf). The file is written atomically
    (a temporary file, then renamed), so a failed render never leaves a half-written picture. Options
    are ``to_dot``'s. Raises ``GraphvizNotInstalled`` (a RuntimeError) saying what to install when a
    rendered format is asked for without Graphviz.
    """
    path = Path(path)
    fmt = format if format is not None else path.suffix.lstrip(".")
    if not isinstance(fmt, str) or fmt.lower() not in TEXT_FORMATS + RENDERED_FORMATS:
        what = f"format {fmt!r}" if format is not None else f"file extension {path.suffix!r} of {str(path)!r}"
        raise ValueError(
            f"draw: unsupported {what}; use one of {', '.join(TEXT_FORMATS + RENDERED_FORMATS)}"
        )
    fmt = fmt.lower()
    text = to_dot(root, max_nodes=max_nodes, rankdir=rankdir, labels=labels)
    if fmt in TEXT_FORMATS:
        _write_atomically(path, text.encode("utf-8"))
    else:
        _write_atomically(path, render(text, fmt))
    return path


def render(text, fmt):
    """DOT ``text`` rendered by Graphviz into ``fmt`` (svg, png, pdf), as bytes."""
    try:
        import graphviz
    except ImportError:
        raise GraphvizNotInstalled(
            f"drawing a .{fmt} needs the graphviz Python package, which is not installed: {INSTALL_HINT}"
        ) from None
    if shutil.which("dot") is None:
        raise GraphvizNotInstalled(
            f'drawing a .{fmt} needs the Graphviz "dot" program, which is not on PATH: {INSTALL_HINT}'
        )
    try:
        return graphviz.Source(text).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotInstalled(
            f'drawing a .{fmt}: the Graphviz "dot" program failed to start: {INSTALL_HINT}'
        ) from None
    except graphviz.CalledProcessError as e:
        detail = (e.stderr or b"").decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz could not render the graph as .{fmt}: {detail or e}") from None


def _write_atomically(path, data):
    """Write ``data`` to a temporary file next to ``path``, then rename it over ``path``."""
    with atomic_write(path) as f:
        f.write(data)

"""Turning a picture into a file, and a clear error when Graphviz's ``dot`` is missing.

``draw_graph`` returns a ``GraphPicture``: a ``graphviz.Digraph`` (so ``.source``,
``.render()``, ``.pipe()`` and Jupyter's inline display all work as usual) that also
carries ``node_ids``, the node -> DOT id mapping, and turns Graphviz's
``ExecutableNotFound`` into ``GraphvizNotFoundError``, whose message says how to install
``dot``. Building a picture and reading its DOT source never need ``dot``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import graphviz

__all__ = ["FORMATS", "GraphPicture", "GraphvizNotFoundError", "render"]

# The formats this project promises; Graphviz can write many more, and render() passes
# any of those through.
FORMATS = ("svg", "png", "pdf")

INSTALL_HINT = (
    "the Graphviz program 'dot' was not found on PATH; it draws the pictures. Install it:\n"
    "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "  macOS:          brew install graphviz\n"
    "  conda:          conda install -c conda-forge graphviz\n"
    "  Windows:        winget install graphviz\n"
    "The graph itself still works without it: picture.source is its DOT text, and\n"
    "minigrad.print_graph(root) prints it as a text tree."
)


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """``dot`` is not installed (or not on PATH); the message names the install command.

    A subclass of ``graphviz.ExecutableNotFound``, so code that already catches that
    keeps working.
    """

    def __init__(self, detail: str = "") -> None:
        RuntimeError.__init__(self, INSTALL_HINT + (f"\n({detail})" if detail else ""))

    def __str__(self) -> str:
        return str(self.args[0])


class GraphPicture(graphviz.Digraph):
    """A ``graphviz.Digraph`` of a computation graph, plus ``node_ids`` and ``roots``.

    ``node_ids`` maps each graph node (by identity) to the DOT id of its box; the same
    id is the ``id`` of the node's ``<g>`` element in SVG output, so a page can find and
    restyle a node (the backprop player does).
    """

    node_ids: Any = None  # NodeIds, or title -> NodeIds for a side-by-side picture
    roots: Any = None  # the roots drawn, or title -> roots
    names: Any = None  # the ``names`` mapping draw_graph was given (variable name -> node)

    def render(self, *args: Any, **kwargs: Any) -> str:
        """``graphviz.Digraph.render``, except that the DOT source file is removed after
        drawing (``cleanup=True``), so ``render("expression", format="svg")`` leaves
        ``expression.svg`` and no extensionless ``expression`` file. Pass
        ``cleanup=False`` to keep it; ``.source`` holds the same text."""
        if len(args) < 4:  # cleanup is render's fourth positional parameter
            kwargs.setdefault("cleanup", True)
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as err:
            if isinstance(err, GraphvizNotFoundError):
                raise
            raise GraphvizNotFoundError(str(err)) from err

    def pipe(self, *args: Any, **kwargs: Any) -> Any:  # Jupyter's inline display calls this
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as err:
            if isinstance(err, GraphvizNotFoundError):
                raise
            raise GraphvizNotFoundError(str(err)) from err


def render(
    graph: graphviz.Graph | graphviz.Digraph,
    path: str | os.PathLike[str],
    format: str | None = None,
) -> Path:
    """Write ``graph`` to ``path`` as svg, png or pdf (from ``format`` or the path's suffix).

    ``format`` wins over the suffix: ``render(g, "graph.svg", format="png")`` writes
    ``graph.png``. Returns the path of the file written (no DOT file is left behind). Raises
    ``GraphvizNotFoundError`` naming the install command when ``dot`` is missing, and
    ``ValueError`` for an unknown format, before anything is written.
    """
    if not isinstance(graph, graphviz.Graph | graphviz.Digraph):
        raise TypeError(f"render: expected a graphviz graph, got {type(graph).__name__}")
    target = Path(path)
    suffix = target.suffix.lstrip(".").lower()
    fmt = (format or suffix or "svg").lower()
    if fmt not in graphviz.FORMATS:
        raise ValueError(f"render: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if suffix in graphviz.FORMATS:  # graphviz appends the format's suffix itself
        target = target.with_suffix("")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = graph.render(outfile=None, filename=str(target), format=fmt, cleanup=True)
    except graphviz.ExecutableNotFound as err:
        if isinstance(err, GraphvizNotFoundError):
            raise
        raise GraphvizNotFoundError(str(err)) from err
    return Path(written)

"""Pictures of computation graphs, for either engine.

* ``draw_graph(root)``: a ``graphviz.Digraph`` (``GraphPicture``) of the graph behind
  ``root``: values with their data and gradients, ops, name scopes as clusters.
* ``draw_graphs_side_by_side({"composite": y1, "fused": y2})``: several in one picture.
* ``print_graph(root)``: the same graph as a text tree; needs no Graphviz.
* ``render(picture, "graph.svg")``: write svg/png/pdf; a missing ``dot`` program gives
  ``GraphvizNotFoundError`` with the install command.
* ``node_ids(root)``: node -> DOT id (also the SVG ``<g id>``), stable across runs.
* ``backprop_player(loss, "page.html")``: a page that steps through the backward pass
  (``minigrad.viz.player``).

Reading order: ``labels`` (what a box says), ``graph`` (what is drawn and where),
``side_by_side``, ``text``, ``output``, ``cli`` (``python -m minigrad render``).
"""

from minigrad.viz.graph import (
    DEFAULT_MAX_NODES,
    GraphTooLargeError,
    NodeIds,
    draw_graph,
    node_ids,
)
from minigrad.viz.output import GraphPicture, GraphvizNotFoundError, render
from minigrad.viz.player import BackpropPlayer, backprop_player, backprop_steps_json
from minigrad.viz.side_by_side import draw_graphs_side_by_side
from minigrad.viz.text import format_graph, print_graph

__all__ = [
    "DEFAULT_MAX_NODES",
    "BackpropPlayer",
    "GraphPicture",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "NodeIds",
    "backprop_player",
    "backprop_steps_json",
    "draw_graph",
    "draw_graphs_side_by_side",
    "format_graph",
    "node_ids",
    "print_graph",
    "render",
]

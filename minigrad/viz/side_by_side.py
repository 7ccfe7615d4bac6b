"""``draw_graphs_side_by_side``: several graphs in one picture, one titled box each.

Made for comparisons such as BatchNorm composite vs fused: the same styling, the same
legend, and each graph's ids prefixed with its position (``g0_n3``, ``g1_n3``) so the
SVG ids stay unique.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minigrad.viz import labels
from minigrad.viz.graph import DEFAULT_MAX_NODES, GraphBuilder, add_legend, new_picture
from minigrad.viz.output import GraphPicture

__all__ = ["draw_graphs_side_by_side"]


def draw_graphs_side_by_side(
    graphs: Mapping[str, Any],
    *,
    rankdir: str = "LR",
    show_data: bool = True,
    show_grad: bool = True,
    collapse_scopes: bool | int = False,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    precision: int = 4,
    show_saved: bool = False,
    params: Any = (),
    inputs: Any = (),
    caption: str = "",
    legend: bool = True,
) -> GraphPicture:
    """``{"composite": y1, "fused": y2}`` -> one picture with a titled cluster per graph.

    Each value is what ``draw_graph`` takes (a node or a list of nodes); the options
    mean what they mean there (``max_nodes`` applies to each graph; ``params`` and
    ``inputs`` may hold nodes of any of the graphs). ``caption`` is a line of text under
    the picture. The graphs sit left and right of each other when ``rankdir`` is
    ``"TB"`` or ``"BT"`` (each flows top to bottom) and above each other for ``"LR"``
    and ``"RL"`` (each flows left to right). The result's ``node_ids`` maps each title
    to that graph's ``NodeIds``.
    """
    params, inputs = list(params), list(inputs)
    if not isinstance(graphs, Mapping) or not graphs:
        raise TypeError(
            "draw_graphs_side_by_side: expected a non-empty mapping title -> roots, "
            f"like {{'composite': y1, 'fused': y2}}, got {type(graphs).__name__}"
        )
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(
            f"draw_graphs_side_by_side: rankdir must be LR, RL, TB or BT, got {rankdir!r}"
        )
    builders = {
        str(title): GraphBuilder(
            roots,
            who=f"draw_graphs_side_by_side[{title!r}]",
            prefix=f"g{k}_",
            show_data=show_data,
            show_grad=show_grad,
            collapse_scopes=collapse_scopes,
            max_nodes=max_nodes,
            precision=precision,
            show_saved=show_saved,
            params=params,
            inputs=inputs,
        )
        for k, (title, roots) in enumerate(graphs.items())
    }
    picture = new_picture(rankdir)
    for k, (title, builder) in enumerate(builders.items()):
        with picture.subgraph(name=f"cluster_g{k}") as box:
            builder.emit(box)
            box.attr(
                label=labels.caption(builder.notes, title=title),
                id=f"g{k}",
                style="rounded",
                color="#334155",
                penwidth="2",
                fontsize="16",
                labeljust="l",
                **{"class": "graph"},
            )
    if legend:
        add_legend(picture, collapsed=any(b.collapsed_any for b in builders.values()))
    if caption:
        picture.attr(label=caption, labelloc="b", labeljust="l", fontsize="16")
    picture.node_ids = {title: b.ids for title, b in builders.items()}
    picture.roots = {title: b.roots for title, b in builders.items()}
    return picture

"""``print_graph``: the same graph as a plain-text tree, with no Graphviz needed.

The root is at the top; each node lists the nodes it was computed from, indented. A
node used more than once is written out the first time and referred to by its id
after that (``n3 (above)``), so the tree stays as big as the graph. Ids are the ones
``draw_graph`` uses (``n{K}``, K the node's position in ``topological_order``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

import numpy as np

from minigrad.autograd import topological_order
from minigrad.viz import labels
from minigrad.viz.graph import NodeIds, _names, as_roots, is_fused, is_op_node

__all__ = ["format_graph", "print_graph"]


def format_graph(
    roots: Any,
    *,
    precision: int = 4,
    names: Mapping[str, Any] | None = None,
    show_grad: bool = True,
) -> str:
    """The text ``print_graph`` prints, as a string."""
    roots = as_roots(roots, "print_graph")
    ids = NodeIds(topological_order(roots))
    named = _names(names or {})
    uses: dict[int, int] = {}
    for n in ids:
        for p in n._prev:
            uses[id(p)] = uses.get(id(p), 0) + 1
    lines: list[str] = []
    shown: set[int] = set()
    # An explicit stack, not recursion: a chain of a million nodes is a deep tree.
    stack: list[tuple[Any, str, str]] = [(r, "", "") for r in reversed(roots)]
    while stack:
        node, lead, branch = stack.pop()
        if id(node) in shown:
            lines.append(f"{lead}{branch}{ids[node]} (above)")
            continue
        shown.add(id(node))
        text = _describe(node, ids[node], named, precision, show_grad, uses.get(id(node), 0))
        lines.append(f"{lead}{branch}{text}")
        child_lead = lead + ("" if not branch else ("    " if branch == "└── " else "│   "))
        parents = node._prev
        for i in range(len(parents) - 1, -1, -1):
            stack.append((parents[i], child_lead, "└── " if i == len(parents) - 1 else "├── "))
    return "\n".join(lines)


def print_graph(
    roots: Any,
    *,
    precision: int = 4,
    names: Mapping[str, Any] | None = None,
    show_grad: bool = True,
    file: TextIO | None = None,
) -> None:
    """Print the graph behind ``roots`` as a text tree (root first, inputs indented).

    >>> from minigrad import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> print_graph(a * b + a)
    n3 data -4  grad 0  <- +
    ├── n2 data -6  grad 0  <- *
    │   ├── n0 a  data 2  grad 0  leaf, used 2x: grad = sum of 2 contributions (+=)
    │   └── n1 b  data -3  grad 0  leaf
    └── n0 (above)
    """
    print(
        format_graph(roots, precision=precision, names=names, show_grad=show_grad),
        file=file or sys.stdout,
    )


def _describe(
    node: Any, nid: str, named: dict[int, str], precision: int, show_grad: bool, uses: int
) -> str:
    name = named.get(id(node)) or getattr(node, "label", "")
    head = f"{nid} {name}  " if name else f"{nid} "
    if is_op_node(node):
        kind = "fused op" if is_fused(node) else "op"
        return f"{head}[{node._op}] {kind}: {len(node._prev)} inputs, {len(node.grad)} outputs"
    data, grad = node.data, node.grad
    if isinstance(data, np.ndarray):
        text = f"{labels.shape_text(data.shape)} {data.dtype}"
        text += f"  data {labels.array_text(data, precision)}"
        if show_grad:
            text += "  grad " + (
                "None" if grad is None else labels.array_text(np.asarray(grad), precision)
            )
    else:
        text = f"data {labels.number(data, precision)}"
        if show_grad:
            text += f"  grad {labels.number(grad, precision)}"
    if node._prev:
        if node._op:
            text += f"  <- {node._op}" + (" (fused)" if is_fused(node) else "")
    else:
        text += "  leaf"
    if uses > 1:
        text += f", used {uses}x: {labels.fanout_text(uses)}"
    if node._scope:
        text += f"  [{'/'.join(node._scope)}]"
    return head + text

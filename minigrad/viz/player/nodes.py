"""What the player knows about a node: its kind, its data, its name on the page, and
what each of its inputs received in one recorded visit of the backward driver.

Only the node protocol (``_prev``, ``_op``, ``_scope``, ``label``, ``data``, ``grad``)
and public node methods are read; no op is known by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Walk", "data", "is_op_node", "is_output_of_op", "is_tensor", "names", "received"]


def is_op_node(node: Any) -> bool:
    """A multi-output op's own node (a ``ScalarFunction`` call): no data, a grad per output."""
    return not hasattr(node, "data")


def is_tensor(node: Any) -> bool:
    """A ``Tensor`` (it has ``requires_grad``; a scalar ``Value`` does not)."""
    return hasattr(node, "requires_grad") and hasattr(node, "data")


def is_output_of_op(node: Any) -> bool:
    """One output of a multi-output op: a value whose one parent is the op's node."""
    return len(node._prev) == 1 and is_op_node(node._prev[0]) and hasattr(node, "output_index")


def data(node: Any) -> Any:
    """A node's data: a float for a ``Value``, an array for a ``Tensor``, None for an op."""
    d = getattr(node, "data", None)
    return np.asarray(d) if is_tensor(node) else d


def names(order: list[Any]) -> list[str]:
    """What each node is called on the page: its label, else its DOT id ``n{K}``.

    The same names ``draw_graph`` writes in the boxes, so text and picture agree; a
    multi-output op's node is drawn with its op's name, so it is called by that.
    """
    ops = [n._op for n in order if is_op_node(n)]
    out = []
    for k, n in enumerate(order):
        if is_op_node(n):  # drawn as its op's name; the id only when the name repeats
            out.append(n.label or (n._op if ops.count(n._op) == 1 else f"{n._op}@n{k}"))
        else:
            out.append(getattr(n, "label", "") or f"n{k}")
    return out


def received(step: Any) -> list[tuple[Any, Any, list[int]]]:
    """What each *distinct* input received in one visit: (parent, amount, input positions).

    An op may use one value twice (``c * c``); the recorder then reports, for each of
    those positions, the parent's whole change over the visit (both uses together), so
    the uses are merged here into one contribution that lists its positions.
    """
    merged: dict[int, tuple[Any, Any, list[int]]] = {}
    for i, (parent, delta) in enumerate(step.contributions):
        if id(parent) in merged:
            merged[id(parent)][2].append(i)
        else:
            merged[id(parent)] = (parent, delta, [i])
    return list(merged.values())


@dataclass
class Walk:
    """The graph in ``topological_order``, each node's position and name on the page."""

    order: list[Any]
    index: dict[int, int]
    names: list[str]

    @classmethod
    def of(cls, order: list[Any]) -> Walk:
        return cls(order, {id(n): k for k, n in enumerate(order)}, names(order))

    def name(self, node: Any) -> str:
        return self.names[self.index[id(node)]]

    def parents(self, node: Any) -> list[str]:
        return [self.name(p) for p in node._prev]

    def short(self, node: Any) -> str:
        """A step's entry in the page's list: ``name = op(inputs)``."""
        name = self.name(node)
        inputs = ", ".join(self.parents(node))
        if len(inputs) > 40:
            inputs = f"{len(node._prev)} inputs"
        if is_output_of_op(node):
            return f"{name} = output {node.output_index} of {inputs}"
        if is_op_node(node) and name == node._op:  # a multi-output op goes by its op's name
            return f"{name}({inputs})"
        return f"{name} = {node._op}({inputs})"

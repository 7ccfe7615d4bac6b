"""The page's "check" button: d(root)/d(node) by central differences, next to backprop's.

The one piece of arithmetic the player does itself, independent of every backward: nudge
a number by ±h, run the forward again, and divide. A scalar graph is re-run from the
graph itself (each node's ``recompute``: its op's forward on other inputs), for every
value node; a tensor graph through a ``forward`` function you pass, for its leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import no_grad
from minigrad.viz.player.nodes import is_op_node, is_tensor
from minigrad.viz.player.text import plain, text

__all__ = ["CHECK_MAX_ELEMENTS", "CHECK_MAX_NODES", "checks", "no_check_reason"]

# The check re-runs the forward once per perturbed number, twice; past this many nodes
# it would take too long for a page made on the spot.
CHECK_MAX_NODES = 400
CHECK_MAX_ELEMENTS = 64


def checks(
    root: Any, order: list[Any], finals: list[Any], forward: Callable[[], Any] | None
) -> dict[int, dict[str, Any]]:
    """Central differences of the root with respect to each node, where they can be had."""
    if len(order) > CHECK_MAX_NODES:
        return {}
    found: dict[int, dict[str, Any]] = {}
    if forward is not None:
        for k, n in enumerate(order):
            if not n._prev and finals[k] is not None:
                estimate = _leaf_estimate_by_forward(n, forward)
                if estimate is not None:
                    found[k] = _entry(estimate, finals[k])
        return found
    if is_tensor(root):
        return {}  # a tensor graph is checked through forward=
    assert order[-1] is root
    with no_grad():
        for k, n in enumerate(order):
            if is_op_node(n) or finals[k] is None:
                continue
            x = float(n.data)
            h = 1e-6 * max(1.0, abs(x))
            try:
                up = _root_after(order, k, x + h)
                down = _root_after(order, k, x - h)
            except (ArithmeticError, ValueError):  # out of an op's domain, or not re-runnable
                continue
            found[k] = _entry((up - down) / (2 * h), finals[k])
    return found


def _root_after(order: list[Any], k: int, value: float) -> float:
    """The root's value when node ``k`` is set to ``value`` and every later node re-run."""
    values: list[Any] = [getattr(n, "data", None) for n in order]
    values[k] = value
    index = {id(n): i for i, n in enumerate(order)}
    changed = {k}
    for i in range(k + 1, len(order)):
        n = order[i]
        parents = [index[id(p)] for p in n._prev]
        if any(p in changed for p in parents):
            values[i] = n.recompute([values[p] for p in parents])
            changed.add(i)
    return float(values[-1])


def no_check_reason(node: Any, root: Any, forward: Callable[[], Any] | None) -> str:
    """Why the page has no central difference for ``node``."""
    if is_op_node(node):
        return f"{node._op} is an op, not a value: check its outputs instead"
    if node.grad is None:
        return "this node needs no gradient (a constant)"
    if is_tensor(root) and forward is None:
        return "a tensor graph is checked through backprop_player(..., forward=...)"
    if forward is not None and node._prev:
        return "with forward=, the leaves are checked"
    return "the check could not be computed here (too big, or an op that cannot be re-run)"


def _leaf_estimate_by_forward(leaf: Any, forward: Callable[[], Any]) -> Any:
    """Perturb each element of ``leaf`` in place and re-run ``forward()``."""
    d = leaf.data
    with no_grad():
        if not isinstance(d, np.ndarray):
            x, h = float(d), 1e-6 * max(1.0, abs(float(d)))
            leaf.data = x + h
            up = float(np.asarray(forward().data))
            leaf.data = x - h
            down = float(np.asarray(forward().data))
            leaf.data = x
            return (up - down) / (2 * h)
        if d.size > CHECK_MAX_ELEMENTS:
            return None
        h = 1e-6 if d.dtype == np.float64 else 1e-2
        estimate = np.zeros(d.shape)
        flat = d.reshape(-1)
        for i in range(flat.size):
            x = flat[i]
            flat[i] = x + h
            up = float(np.asarray(forward().data, dtype=np.float64).sum())
            flat[i] = x - h
            down = float(np.asarray(forward().data, dtype=np.float64).sum())
            flat[i] = x
            estimate.reshape(-1)[i] = (up - down) / (2 * h)
        return estimate


def _entry(estimate: Any, analytic: Any) -> dict[str, Any]:
    diff = float(np.max(np.abs(np.asarray(estimate) - np.asarray(analytic))))
    return {"estimate": plain(estimate), "text": text(estimate), "diff": diff}

"""Recording the steps: run ``root.backward()`` under ``record_backward()`` and describe
every visit of the driver as plain data (what the page plays, and what JSON exports).

Nothing here differentiates anything: the numbers come from the recorded events
(``BackwardStep``: node, gradient in, what each parent received).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import record_backward, topological_order
from minigrad.viz.player.check import checks, no_check_reason
from minigrad.viz.player.explain import explain
from minigrad.viz.player.nodes import Walk, data, is_op_node, is_tensor, received
from minigrad.viz.player.text import json_safe, plain, rows, text

__all__ = ["MAX_NODES", "backprop_steps", "backprop_steps_json", "check_root"]

# A page is for watching; past this many nodes nobody steps through it.
MAX_NODES = 2000


def check_root(root: Any) -> None:
    """A scalar ``Value`` or one-element ``Tensor`` made by an op; else a clear error."""
    if not hasattr(root, "_prev") or not hasattr(root, "backward"):
        raise TypeError(f"backprop_player: expected a Value or a Tensor, got {type(root).__name__}")
    d = data(root)
    if is_tensor(root):
        if d.size != 1:
            raise ValueError(
                f"backprop_player: the root must hold one number (a loss), got shape {d.shape}"
            )
        if not getattr(root, "requires_grad", True):
            raise ValueError("backprop_player: the root does not require grad (no graph)")
    if not root._prev:
        raise ValueError("backprop_player: the root is a leaf; there is no graph to play")
    count = len(topological_order(root))
    if count > MAX_NODES:
        raise ValueError(
            f"backprop_player: the graph has {count:,} nodes, more than {MAX_NODES:,}; "
            "a page is for stepping through a small graph (a few inputs, a tiny network)"
        )


def _run_recorded_backward(root: Any) -> list[Any]:
    """``root.backward()`` under ``record_backward()``: the events of the real pass."""
    check_root(root)
    with record_backward() as events:
        if is_tensor(root):
            root.backward(retain_graph=True)  # keep saved arrays: formulas read them after
        else:
            root.backward()
    return events


def backprop_steps(root: Any, *, forward: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Run ``root.backward()`` while recording it and describe every step, as plain data.

    Returns ``{"nodes": [...], "steps": [...], "forward": [...], "root": K}``, ready for
    ``json.dumps``; ``forward`` is step 0, each computed value in the forward order. Nodes are in
    ``topological_order(root)``; node ``K`` is ``n{K}`` in ``draw_graph``'s picture. A
    step is one visit of the backward driver: ``node`` (its index), ``title`` and
    ``lines`` (the chain rule with numbers), and ``updates``: for each input that
    received a gradient, the contribution and the running total after it, with
    ``count``/``of`` saying which contribution of how many it was (fan-out).
    Each node carries its final ``grad`` (what ``.grad`` holds afterwards) and, where it
    could be computed, ``check``: the central-difference estimate of d(root)/d(node).

    Leaves accumulate as usual: call this on a fresh graph (or after zeroing the
    leaves), or their earlier gradient shows as the starting value.
    """
    events = _run_recorded_backward(root)
    walk = Walk.of(topological_order(root))
    order, index = walk.order, walk.index

    # How many contributions each node receives, and what it held before the pass's first.
    incoming: dict[int, list[Any]] = {}
    for e in events:
        for parent, delta, _ in received(e):
            if delta is not None:
                incoming.setdefault(index[id(parent)], []).append(delta)
    finals = [_final_grad(n) for n in order]
    start = _starting_gradients(root, walk, finals, incoming)
    found = checks(root, order, finals, forward)
    nodes = _nodes(root, walk, finals, found, forward)
    steps = _steps(events, walk, finals, incoming, start)
    forward_lines = [
        # an op node has no value of its own: its outputs follow it
        f"{walk.short(n)}: {sum(1 for m in order if m._prev[:1] == (n,))} outputs"
        if is_op_node(n)
        else f"{walk.short(n)} = {text(data(n))}"
        for n in order
        if n._prev
    ]
    return {"nodes": nodes, "steps": steps, "root": index[id(root)], "forward": forward_lines}


def backprop_steps_json(root: Any, *, forward: Callable[[], Any] | None = None) -> str:
    """``backprop_steps(root)`` as JSON text (the same data the page plays)."""
    return json.dumps(json_safe(backprop_steps(root, forward=forward)), allow_nan=False)


def _final_grad(node: Any) -> Any:
    g = node.grad
    if g is None:
        return None
    return np.array(g, dtype=np.float64) if isinstance(g, np.ndarray) else float(g)


def _starting_gradients(
    root: Any, walk: Walk, finals: list[Any], incoming: dict[int, list[Any]]
) -> dict[int, Any]:
    """What a gradient held before the pass's first contribution: the root's seed, and a
    leaf's gradient from earlier passes (backward resets every intermediate)."""
    start: dict[int, Any] = {}
    for k, n in enumerate(walk.order):
        if finals[k] is None:
            continue
        base = finals[k] - sum(incoming.get(k, []), 0.0 * finals[k])
        tiny = 1e-9 * float(np.max(np.abs(finals[k])))  # absorbs the rounding of the sum
        if n is root or (not n._prev and float(np.max(np.abs(base))) > tiny):
            start[k] = base
    return start


def _nodes(
    root: Any,
    walk: Walk,
    finals: list[Any],
    found: dict[int, dict[str, Any]],
    forward: Callable[[], Any] | None,
) -> list[dict[str, Any]]:
    index = walk.index
    uses: dict[int, int] = {}  # how many times ops consumed each node
    for n in walk.order:
        for p in n._prev:
            uses[index[id(p)]] = uses.get(index[id(p)], 0) + 1
    nodes = []
    for k, n in enumerate(walk.order):
        d = data(n)
        nodes.append(
            {
                "name": walk.names[k],
                "op": n._op,
                "kind": "op" if is_op_node(n) else ("leaf" if not n._prev else "value"),
                "scope": list(n._scope),
                "parents": [index[id(p)] for p in n._prev],
                "shape": list(d.shape) if isinstance(d, np.ndarray) else None,
                "data": text(d) if d is not None else "",
                "grad": plain(finals[k]),
                "gradText": text(finals[k]),
                "uses": uses.get(k, 0),
                "check": found.get(k),
                "checkNote": "" if k in found else no_check_reason(n, root, forward),
            }
        )
    return nodes


def _steps(
    events: list[Any],
    walk: Walk,
    finals: list[Any],
    incoming: dict[int, list[Any]],
    start: dict[int, Any],
) -> list[dict[str, Any]]:
    """Each visit: its explanation, and every gradient it changed with the running total."""
    names, index = walk.names, walk.index
    totals: dict[int, Any] = {}
    counts: dict[int, int] = {}
    steps = []
    for s, e in enumerate(events):
        k = index[id(e.node)]
        title, lines = explain(e, walk)
        updates = []
        if s == 0:  # what every gradient is before the first visit: the seed, mostly
            for j, base in start.items():
                totals[j] = base
                seed = j == k
                updates.append(
                    {
                        "node": j,
                        "grad": plain(base),
                        "text": text(base),
                        "rows": rows(base),
                        "count": 0,
                        "of": len(incoming.get(j, [])),
                        "seed": seed,
                    }
                )
                note = "the seed, d(root)/d(root)" if seed else "from earlier backward passes"
                lines.insert(0, f"{names[j]}.grad = {text(base)} ({note})")
        for parent, delta, _ in received(e):
            if delta is None:
                continue
            j = index[id(parent)]
            counts[j] = counts.get(j, 0) + 1
            of = len(incoming[j])
            # the last contribution leaves exactly what .grad holds; before it, the sum so far
            totals[j] = finals[j] if counts[j] == of else totals.get(j, 0.0) + delta
            updates.append(
                {
                    "node": j,
                    "grad": plain(totals[j]),
                    "text": text(totals[j]),
                    "rows": rows(totals[j]),
                    "contribution": text(delta),
                    "count": counts[j],
                    "of": of,
                }
            )
            if of > 1 and is_op_node(parent):
                lines.append(
                    f"  {names[j]} collects one gradient per output: {counts[j]} of {of} in, "
                    f"{names[j]}.grad = {text(totals[j])}"
                )
            elif of > 1:
                lines.append(
                    f"  {names[j]} feeds {of} ops: contribution {counts[j]} of {of}, "
                    f"running total {names[j]}.grad = {text(totals[j])}"
                )
        steps.append(
            {
                "node": k,
                "parents": [index[id(p)] for p in e.node._prev],
                "scope": list(e.node._scope),
                "title": title,
                "label": walk.short(e.node),
                "lines": lines,
                "gradOut": text(e.grad_out),
                "updates": updates,
            }
        )
    return steps

"""Step through backprop: one self-contained HTML page that plays the backward pass.

A learner understands backprop when the chain rule is applied one node at a time, with
numbers. ``backprop_player(root, "page.html")`` runs ``root.backward()`` under
``record_backward()`` and turns what the driver did into a page:

* step 0 is the forward pass: the graph (drawn by ``draw_graph``) with every value and
  no gradient;
* each further step is one visit of the backward driver, in its order: the node and its
  inputs are highlighted and the chain rule is written out with its numbers,
  ``a.grad += (local derivative) x out.grad = ...``; every gradient known so far is
  written under its box; a value used by several ops shows each contribution as it
  arrives, with the running total (``+=``);
* the last step shows the finished gradients, which are what ``.grad`` holds.

Nothing here differentiates anything: the numbers come from the recorded events
(``BackwardStep``: node, gradient in, what each parent received). The one piece of
arithmetic done here is the check: a central difference of the root with respect to a
node, computed in Python when the page is made by re-running the forward ops of the
scalar engine (or a ``forward`` function you pass), shown by the page's "check" button.

The page is one file: inline SVG, inline CSS and script (``player.css``, ``player.js``
beside this module), the steps as inline JSON. It loads nothing from the network.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import operator
import random
import re
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.autograd import no_grad, record_backward, topological_order
from minigrad.viz.labels import number

__all__ = [
    "EXAMPLES",
    "BackpropPlayer",
    "backprop_player",
    "backprop_steps",
    "backprop_steps_json",
    "main",
]

# Arrays with at most this many elements are written out in full, else summarized.
SMALL_ARRAY = 12
# Significant digits of every number on the page (the JSON keeps full precision).
DIGITS = 5
# The check re-runs the forward once per perturbed number, twice; past this many nodes
# it would take too long for a page made on the spot.
CHECK_MAX_NODES = 400
CHECK_MAX_ELEMENTS = 64
# A page is for watching; past this many nodes nobody steps through it.
MAX_NODES = 2000


# ---------------------------------------------------------------- numbers as text


def _num(x: float) -> str:
    return number(x, DIGITS)


def _p(x: float) -> str:
    """A number as a factor in a formula: negative ones in parentheses."""
    t = _num(x)
    return f"({t})" if t.startswith("-") else t


def _text(v: Any) -> str:
    """A float, or an array in full when small (nested brackets), else its statistics."""
    if v is None:
        return "None"
    if not isinstance(v, np.ndarray):
        return _num(v)
    if v.ndim == 0:
        return _num(v.item())
    if v.size <= SMALL_ARRAY:
        return _nested(v)
    f = v.astype(np.float64, copy=False)
    return (
        f"{v.shape}: mean {_num(f.mean())}, norm {_num(np.linalg.norm(f.ravel()))}, "
        f"min {_num(f.min())}, max {_num(f.max())}"
    )


def _rows(v: Any) -> list[str] | None:
    """A small 2-D (or higher) array as lines of text, one per row, for under its box."""
    if not isinstance(v, np.ndarray) or v.ndim < 2 or v.size > SMALL_ARRAY:
        return None
    rows = v.reshape(-1, v.shape[-1])
    return [_nested(row) for row in rows]


def _nested(a: np.ndarray) -> str:
    if a.ndim == 1:
        return "[" + ", ".join(_num(x) for x in a.tolist()) + "]"
    return "[" + ", ".join(_nested(row) for row in a) + "]"


def _plain(v: Any) -> Any:
    """A JSON-ready copy of a gradient or value: a float or nested lists of floats."""
    if v is None:
        return None
    if isinstance(v, np.ndarray):
        return np.asarray(v, dtype=np.float64).tolist()
    return float(v)


# ---------------------------------------------------------------- what the driver did


def _is_op_node(node: Any) -> bool:
    """A multi-output op's own node (``_OpNode``): no data, a gradient per output."""
    return not hasattr(node, "data")


def _is_tensor(node: Any) -> bool:
    """A ``Tensor`` (it has ``requires_grad``; a scalar ``Value`` does not)."""
    return hasattr(node, "requires_grad") and hasattr(node, "data")


def _data(node: Any) -> Any:
    """A node's data: a float for a ``Value``, an array for a ``Tensor``, None for an op."""
    data = getattr(node, "data", None)
    return np.asarray(data) if _is_tensor(node) else data


def _names(order: list[Any]) -> list[str]:
    """What each node is called on the page: its label, else its DOT id ``n{K}``.

    The same names ``draw_graph`` writes in the boxes, so text and picture agree; a
    multi-output op's node is drawn with its op's name, so it is called by that.
    """
    ops = [n._op for n in order if _is_op_node(n)]
    names = []
    for k, n in enumerate(order):
        if _is_op_node(n):  # drawn as its op's name; the id only when the name repeats
            names.append(n.label or (n._op if ops.count(n._op) == 1 else f"{n._op}@n{k}"))
        else:
            names.append(getattr(n, "label", "") or f"n{k}")
    return names


def _received(step: Any) -> list[tuple[Any, Any, list[int]]]:
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


# Each scalar op's local derivatives as a learner writes them, by input position.
# Display only: the numbers come from the node's own ``_local``.
_LOCAL_FORMULAS: dict[str, tuple[str, ...]] = {
    "+": ("1", "1"),
    "-": ("1", "-1"),
    "*": ("{b}", "{a}"),
    "/": ("1/{b}", "-{a}/{b}²"),
    "**": ("{b}·{a}^({b}-1)", "{out}·ln {a}"),
    "neg": ("-1",),
    "relu": ("1 if {a} > 0 else 0",),
    "tanh": ("1 - {out}²",),
    "sigmoid": ("{out}·(1 - {out})",),
    "exp": ("{out}",),
    "log": ("1/{a}",),
}


def _local_formula(op: str, position: int, names: Sequence[str], out: str) -> str:
    if op == "sum":
        return "1"
    if op.startswith("**") and len(op) > 2:  # a constant power, e.g. "**2" or "**-0.5"
        n = op[2:]
        return f"{n}·{{a}}^({n}-1)".format(a=names[0])
    forms = _LOCAL_FORMULAS.get(op)
    if forms is None or position >= len(forms):
        return f"∂{out}/∂{names[position]}"
    a = names[0]
    b = names[1] if len(names) > 1 else "?"
    return forms[position].format(a=a, b=b, out=out)


# The fused BatchNorm's hand-derived backward, as the paper writes it (see
# minigrad.batchnorm.math.fused_backward for the derivation).
BATCHNORM_FORMULA = "dx_i = γ/(m·σ) · (m·dy_i - Σdy - x̂_i·Σ(dy·x̂))"


@dataclass
class _Context:
    """What every explainer needs: the walk, names and the running totals so far."""

    order: list[Any]
    index: dict[int, int]
    names: list[str]


def _explain_value(step: Any, ctx: _Context) -> tuple[str, list[str]]:
    """A scalar op: one chain-rule line per input, with the local derivative."""
    node, g = step.node, step.grad_out
    name = ctx.names[ctx.index[id(node)]]
    parents = [ctx.names[ctx.index[id(p)]] for p in node._prev]
    op = node._op
    title = f"{name} = {op}({', '.join(parents)}): push {name}.grad = {_num(g)} to its inputs"
    lines = []
    for _, delta, positions in _received(step):
        # one term per use: (local derivative) x out.grad
        terms = " + ".join(
            f"({_local_formula(op, i, parents, name)}) × {name}.grad" for i in positions
        )
        numbers = " + ".join(f"{_p(node._local[i])} × {_p(g)}" for i in positions)
        lines.append(f"{parents[positions[0]]}.grad += {terms} = {numbers} = {_num(delta)}")
    return title, lines


def _explain_fused_output(step: Any, ctx: _Context) -> tuple[str, list[str]]:
    """An output of a multi-output op hands its gradient to the op node."""
    node = step.node
    name = ctx.names[ctx.index[id(node)]]
    op_node = node._prev[0]
    op_name = ctx.names[ctx.index[id(op_node)]]
    i = node._index
    title = f"{name} is output {i} of {op_node._op}: it hands {name}.grad to the op"
    return title, [f"{op_name}.grad[{i}] += {name}.grad = {_num(step.grad_out)}"]


def _explain_op_node(step: Any, ctx: _Context) -> tuple[str, list[str]]:
    """A multi-output scalar op (``ScalarFunction``): its hand-written backward, once."""
    node = step.node
    parents = [ctx.names[ctx.index[id(p)]] for p in node._prev]
    dy = np.asarray(step.grad_out, dtype=np.float64)
    title = (
        f"{node._op} (fused, one backward for all {dy.size} outputs): "
        f"dy = {_text(dy)} goes to {len(parents)} inputs"
    )
    op_ctx = node._ctx
    if node._op == "batchnorm" and hasattr(op_ctx, "xhat"):
        return title, _batchnorm_lines(step, parents, dy, op_ctx)
    lines = [
        f"{parents[pos[0]]}.grad += {node._op}.backward(dy){pos} = {_num(delta)}"
        for _, delta, pos in _received(step)
    ]
    return title, lines


def _batchnorm_lines(step: Any, parents: list[str], dy: np.ndarray, op_ctx: Any) -> list[str]:
    """The fused BatchNorm's formula, with this batch's numbers put in."""
    xhat = np.asarray(op_ctx.xhat, dtype=np.float64)
    m, gamma, sigma = xhat.size, float(op_ctx.gamma), 1.0 / float(op_ctx.inv_std)
    sum_dy, sum_dy_xhat = float(dy.sum()), float((dy * xhat).sum())
    lines = [
        BATCHNORM_FORMULA,
        f"m = {m}, γ = {_num(gamma)}, σ = {_num(sigma)}, "
        f"Σdy = {_num(sum_dy)}, Σ(dy·x̂) = {_num(sum_dy_xhat)}",
    ]
    deltas = [delta for _, delta in step.contributions]
    for i in range(m):
        lines.append(
            f"{parents[i]}.grad += {_p(gamma)}/({m}·{_p(sigma)}) · ({m}·{_p(dy[i])} "
            f"- {_p(sum_dy)} - {_p(xhat[i])}·{_p(sum_dy_xhat)}) = {_num(deltas[i])}"
        )
    rest = parents[m:]
    for p, what, delta in zip(rest, ("dγ = Σ(dy·x̂)", "dβ = Σdy"), deltas[m:], strict=False):
        lines.append(f"{p}.grad += {what} = {_num(delta)}")
    return lines


def _tensor_batchnorm_lines(op_ctx: Any, dy: np.ndarray) -> list[str]:
    """The numbers of the formula, per channel, from what the fused op saved (training)."""
    saved = getattr(op_ctx, "saved_arrays", None)
    if not getattr(op_ctx, "training", False) or not saved or len(saved) < 2 or dy.ndim < 2:
        return []
    channels = dy.shape[1]
    shape = [1] * dy.ndim
    shape[1] = channels
    axes = tuple(i for i in range(dy.ndim) if i != 1)  # the batch (and length) axes
    try:
        inv_std = np.asarray(saved[1], dtype=np.float64).reshape(-1)
        xhat = np.asarray(saved[0], dtype=np.float64) * inv_std.reshape(shape)
        gamma = np.asarray(saved[2]).reshape(-1) if len(saved) > 2 else np.ones(channels)
    except ValueError:  # saved in another layout: leave the numbers out
        return []
    return [
        f"per channel (m = {dy.size // channels}): γ = {_text(gamma)}, σ = {_text(1 / inv_std)}",
        f"Σdy = {_text(dy.sum(axis=axes))}, Σ(dy·x̂) = {_text((dy * xhat).sum(axis=axes))}",
        "dγ = Σ(dy·x̂), dβ = Σdy, and dx from the formula, element by element:",
    ]


def _explain_tensor(step: Any, ctx: _Context) -> tuple[str, list[str]]:
    """A tensor op: its vector-Jacobian product for each input, as arrays."""
    node = step.node
    name = ctx.names[ctx.index[id(node)]]
    parents = [ctx.names[ctx.index[id(p)]] for p in node._prev]
    title = (
        f"{name} = {node._op}({', '.join(parents)}) {_data(node).shape or ''}: "
        f"push {name}.grad to its inputs"
    )
    lines = [f"{name}.grad = {_text(step.grad_out)}"]
    if getattr(node._ctx, "fused", False) and node._op == "batchnorm":
        lines.append(f"fused op, backward derived by hand: {BATCHNORM_FORMULA}")
        lines.extend(_tensor_batchnorm_lines(node._ctx, np.asarray(step.grad_out)))
    for _, delta, positions in _received(step):
        p = parents[positions[0]]
        if delta is None:
            lines.append(f"{p} needs no gradient (a constant)")
            continue
        tags = [f"#{i}" if len(positions) > 1 else "" for i in positions]
        terms = " + ".join(f"(∂{name}/∂{p}{t})ᵀ · {name}.grad" for t in tags)
        where = ", ".join(map(str, positions))
        lines.append(f"{p}.grad += {terms} [{node._op} backward, input {where}] = {_text(delta)}")
    return title, lines


def _short(node: Any, ctx: _Context) -> str:
    """A step's entry in the page's list: ``name = op(inputs)``."""
    name = ctx.names[ctx.index[id(node)]]
    parents = ", ".join(ctx.names[ctx.index[id(p)]] for p in node._prev)
    if len(parents) > 40:
        parents = f"{len(node._prev)} inputs"
    if not node._op and len(node._prev) == 1 and _is_op_node(node._prev[0]):
        return f"{name} = output {node._index} of {parents}"
    if _is_op_node(node) and name == node._op:  # a multi-output op goes by its op's name
        return f"{name}({parents})"
    return f"{name} = {node._op}({parents})"


def _explain(step: Any, ctx: _Context) -> tuple[str, list[str]]:
    node = step.node
    if _is_op_node(node):
        return _explain_op_node(step, ctx)
    if _is_tensor(node):
        return _explain_tensor(step, ctx)
    if hasattr(node, "_index") and len(node._prev) == 1 and _is_op_node(node._prev[0]):
        return _explain_fused_output(step, ctx)
    return _explain_value(step, ctx)


def _check_root(root: Any) -> None:
    """A scalar ``Value`` or one-element ``Tensor`` made by an op; else a clear error."""
    if not hasattr(root, "_prev") or not hasattr(root, "backward"):
        raise TypeError(f"backprop_player: expected a Value or a Tensor, got {type(root).__name__}")
    data = _data(root)
    if _is_tensor(root):
        if data.size != 1:
            raise ValueError(
                f"backprop_player: the root must hold one number (a loss), got shape {data.shape}"
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
    _check_root(root)
    with record_backward() as events:
        if _is_tensor(root):
            root.backward(retain_graph=True)  # keep saved arrays: the fused step reads them
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
    order = topological_order(root)
    index = {id(n): k for k, n in enumerate(order)}
    names = _names(order)
    ctx = _Context(order, index, names)

    # How many contributions each node receives, and what it held before the pass's
    # first one (the root's seed; a leaf's gradient from earlier passes).
    received: dict[int, list[Any]] = {}
    for e in events:
        for parent, delta, _ in _received(e):
            if delta is not None:
                received.setdefault(index[id(parent)], []).append(delta)
    finals = [_final_grad(n) for n in order]
    start: dict[int, Any] = {}
    for k, n in enumerate(order):
        if finals[k] is None:
            continue
        base = finals[k] - sum(received.get(k, []), 0.0 * finals[k])
        # Only the root (its seed) and leaves (earlier passes) can start non-zero;
        # backward resets intermediates. The tolerance absorbs the rounding of the sum.
        tiny = 1e-9 * float(np.max(np.abs(finals[k])))
        if k == index[id(root)] or (not n._prev and float(np.max(np.abs(base))) > tiny):
            start[k] = base

    checks = _checks(root, order, index, finals, forward)
    uses: dict[int, int] = {}  # how many times ops consumed each node
    for n in order:
        for p in n._prev:
            uses[index[id(p)]] = uses.get(index[id(p)], 0) + 1

    nodes = []
    for k, n in enumerate(order):
        data = _data(n)
        nodes.append(
            {
                "name": names[k],
                "op": n._op,
                "kind": "op" if _is_op_node(n) else ("leaf" if not n._prev else "value"),
                "scope": list(n._scope),
                "parents": [index[id(p)] for p in n._prev],
                "shape": list(data.shape) if isinstance(data, np.ndarray) else None,
                "data": _text(data) if data is not None else "",
                "grad": _plain(finals[k]),
                "gradText": _text(finals[k]),
                "uses": uses.get(k, 0),
                "check": checks.get(k),
                "checkNote": "" if k in checks else _no_check_reason(n, root, forward),
            }
        )

    totals: dict[int, Any] = {}
    counts: dict[int, int] = {}
    steps = []
    for s, e in enumerate(events):
        k = index[id(e.node)]
        title, lines = _explain(e, ctx)
        updates = []
        if s == 0:  # what every gradient is before the first visit: the seed, mostly
            for j, base in start.items():
                totals[j] = base
                seed = j == k
                updates.append(
                    {
                        "node": j,
                        "grad": _plain(base),
                        "text": _text(base),
                        "rows": _rows(base),
                        "count": 0,
                        "of": len(received.get(j, [])),
                        "seed": seed,
                    }
                )
                note = "the seed, d(root)/d(root)" if seed else "from earlier backward passes"
                lines.insert(0, f"{names[j]}.grad = {_text(base)} ({note})")
        for parent, delta, _ in _received(e):
            if delta is None:
                continue
            j = index[id(parent)]
            counts[j] = counts.get(j, 0) + 1
            of = len(received[j])
            # the last contribution leaves exactly what .grad holds; before it, the sum so far
            totals[j] = finals[j] if counts[j] == of else totals.get(j, 0.0) + delta
            updates.append(
                {
                    "node": j,
                    "grad": _plain(totals[j]),
                    "text": _text(totals[j]),
                    "rows": _rows(totals[j]),
                    "contribution": _text(delta),
                    "count": counts[j],
                    "of": of,
                }
            )
            if of > 1 and _is_op_node(parent):
                lines.append(
                    f"  {names[j]} collects one gradient per output: {counts[j]} of {of} in, "
                    f"{names[j]}.grad = {_text(totals[j])}"
                )
            elif of > 1:
                lines.append(
                    f"  {names[j]} feeds {of} ops: contribution {counts[j]} of {of}, "
                    f"running total {names[j]}.grad = {_text(totals[j])}"
                )
        steps.append(
            {
                "node": k,
                "parents": [index[id(p)] for p in e.node._prev],
                "scope": list(e.node._scope),
                "title": title,
                "label": _short(e.node, ctx),
                "lines": lines,
                "gradOut": _text(e.grad_out),
                "updates": updates,
            }
        )
    forward_lines = [
        # an op node has no value of its own: its outputs follow it
        f"{_short(n, ctx)}: {sum(1 for m in order if m._prev[:1] == (n,))} outputs"
        if _is_op_node(n)
        else f"{_short(n, ctx)} = {_text(_data(n))}"
        for n in order
        if n._prev
    ]
    return {"nodes": nodes, "steps": steps, "root": index[id(root)], "forward": forward_lines}


def backprop_steps_json(root: Any, *, forward: Callable[[], Any] | None = None) -> str:
    """``backprop_steps(root)`` as JSON text (the same data the page plays)."""
    return json.dumps(_json_safe(backprop_steps(root, forward=forward)), allow_nan=False)


def _final_grad(node: Any) -> Any:
    g = node.grad
    if g is None:
        return None
    return np.array(g, dtype=np.float64) if isinstance(g, np.ndarray) else float(g)


# ---------------------------------------------------------------- the check


class _CannotReplay(Exception):
    """An op this module cannot re-run (the check is then left out for that node)."""


# The scalar engine's ops by name, so a forward can be re-run through the engine itself.
_SCALAR_OPS: dict[str, Callable[..., Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "neg": operator.neg,
    "relu": lambda a: a.relu(),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
}


def _rerun(node: Any, inputs: list[Any]) -> Any:
    """The node's forward on new input numbers, through the engine's own op."""
    from minigrad.scalar.value import Value, value_sum

    if _is_op_node(node):  # a ScalarFunction: its own forward
        return list(node._fn.forward(types.SimpleNamespace(), *inputs, **node._params))
    if hasattr(node, "_index") and len(node._prev) == 1 and _is_op_node(node._prev[0]):
        return inputs[0][node._index]
    op = node._op
    values = [Value(x) for x in inputs]
    if op == "sum":
        return value_sum(values).data
    if op.startswith("**") and len(op) > 2:
        return (values[0] ** float(op[2:])).data
    fn = _SCALAR_OPS.get(op)
    if fn is None:
        raise _CannotReplay(op)
    return fn(*values).data


def _scalar_root_after(order: list[Any], k: int, value: float) -> float:
    """The root's value when node ``k`` is set to ``value`` and every later node re-run."""
    values: list[Any] = [getattr(n, "data", None) for n in order]
    values[k] = value
    index = {id(n): i for i, n in enumerate(order)}
    changed = {k}
    for i in range(k + 1, len(order)):
        n = order[i]
        parents = [index[id(p)] for p in n._prev]
        if not any(p in changed for p in parents):
            continue
        values[i] = _rerun(n, [values[p] for p in parents])
        changed.add(i)
    return float(values[-1])


def _checks(
    root: Any,
    order: list[Any],
    index: dict[int, int],
    finals: list[Any],
    forward: Callable[[], Any] | None,
) -> dict[int, dict[str, Any]]:
    """Central differences of the root with respect to each node, where they can be had."""
    if len(order) > CHECK_MAX_NODES:
        return {}
    checks: dict[int, dict[str, Any]] = {}
    if forward is not None:
        for k, n in enumerate(order):
            if not n._prev and finals[k] is not None:
                estimate = _leaf_estimate_by_forward(n, forward)
                if estimate is not None:
                    checks[k] = _check_entry(estimate, finals[k])
        return checks
    if _is_tensor(root):
        return {}  # a tensor graph's ops cannot be re-run from the graph: pass forward=
    assert order[-1] is root
    with no_grad():
        for k, n in enumerate(order):
            if _is_op_node(n) or finals[k] is None:
                continue
            x = float(n.data)
            h = 1e-6 * max(1.0, abs(x))
            try:
                up = _scalar_root_after(order, k, x + h)
                down = _scalar_root_after(order, k, x - h)
            except (_CannotReplay, ArithmeticError, ValueError):
                continue
            checks[k] = _check_entry((up - down) / (2 * h), finals[k])
    return checks


def _no_check_reason(node: Any, root: Any, forward: Callable[[], Any] | None) -> str:
    """Why the page has no central difference for ``node``."""
    if _is_op_node(node):
        return f"{node._op} is an op, not a value: check its outputs instead"
    if node.grad is None:
        return "this node needs no gradient (a constant)"
    if _is_tensor(root) and forward is None:
        return "a tensor graph is checked through backprop_player(..., forward=...)"
    if forward is not None and node._prev:
        return "with forward=, the leaves are checked"
    return "the check could not be computed here (too big, or an op that cannot be re-run)"


def _leaf_estimate_by_forward(leaf: Any, forward: Callable[[], Any]) -> Any:
    """Perturb each element of ``leaf`` in place and re-run ``forward()``."""
    data = leaf.data
    with no_grad():
        if not isinstance(data, np.ndarray):
            x, h = float(data), 1e-6 * max(1.0, abs(float(data)))
            leaf.data = x + h
            up = float(np.asarray(forward().data))
            leaf.data = x - h
            down = float(np.asarray(forward().data))
            leaf.data = x
            return (up - down) / (2 * h)
        if data.size > CHECK_MAX_ELEMENTS:
            return None
        h = 1e-6 if data.dtype == np.float64 else 1e-2
        estimate = np.zeros(data.shape)
        flat = data.reshape(-1)
        for i in range(flat.size):
            x = flat[i]
            flat[i] = x + h
            up = float(np.asarray(forward().data, dtype=np.float64).sum())
            flat[i] = x - h
            down = float(np.asarray(forward().data, dtype=np.float64).sum())
            flat[i] = x
            estimate.reshape(-1)[i] = (up - down) / (2 * h)
        return estimate


def _check_entry(estimate: Any, analytic: Any) -> dict[str, Any]:
    diff = float(np.max(np.abs(np.asarray(estimate) - np.asarray(analytic))))
    return {
        "estimate": _plain(estimate),
        "text": _text(estimate),
        "diff": diff,
    }


# ---------------------------------------------------------------- the page


class BackpropPlayer:
    """A made page: ``html`` (the whole file), ``steps`` (the data it plays), ``path``.

    In Jupyter the object displays the page inline (in an iframe, so its script and
    styles stay apart from the notebook's).
    """

    def __init__(self, html_text: str, steps: dict[str, Any], path: Path | None) -> None:
        self.html = html_text
        self.steps = steps
        self.path = path

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path else ""
        return f"BackpropPlayer({len(self.steps['steps'])} steps{where})"

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            'style="width:100%;height:680px;border:1px solid #cbd5e1" '
            'sandbox="allow-scripts"></iframe>'
        )

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (UTF-8) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.html, encoding="utf-8")
        self.path = target
        return target


def _graph_svg(root: Any) -> str:
    """The graph as inline SVG: ``draw_graph`` with values and no gradients.

    The page writes the gradients in itself, step by step, under each box; the SVG's
    prolog and doctype are dropped so it can sit inside HTML.
    """
    from minigrad.viz.graph import draw_graph

    picture = draw_graph(root, show_grad=False, max_nodes=None, legend=False)
    # room under each box for the gradient the page writes there
    # (a small tensor's gradient takes a line per row: more room between boxes)
    tensors = _is_tensor(root)
    picture.attr(nodesep="0.9" if tensors else "0.45", ranksep="0.55")
    svg = picture.pipe(format="svg").decode("utf-8")
    svg = svg[svg.index("<svg") :]
    return re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)


def _asset(name: str) -> str:
    return resources.files("minigrad.viz").joinpath(name).read_text(encoding="utf-8")


def _json_safe(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return obj


def _page(title: str, svg: str, steps: dict[str, Any]) -> str:
    # "</" inside a script block would end it early; JSON allows "<\/" for "</".
    # JSON has no NaN or inf (the page's text still says "nan"); "</" would end the script
    data = json.dumps(_json_safe(steps), ensure_ascii=False, allow_nan=False)
    data = data.replace("</", "<\\/")
    t = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{t}</title>
<style>
{_asset("player.css")}
</style>
</head>
<body>
<header>
  <h1>{t}</h1>
  <div id="mg-controls">
    <button id="mg-prev" title="previous step (←)">◀ prev</button>
    <button id="mg-play" title="play / pause">▶ play</button>
    <button id="mg-next" title="next step (→)">next ▶</button>
    <label>speed <select id="mg-speed">
      <option value="0.5">0.5×</option><option value="1" selected>1×</option>
      <option value="2">2×</option><option value="4">4×</option>
    </select></label>
    <input id="mg-slider" type="range" min="0" max="{len(steps["steps"])}" value="0"
      aria-label="step">
    <span id="mg-counter"></span>
    <button id="mg-zoom" title="fit the graph to the pane, or show it at full size"></button>
  </div>
</header>
<main>
  <section id="mg-graph">{svg}</section>
  <aside id="mg-panel">
    <div id="mg-explain"><h2 id="mg-step-title"></h2><div id="mg-lines"></div>
      <p id="mg-check-row"><button id="mg-check">check</button>
        <span id="mg-selected"></span></p>
      <div id="mg-check-result"></div></div>
    <h2>steps</h2>
    <ol id="mg-steps" start="0"></ol>
  </aside>
</main>
<script type="application/json" id="mg-data">{data}</script>
<script>
{_asset("player.js")}
</script>
</body>
</html>
"""


def backprop_player(
    root: Any,
    path: str | Path | None = None,
    *,
    title: str | None = None,
    forward: Callable[[], Any] | None = None,
) -> BackpropPlayer:
    """Run ``root.backward()`` while recording it and make a page that plays it, step by step.

    ``root`` is a scalar ``Value`` or a one-element ``Tensor`` (a loss) whose backward has
    not run yet (leaves accumulate, as always). ``path``: where to write the page (one
    self-contained HTML file; nothing is written when None). ``title``: the page's
    heading. ``forward``: optional, a function that re-computes the root from the same
    leaves; with it the check button estimates the leaves' gradients by central
    differences through it (tensor graphs need it; a scalar graph's ops are re-run
    from the graph itself, for every node).

    Returns a ``BackpropPlayer`` (Jupyter shows the page inline).
    """
    if title is not None and not isinstance(title, str):
        raise TypeError(f"backprop_player: title must be a string, got {type(title).__name__}")
    _check_root(root)
    svg = _graph_svg(root)  # before backward, so a missing `dot` fails before any change
    steps = backprop_steps(root, forward=forward)
    steps["title"] = title or "backprop, step by step"
    player = BackpropPlayer(_page(steps["title"], svg, steps), steps, None)
    if path is not None:
        player.save(path)
    return player


# ---------------------------------------------------------------- examples and the command


def _example_expr() -> Any:
    """micrograd's first example, with ``a`` used twice so its gradient is a sum."""
    from minigrad.scalar.value import Value

    a, b, c, f = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    g = d * f
    g.label = "g"
    t = a.tanh()
    t.label = "t"
    loss = g + t
    loss.label = "L"
    return loss


def _example_mlp() -> Any:
    """A 2-2-1 tanh network on one example, squared error: every weight's gradient."""
    from minigrad.scalar.value import Value, value_sum

    rng = random.Random(0)
    x = [Value(1.0, "x0"), Value(-2.0, "x1")]
    hidden = []
    for j in range(2):
        w = [Value(round(rng.uniform(-1, 1), 2), f"w1[{j},{i}]") for i in range(2)]
        b = Value(round(rng.uniform(-0.5, 0.5), 2), f"b1[{j}]")
        z = value_sum([w[0] * x[0], w[1] * x[1], b])
        z.label = f"z1[{j}]"
        h = z.tanh()
        h.label = f"h[{j}]"
        hidden.append(h)
    w2 = [Value(round(rng.uniform(-1, 1), 2), f"w2[{j}]") for j in range(2)]
    b2 = Value(0.1, "b2")
    out = value_sum([w2[0] * hidden[0], w2[1] * hidden[1], b2])
    out.label = "out"
    err = out - 0.5
    err.label = "err"
    loss = err * err
    loss.label = "L"
    return loss


def _example_batchnorm(impl: str) -> Any:
    """BatchNorm over a batch of three numbers, then a weighted sum as the loss."""
    from minigrad.batchnorm.scalar import batch_norm_composite, batch_norm_fused
    from minigrad.scalar.value import Value, value_sum

    xs = [Value(v, f"x[{i}]") for i, v in enumerate((1.0, 2.5, -0.5))]
    gamma, beta = Value(1.5, "gamma"), Value(0.2, "beta")
    norm = batch_norm_composite if impl == "composite" else batch_norm_fused
    ys = norm(xs, gamma, beta)
    loss = value_sum([w * y for w, y in zip((0.3, -1.0, 2.0), ys, strict=True)])
    loss.label = "L"
    return loss


EXAMPLES: dict[str, tuple[Callable[[], Any], str]] = {
    "expr": (_example_expr, "L = (a·b + c)·f + tanh(a): a feeds two ops"),
    "mlp": (_example_mlp, "a 2-2-1 tanh MLP, squared error on one example"),
    "bn-composite": (
        lambda: _example_batchnorm("composite"),
        "BatchNorm from primitive ops over a batch of 3",
    ),
    "bn-fused": (
        lambda: _example_batchnorm("fused"),
        "BatchNorm as one fused op with a hand-derived backward",
    ),
}


def main(argv: list[str] | None = None) -> int:
    """``python -m minigrad play [--example NAME] --out page.html``."""
    parser = argparse.ArgumentParser(
        prog="python -m minigrad play",
        description="Write a page that steps through the backward pass of an example graph.",
    )
    parser.add_argument("--example", choices=sorted(EXAMPLES), default="expr")
    parser.add_argument("--out", default="backprop.html", help="the page to write")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    build, about = EXAMPLES[args.example]
    player = backprop_player(build(), args.out, title=args.title or f"backprop: {about}")
    print(f"wrote {player.path} ({len(player.steps['steps'])} steps); open it in a browser")
    return 0

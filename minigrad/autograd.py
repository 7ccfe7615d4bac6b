"""The graph machinery both engines share.

A computation builds a graph of *value nodes* (a scalar ``Value`` or a ``Tensor``).
Every node has ``_prev``, the tuple of nodes it was computed from (empty for a leaf),
and ``_op``, the name of the op that made it. That is all this module needs to know
about a node; each engine adds how its op turns the node's gradient into gradients
for its parents (the chain rule), in a method ``_backward()``.

What lives here, written once:

* ``topological_order(roots)``: iterative depth-first search, so a chain of a million
  nodes needs no recursion; the order is deterministic (parents in argument order).
* ``run_backward(order)``: the backward driver. It visits nodes from the root down and
  asks each to push its gradient to its parents. The renderer and the backprop player
  walk the same order.
* ``grad(outputs, inputs, ..., create_graph=...)``: gradients returned instead of
  written into ``.grad`` (``torch.autograd.grad``); with ``create_graph`` they are
  nodes of a new graph, which can be differentiated again.
* the modes every op reads (``minigrad.modes``, re-exported here): ``no_grad()`` /
  ``enable_grad()``, ``name_scope(name)`` (renderers box what was made inside),
  ``detect_anomaly()`` (the first op that makes NaN or inf raises, naming the op).
* ``record_backward()``: an opt-in recorder of what the driver did, step by step
  (node visited, gradient in, contribution out to each parent). Off by default; when
  off, the driver runs its plain loop and pays nothing for it.

The modes are thread-local: a ``no_grad`` in one thread does not leak into another.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from minigrad.formula import Formula, backward_formula
from minigrad.modes import (
    STATE,
    AnomalyError,
    _GradMode,
    anomaly_enabled,
    current_scope,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    name_scope,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "AnomalyError",
    "BackwardStep",
    "Formula",
    "all_finite",
    "anomaly_enabled",
    "backward",
    "backward_formula",
    "current_scope",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "name_scope",
    "no_grad",
    "record_backward",
    "run_backward",
    "set_grad_enabled",
    "topological_order",
]


# ---------------------------------------------------------------- graph walk


def topological_order(roots: Any | Sequence[Any]) -> list[Any]:
    """Every node reachable from ``roots``, each after all of its parents.

    Iterative depth-first search: an explicit stack instead of recursion, so depth is
    bounded by memory, not by Python's recursion limit. Parents are explored in the
    order the op received them, so the same computation always gives the same order.
    ``roots`` is one node or a sequence of nodes. Nodes are kept in a set, so they must
    hash by identity (Python's default for objects).
    """
    if hasattr(roots, "_prev"):
        roots = (roots,)
    order: list[Any] = []
    seen: set[Any] = set()
    for root in roots:
        stack: list[Any] = [root]
        while stack:
            node = stack.pop()
            if node is None:  # the marker: every parent of the node below it is placed
                order.append(stack.pop())
                continue
            if node in seen:
                continue
            seen.add(node)
            parents = node._prev
            if not parents:  # a leaf: nothing to wait for
                order.append(node)
                continue
            stack.append(node)
            stack.append(None)
            stack.extend(parents[::-1])  # the first parent on top: explored first
    return order


# ---------------------------------------------------------------- gradients as values


def grad(
    outputs: Any | Sequence[Any],
    inputs: Any | Sequence[Any],
    grad_outputs: Any | Sequence[Any] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """d(outputs)/d(inputs), returned instead of written into ``.grad`` (``torch.autograd.grad``).

    ``outputs`` and ``inputs`` are nodes of one engine (``Value`` s or ``Tensor`` s), one
    or a sequence. ``grad_outputs`` are dL/d(output), required for an output with more
    than one element (default 1). With ``create_graph=True`` the returned gradients are
    nodes of a new graph, which can be differentiated again, to any order; that graph
    is kept alive by default (``retain_graph`` defaults to ``create_graph``). An input
    that the outputs do not depend on is an error unless ``allow_unused=True`` (then
    its gradient is None).

    Nothing observable changes: every ``.grad`` is as it was before the call. (The walk
    uses the nodes' ``.grad`` slots, as ``backward()`` does, and puts them back.)
    """
    outs = _as_nodes(outputs, "outputs")
    ins = _as_nodes(inputs, "inputs")
    engine = _engine(outs + ins)
    if grad_outputs is None:
        seeds: list[Any] = [None] * len(outs)
    else:
        seeds = list(grad_outputs) if isinstance(grad_outputs, list | tuple) else [grad_outputs]
        if len(seeds) != len(outs):
            raise ValueError(
                f"grad: {len(seeds)} grad_outputs for {len(outs)} outputs; give one per output"
            )
    # Validate everything before touching any node.
    seeds = [engine._grad_seed(o, g, create_graph) for o, g in zip(outs, seeds, strict=True)]
    order = topological_order(outs)
    reached = set(order)
    for i, x in enumerate(ins):
        engine._check_grad_input(x, i)
        if x not in reached and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} ({_describe(x)}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    engine._check_graph(order)
    check_differentiable(order)
    keep = create_graph if retain_graph is None else retain_graph

    saved = [n.grad for n in order]
    try:
        for node in order:
            node.grad = engine._zero_grad
        for out, seed in zip(outs, seeds, strict=True):
            out.grad = seed if engine._is_zero(out.grad) else out.grad + seed
        run_backward(order, create_graph=create_graph)
        results = tuple(
            engine._grad_result(x.grad, create_graph) if x in reached else None for x in ins
        )
    finally:  # every .grad as it was: grad() writes nothing
        restore_grads(order, saved)
    if not allow_unused and any(r is None for r in results):
        i = next(i for i, r in enumerate(results) if r is None)
        raise RuntimeError(
            f"grad: input {i} ({_describe(ins[i])}) received no gradient from the outputs; "
            "pass allow_unused=True to get None for it"
        )
    if not keep:
        engine._release(order)
    return results


def _as_nodes(x: Any, what: str) -> tuple[Any, ...]:
    nodes = tuple(x) if isinstance(x, list | tuple) else (x,)
    if not nodes:
        raise ValueError(f"grad: {what} is empty")
    for i, n in enumerate(nodes):
        if not hasattr(n, "_prev"):
            raise TypeError(f"grad: {what}[{i}] is a {type(n).__name__}, not a Value or a Tensor")
    return nodes


def _engine(nodes: tuple[Any, ...]) -> Any:
    """The node class of the engine all ``nodes`` belong to (a Value or a Tensor)."""
    kinds = {getattr(type(n), "_engine", type(n)) for n in nodes}
    if len(kinds) != 1:
        names = sorted(k.__name__ for k in kinds)
        raise TypeError(f"grad: outputs and inputs mix engines ({', '.join(names)})")
    return kinds.pop()


def _describe(x: Any) -> str:
    label = getattr(x, "label", "")
    shape = getattr(x, "shape", None)
    kind = type(x).__name__
    return f"{kind} {label!r}" if label else f"{kind} of shape {shape}" if shape else kind


def backward(
    root: Any, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False
) -> None:
    """The body of ``Value.backward`` and ``Tensor.backward``: fill ``.grad`` of every node
    ``root`` was computed from with d(root)/d(node).

    Validate, then commit: the seed, a freed graph and a gradient that cannot be
    differentiated again are refused before anything is written; a pass that still
    fails (anomaly mode, a user's op) puts every ``.grad`` back. Leaves accumulate;
    intermediates hold this pass's gradient only. Unless ``retain_graph`` (which defaults
    to ``create_graph``, as in PyTorch), the engine releases what the ops saved.
    """
    engine = type(root)._engine
    seed = engine._grad_seed(root, grad, create_graph)
    order = topological_order(root)
    engine._check_graph(order)
    check_differentiable(order)
    saved = [node.grad for node in order]
    try:
        zero = engine._zero_grad
        for node in order:
            if node._prev:  # an intermediate: its gradient is this pass's alone
                node.grad = zero
        root.grad = seed if engine._is_zero(root.grad) else root.grad + seed
        run_backward(order, create_graph=create_graph)
    except BaseException:
        restore_grads(order, saved)
        raise
    if not (create_graph if retain_graph is None else retain_graph):
        engine._release(order)


# ---------------------------------------------------------------- backward driver


class BackwardStep:
    """One visit of the backward driver, as ``record_backward()`` sees it.

    ``node`` pushed its gradient ``grad_out`` to its parents; ``contributions`` pairs
    each parent with what it received (its gradient after minus before the visit).
    The pairs follow ``node._prev`` position by position; a parent the op used twice
    (``x * x``) appears at both positions, each with the *combined* change, since a
    before/after snapshot cannot split it: count such a parent once.
    """

    __slots__ = ("contributions", "grad_out", "node")

    def __init__(self, node: Any, grad_out: Any, contributions: list[tuple[Any, Any]]):
        self.node = node
        self.grad_out = grad_out
        self.contributions = contributions

    def __repr__(self) -> str:
        return (
            f"BackwardStep({getattr(self.node, '_op', '?')!r}, {len(self.contributions)} parents)"
        )


def run_backward(order: list[Any], create_graph: bool = False) -> None:
    """Visit ``order`` (a topological order) from the last node to the first.

    Each node pushes its gradient to its parents (``node._backward()``). A node is
    visited only after every node that uses it, so its gradient is complete by then.
    With ``create_graph`` each node runs ``_backward_graph()`` instead: the same chain
    rule built from ops, so the gradients are nodes of a new graph. Those nodes are
    made inside a name scope ``backward of <op>, step k``, so a drawing boxes them.
    """
    recorder, anomaly = STATE.recorder, STATE.anomaly
    if not create_graph:
        if recorder is None and not anomaly:
            for node in reversed(order):
                if node._prev:
                    node._backward()
            return
        _watched_walk(order, recorder, anomaly, create_graph)
        return
    # The pass's nodes go in a box "derivative k": one more than the highest derivative
    # already in the graph, so a third derivative's nodes never share a box with the
    # second's; inside it, one box per step ("backward of tanh, step 3").
    level = 1 + max((_derivative_level(node._scope) for node in order), default=0)
    with _GradMode(True), name_scope(f"derivative {level}"):  # a graph, even inside no_grad
        _watched_walk(order, recorder, anomaly, create_graph)


def _watched_walk(order: list[Any], recorder: Any, anomaly: bool, create_graph: bool) -> None:
    """The same walk, with the anomaly check and the recorder, and under ``create_graph``
    each step's nodes in a box of their own."""
    for k, node in enumerate(reversed(order), start=1):
        if not node._prev:
            continue
        before = [_copy_grad(p.grad) for p in node._prev] if recorder is not None else []
        if create_graph:
            with name_scope(f"backward of {node._op or 'op'}, step {k}"):
                node._backward_graph()
        else:
            node._backward()
        if anomaly:
            _check_backward(node)
        if recorder is not None:
            contributions = [
                (p, _grad_difference(p.grad, b)) for p, b in zip(node._prev, before, strict=True)
            ]
            recorder.append(BackwardStep(node, _copy_grad(node.grad), contributions))


def _derivative_level(scope: tuple[str, ...]) -> int:
    """The highest k of a "derivative k" box in a node's scope path (0: none)."""
    levels = [int(s[11:]) for s in scope if s.startswith("derivative ") and s[11:].isdigit()]
    return max(levels, default=0)


class NotDifferentiable(str):
    """The op name of a gradient node that an op's backward computed as plain numbers.

    An op whose backward is written with plain numbers cannot be differentiated again.
    Under ``create_graph`` the gradients it gives are nodes named with this class; a
    backward that would pass through them raises (``check_differentiable``), naming the
    op, before anything is written, instead of treating its saved numbers as constants:
    the classic silent bug of higher-order gradients.
    """

    made = 0  # how many were ever made (any thread): none made, nothing to look for

    def __new__(cls, name: str) -> NotDifferentiable:
        NotDifferentiable.made += 1
        return super().__new__(cls, name)

    @property
    def message(self) -> str:
        return (
            f"{self}: this gradient was computed by a backward written with plain numbers, "
            "so it cannot be differentiated again. To differentiate twice, write the op's "
            "backward with operations on graph nodes (a Function with "
            "differentiable_backward = True) or build it from built-in ops"
        )


def restore_grads(order: list[Any], saved: list[Any]) -> None:
    """Put every node's ``.grad`` back (validate, then commit: a backward that fails
    halfway, under anomaly mode or in a user's op, changes nothing). Gradients are
    replaced during a pass, never changed in place, so the references kept suffice."""
    for node, g in zip(order, saved, strict=True):
        node.grad = g


def check_differentiable(order: list[Any]) -> None:
    """Raise, before any gradient is written, if a backward over ``order`` would pass
    through a gradient that was made without a graph (see ``NotDifferentiable``)."""
    if not NotDifferentiable.made:
        return
    for node in order:
        if node._prev and isinstance(node._op, NotDifferentiable):
            raise RuntimeError(node._op.message)


def _check_backward(node: Any) -> None:
    for i, parent in enumerate(node._prev):
        if not all_finite(parent.grad):
            raise AnomalyError(
                f"{node._op or 'op'} backward: gradient for input {i} is not finite "
                f"({parent.grad!r}); upstream gradient was {node.grad!r}"
            )


def all_finite(x: Any) -> bool:
    """True when ``x`` (a float, an array or None) holds no NaN or inf."""
    if x is None:
        return True
    if isinstance(x, float | int):
        return math.isfinite(x)
    return bool(np.isfinite(x).all())


def _copy_grad(grad: Any) -> Any:
    return grad.copy() if hasattr(grad, "copy") else grad


def _grad_difference(after: Any, before: Any) -> Any:
    if before is None:
        return after
    if after is None:
        return None
    return after - before


@contextlib.contextmanager
def record_backward() -> Iterator[list[BackwardStep]]:
    """Record every step of the backward passes run inside the block.

    >>> with record_backward() as steps:
    ...     loss.backward()
    >>> steps[0].node is loss
    True
    """
    steps: list[BackwardStep] = []
    previous, STATE.recorder = STATE.recorder, steps
    try:
        yield steps
    finally:
        STATE.recorder = previous

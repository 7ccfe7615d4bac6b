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
* grad mode: ``no_grad()`` / ``enable_grad()``; under ``no_grad`` ops build no graph.
* ``name_scope(name)``: every node made inside records the scope path, so a renderer
  can draw the pieces of a composite op (BatchNorm from primitives) in one box.
* ``detect_anomaly()``: the first op whose forward or backward produces NaN or inf
  raises, naming the op and its inputs.
* ``record_backward()``: an opt-in recorder of what the driver did, step by step
  (node visited, gradient in, contribution out to each parent). Off by default; when
  off, the driver runs its plain loop and pays nothing for it.

All three modes are thread-local: a ``no_grad`` in one thread does not leak into another.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "AnomalyError",
    "BackwardStep",
    "all_finite",
    "anomaly_enabled",
    "current_scope",
    "detect_anomaly",
    "enable_grad",
    "is_grad_enabled",
    "name_scope",
    "no_grad",
    "record_backward",
    "run_backward",
    "set_grad_enabled",
    "topological_order",
]


class AnomalyError(FloatingPointError):
    """Raised under ``detect_anomaly()`` when an op's forward or backward makes NaN/inf."""


class _State(threading.local):
    """Per-thread modes. Engines read these attributes on every op, so they stay flat."""

    def __init__(self) -> None:
        self.grad_enabled: bool = True
        self.scope: tuple[str, ...] = ()
        self.anomaly: bool = False
        self.recorder: list[BackwardStep] | None = None


STATE = _State()


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


def run_backward(order: list[Any]) -> None:
    """Visit ``order`` (a topological order) from the last node to the first.

    Each node pushes its gradient to its parents (``node._backward()``). A node is
    visited only after every node that uses it, so its gradient is complete by then.
    """
    recorder, anomaly = STATE.recorder, STATE.anomaly
    if recorder is None and not anomaly:
        for node in reversed(order):
            if node._prev:
                node._backward()
        return
    for node in reversed(order):  # the same walk, watched
        if not node._prev:
            continue
        before = [_copy_grad(p.grad) for p in node._prev] if recorder is not None else []
        node._backward()
        if anomaly:
            _check_backward(node)
        if recorder is not None:
            contributions = [
                (p, _grad_difference(p.grad, b)) for p, b in zip(node._prev, before, strict=True)
            ]
            recorder.append(BackwardStep(node, _copy_grad(node.grad), contributions))


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


# ---------------------------------------------------------------- grad mode


class _GradMode(contextlib.ContextDecorator):
    """Sets grad mode inside a block (or a decorated function) and restores the previous one."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._previous = True

    def _recreate_cm(self) -> _GradMode:
        return _GradMode(self.enabled)  # a fresh one per decorated call: reentrant, thread-safe

    def __enter__(self) -> None:
        self._previous = STATE.grad_enabled
        STATE.grad_enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        STATE.grad_enabled = self._previous


def no_grad() -> _GradMode:
    """Ops inside build no graph: results are leaves. Use for inference and updates."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Turn graph building back on inside a ``no_grad`` block."""
    return _GradMode(True)


def set_grad_enabled(enabled: bool) -> _GradMode:
    """``no_grad()`` or ``enable_grad()``, chosen by ``enabled``."""
    return _GradMode(bool(enabled))


def is_grad_enabled() -> bool:
    """Whether ops build a graph in this thread right now."""
    return STATE.grad_enabled


# ---------------------------------------------------------------- name scopes


@contextlib.contextmanager
def name_scope(name: str) -> Iterator[tuple[str, ...]]:
    """Tag every node made inside with this scope (nested scopes nest).

    A node records the full path, e.g. ``("mlp", "batchnorm")``; renderers draw each
    path as a cluster.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name_scope: name must be a non-empty string, got {name!r}")
    previous = STATE.scope
    STATE.scope = (*previous, name)
    try:
        yield STATE.scope
    finally:
        STATE.scope = previous


def current_scope() -> tuple[str, ...]:
    """The scope path new nodes get in this thread."""
    return STATE.scope


# ---------------------------------------------------------------- anomaly mode


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside, the first op whose forward or backward makes NaN/inf raises ``AnomalyError``.

    The error names the op and its inputs. It costs a finiteness check per op, so it
    is off by default, as in PyTorch.
    """
    previous, STATE.anomaly = STATE.anomaly, True
    try:
        yield
    finally:
        STATE.anomaly = previous


def anomaly_enabled() -> bool:
    """Whether ``detect_anomaly()`` is active in this thread."""
    return STATE.anomaly


# ---------------------------------------------------------------- stub: the lead replaces this
# (the player's branch codes against this interface; the engines' branch implements it)
from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class Formula:
    """How an op's backward reads to a learner: one line per parent position, and the
    number (float) or array behind every symbol in the lines."""

    lines: tuple[str, ...]
    values: dict[str, Any]


def backward_formula(node: Any) -> Formula | None:
    """The formula of the op that made ``node``; None when the op states none (stub)."""
    return None


# ---------------------------------------------------------------- end of stub

"""The modes every op reads, per thread: grad mode, name scopes, anomaly mode.

Ops read them on every call, so they live in one flat thread-local object, ``STATE``.

* grad mode: ``no_grad()`` / ``enable_grad()``; under ``no_grad`` ops build no graph.
* ``name_scope(name)``: every node made inside records the scope path, so a renderer
  can draw the pieces of a composite op (BatchNorm from primitives) in one box.
* ``detect_anomaly()``: the first op whose forward or backward produces NaN or inf
  raises, naming the op and its inputs.

``minigrad.autograd`` re-exports all of them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "STATE",
    "AnomalyError",
    "anomaly_enabled",
    "current_scope",
    "detect_anomaly",
    "enable_grad",
    "is_grad_enabled",
    "name_scope",
    "no_grad",
    "set_grad_enabled",
]


class AnomalyError(FloatingPointError):
    """Raised under ``detect_anomaly()`` when an op's forward or backward makes NaN/inf."""


class _State(threading.local):
    """Per-thread modes. Engines read these attributes on every op, so they stay flat."""

    def __init__(self) -> None:
        self.grad_enabled: bool = True
        self.scope: tuple[str, ...] = ()
        self.anomaly: bool = False
        self.recorder: list[Any] | None = None  # the BackwardSteps being recorded


STATE = _State()


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

"""The undo journal of a module call: what a failed ``model(x)`` puts back.

Validate, then commit works inside one layer; across layers it cannot, since a later
layer's input exists only once the earlier layers have run. So while the outermost
``Module.__call__`` runs, layers that change state as they go note how to undo it
(``on_failure``): a ``Dropout`` its generator's state before the draw, a
``BatchNorm1d`` its running statistics and batch count before the update. If the call
raises, the undos run, last first, and the model is as it was; if it returns, the
journal is dropped. Outside a module call (functional use) nothing is noted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["call_with_undo", "journaling", "on_failure", "remember_draw"]


class _Journal(threading.local):
    undos: list[Callable[[], None]] | None = None  # None: no module call is running


JOURNAL = _JOURNAL = _Journal()  # JOURNAL: what callers on a hot path may read


def on_failure(undo: Callable[[], None]) -> None:
    """Run ``undo`` if the module call in progress fails (nothing outside one)."""
    if _JOURNAL.undos is not None:
        _JOURNAL.undos.append(undo)


def journaling() -> bool:
    """Whether a module call is in progress (so an undo would be kept)."""
    return _JOURNAL.undos is not None


def remember_draw(generator: np.random.Generator) -> None:
    """Before drawing from ``generator``: note its state, to restore on failure."""
    if _JOURNAL.undos is not None:
        bits, state = generator.bit_generator, generator.bit_generator.state
        _JOURNAL.undos.append(lambda: setattr(bits, "state", state))


def call_with_undo(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
    """``fn(*args, **kwargs)``; the outermost such call keeps the journal and, if ``fn``
    raises, runs its undos (last first) before the error goes on."""
    journal = _JOURNAL
    if journal.undos is not None:  # inside an outer call: it keeps the journal
        return fn(*args, **kwargs)
    journal.undos = []
    try:
        return fn(*args, **kwargs)
    except BaseException:
        for undo in reversed(journal.undos):
            undo()
        raise
    finally:
        journal.undos = None

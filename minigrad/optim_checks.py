"""What an optimizer checks before it moves anything (validate, then commit).

``step()`` calls ``checked_grad`` for every parameter of every group before it updates
any; ``load_state_dict`` calls ``converted_state`` for every saved entry and the
optimizer's own settings check before it replaces anything. Each raises naming the
optimizer's call and the parameter, and writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["check_flag", "check_nonnegative", "checked_grad", "converted_state", "is_number"]


def is_number(value: Any) -> bool:
    """A real number (Python or NumPy), not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def check_nonnegative(op: str, name: str, value: Any) -> float:
    """A finite number >= 0 (lr, eps, momentum, weight_decay), as a Python float."""
    if not is_number(value) or not 0.0 <= value < math.inf:
        raise ValueError(f"{op}: invalid {name}: {value!r} (a finite number >= 0 expected)")
    return float(value)


def check_flag(op: str, name: str, value: Any) -> bool:
    """True or False (NumPy's bool too)."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{op}: invalid {name}: {value!r} (True or False expected)")
    return bool(value)


def all_finite(a: np.ndarray) -> bool:
    """True if no element is NaN or inf.

    The sum of squares (``vdot``, one BLAS call: the cheapest full pass NumPy offers)
    is finite exactly when every element is, unless squares of huge finite values
    overflow; only then look element by element.
    """
    if math.isfinite(np.vdot(a, a)):
        return True
    return bool(np.isfinite(a).all())


def checked_grad(
    op: str,
    label_of: Callable[[Tensor], str],
    p: Tensor,
    state: dict[str, Any],
    state_keys: tuple[str, ...],
) -> np.ndarray:
    """``p.grad`` as an array of ``p``'s dtype, ready for the update, or an error.

    A minigrad ``Tensor`` gradient (``p.grad = some_tensor``, a PyTorch habit) is taken
    as its array. The gradient must be a NumPy array of a real floating dtype and of
    ``p``'s shape, and finite *after* the cast to ``p``'s dtype (a float64 1e300 is
    finite, but inf as float32). ``p`` must be a writable floating array, and its
    optimizer ``state`` hold every key of ``state_keys`` (once it holds any) with
    arrays of ``p``'s shape, so that the update cannot fail halfway. ``label_of(p)``
    names the parameter in a message (called only then: it may search every group).
    """
    g = p.grad
    # The common case in a few checks (any doubt takes the long way, which explains it):
    if (
        type(g) is np.ndarray
        and g.dtype == p.data.dtype
        and g.dtype.kind == "f"
        and g.shape == p.data.shape
        and p.data.flags.writeable
        and all_finite(g)
        and (not state or _state_fits(p, state, state_keys))
    ):
        return g
    label = label_of(p)
    where = f"{op}: the gradient of {label}"
    nothing = "no parameter was updated"
    if isinstance(g, Tensor):
        g = g.data
    if not isinstance(g, np.ndarray):
        raise TypeError(f"{where} is a {type(g).__name__}, not a NumPy array; {nothing}")
    if g.dtype.kind != "f":
        raise TypeError(f"{where} has dtype {g.dtype}, not a real floating dtype; {nothing}")
    if g.shape != p.data.shape:
        raise ValueError(f"{where} has shape {g.shape}; {nothing}")
    if not isinstance(p.data, np.ndarray) or p.data.dtype.kind != "f":
        raise TypeError(f"{op}: {label} is not a floating-point array; {nothing}")
    if not p.data.flags.writeable:
        raise ValueError(f"{op}: {label} is read-only; {nothing}")
    cast = ""
    if g.dtype != p.data.dtype:
        cast = f" (after the cast from {g.dtype} to {p.data.dtype})"
        with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
            g = g.astype(p.data.dtype)
    if not all_finite(g):
        bad = "NaN" if np.isnan(g).any() else "inf"
        raise FloatingPointError(f"{where} contains {bad}{cast}; {nothing}")
    missing = [key for key in state_keys if state and key not in state]
    if missing:
        raise KeyError(f"{op}: the state of {label} lacks {missing}; {nothing}")
    for key, value in state.items():
        if isinstance(value, np.ndarray) and value.shape != p.data.shape:
            raise ValueError(f"{op}: state {key!r} has shape {value.shape} but {label}; {nothing}")
    return g


def _state_fits(p: Tensor, state: dict[str, Any], state_keys: tuple[str, ...]) -> bool:
    if not state:
        return True
    for key in state_keys:
        if key not in state:
            return False
    shape = p.data.shape
    return all(v.shape == shape for v in state.values() if type(v) is np.ndarray)


def converted_state(op: str, index: Any, key: str, value: Any, p: Tensor) -> Any:
    """One saved state entry, checked and converted: ``step`` becomes a number, an
    array (NumPy, minigrad or PyTorch) a copy of the parameter's shape and dtype."""
    where = f"{op}: state {key!r} of parameter {index}"
    if hasattr(value, "detach"):  # a torch.Tensor or a minigrad Tensor
        value = value.detach()
        value = value.numpy() if hasattr(value, "numpy") else value
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{where} has dtype {arr.dtype}, not real numbers")
        if key == "step":
            if arr.size != 1:
                raise ValueError(f"{where} has shape {arr.shape}, a single number expected")
            return arr.item()
        if arr.shape != p.data.shape:
            raise ValueError(
                f"{where} has shape {arr.shape}, the parameter has shape {p.data.shape}"
            )
        return arr.astype(p.data.dtype)  # a copy: the saved dict stays the caller's
    if key == "step" and not (is_number(value) and value >= 0):
        raise ValueError(f"{where} is {value!r}, a number >= 0 expected")
    if isinstance(value, complex | str | list | tuple | dict):
        raise TypeError(f"{where} is a {type(value).__name__}, not an array or a number")
    return value

"""Checking a hand-written backward against autodiff, stage by stage, element by element.

You derive a backward pass by hand (say BatchNorm's: first dL/dxhat, then dL/dvar,
then dL/dmean, then dL/dx). Autodiff has already computed every one of those
gradients: run the forward from primitive ops, call ``backward()``, and each
intermediate node keeps its ``.grad``. After each stage of your derivation, compare
your arrays with autodiff's, element by element::

    checker = StageChecker({"dxhat": xhat, "dvar": var, "dx": x})   # nodes after backward
    checker.check("1: through xhat", dxhat=my_dxhat)                 # a line per array

Each array gets three verdicts, as in the "backprop ninja" lecture's ``cmp``:
*exact* (every element bit for bit equal), *close* (``|mine - ref| <= atol + rtol*|ref|``
everywhere, NumPy's ``allclose``) and the *max difference*. When an array is not close,
``StageError`` names the stage, the array, the worst element (its index, your number,
autodiff's) and how many elements are off.

The reference can be a ``Tensor`` or a ``Value`` (its ``.grad`` is taken), a nested list
of ``Value`` s (their ``.grad`` s, shaped like the nesting), or an array (for example
PyTorch's gradient, already computed). Yours can be an array, a number, or a nested list
of numbers. Both are compared in float64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "ArrayCheck",
    "StageChecker",
    "StageError",
    "StageReport",
    "check_stage",
    "compare_arrays",
]

# NumPy's allclose defaults, as the lecture's cmp uses
RTOL = 1e-5
ATOL = 1e-8


class StageError(AssertionError):
    """A hand-derived gradient disagrees with autodiff (the message says where)."""


@dataclass(frozen=True)
class ArrayCheck:
    """One array of yours against autodiff's: the verdicts and the worst element."""

    name: str
    exact: bool
    close: bool
    max_abs_diff: float
    worst_index: tuple[int, ...]  # where |mine - reference| is largest (() for a scalar)
    mine: float  # your number there
    reference: float  # autodiff's number there
    wrong: int  # how many elements are not close
    size: int

    def __str__(self) -> str:
        return (
            f"{self.name:<8} | exact: {self.exact!s:<5} | close: {self.close!s:<5} "
            f"| max difference: {self.max_abs_diff:.3g}"
        )

    def explain(self, stage: str) -> str:
        """One sentence: which element of which array at which stage, and by how much."""
        where = f"element {self.worst_index}" if self.worst_index else "its value"
        return (
            f"stage {stage!r}: {self.name} is wrong at {where}: yours {self.mine:.10g}, "
            f"autodiff {self.reference:.10g} (max difference {self.max_abs_diff:.3g}; "
            f"{self.wrong} of {self.size} elements are not close)"
        )


@dataclass
class StageReport:
    """Every array checked at one stage."""

    stage: str
    checks: list[ArrayCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.close for c in self.checks)

    def __repr__(self) -> str:  # a notebook cell ending in a check shows the table
        return str(self)

    def __str__(self) -> str:
        lines = [f"stage {self.stage!r}: " + ("all close" if self.ok else "WRONG")]
        lines += [f"  {c}" for c in self.checks]
        lines += [f"  -> {c.explain(self.stage)}" for c in self.checks if not c.close]
        return "\n".join(lines)


def _grad_array(ref: Any, where: str) -> np.ndarray:
    """Autodiff's gradient held by ``ref`` (a node, a nested list of nodes, or an array)."""
    if hasattr(ref, "_prev") and hasattr(ref, "grad"):  # a Tensor or a Value
        if ref.grad is None:
            raise ValueError(
                f"{where}: autodiff has no gradient here (.grad is None): call backward() "
                "on the loss before making the checker"
            )
        return np.array(ref.grad, dtype=np.float64)
    if isinstance(ref, list | tuple) and ref and _is_nested_nodes(ref):
        return np.array(_map_nested(ref, lambda v: _scalar_grad(v, where)), dtype=np.float64)
    return _numbers(ref, where, "autodiff's gradient")


def _scalar_grad(node: Any, where: str) -> float:
    """One ``Value``'s gradient, as an element of a list of values."""
    if isinstance(node.data, np.ndarray):
        raise TypeError(
            f"{where}: a list of nodes must hold scalar Values; give each "
            f"{type(node).__name__} its own name instead"
        )
    return float(node.grad)


def _is_nested_nodes(x: Any) -> bool:
    while isinstance(x, list | tuple) and x:
        x = x[0]
    return hasattr(x, "_prev") and hasattr(x, "grad")


def _map_nested(x: Any, f: Any) -> Any:
    return [_map_nested(item, f) for item in x] if isinstance(x, list | tuple) else f(x)


def _numbers(x: Any, where: str, what: str) -> np.ndarray:
    """``x`` as a float64 array, or a TypeError that says what it was."""
    if x is None or x is Ellipsis:
        raise TypeError(f"{where}: {what} is not filled in yet (got {x!r}); write an expression")
    if hasattr(x, "_prev"):  # a node where a number was expected
        raise TypeError(
            f"{where}: {what} must be numbers (an array, a number or a list), got a "
            f"{type(x).__name__}; use its .data or .grad"
        )
    if isinstance(x, str | bytes):
        raise TypeError(f"{where}: {what} must be numbers, got {type(x).__name__} {x!r}")
    try:
        arr = np.asarray(x)
    except ValueError as e:  # a ragged list
        raise TypeError(f"{where}: {what} is not a rectangular array of numbers ({e})") from None
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{where}: {what} must be real numbers, got an array of dtype {arr.dtype} "
            f"(from {type(x).__name__})"
        )
    return arr.astype(np.float64)


def compare_arrays(
    name: str, mine: Any, reference: Any, *, rtol: float = RTOL, atol: float = ATOL
) -> ArrayCheck:
    """Your array against autodiff's, element by element (the lecture's ``cmp``).

    ``reference`` is a node (its ``.grad``), a nested list of ``Value`` s or an array.
    Raises ``ValueError`` when the shapes differ and ``TypeError`` when ``mine`` is not
    numbers (``None`` or ``...`` means "not filled in yet").
    """
    ref = _grad_array(reference, f"compare_arrays({name!r})")
    return _compare(name, mine, ref, f"compare_arrays({name!r})", rtol, atol)


def _compare(
    name: str, mine: Any, ref: np.ndarray, where: str, rtol: float, atol: float
) -> ArrayCheck:
    arr = _numbers(mine, where, f"your {name}")
    if arr.shape != ref.shape:
        raise ValueError(
            f"{where}: your {name} has shape {arr.shape}, autodiff's has shape {ref.shape}"
        )
    diff = np.abs(arr - ref)
    diff = np.where(np.isnan(diff), np.inf, diff)  # a NaN is as wrong as it gets
    bad = ~np.isclose(arr, ref, rtol=rtol, atol=atol)
    k = np.unravel_index(int(np.argmax(diff)), arr.shape) if arr.size else ()
    return ArrayCheck(
        name=name,
        exact=bool(np.array_equal(arr, ref)),
        close=not bad.any(),
        max_abs_diff=float(diff.max()) if arr.size else 0.0,
        worst_index=tuple(int(i) for i in k),
        mine=float(arr[k]) if arr.size else float("nan"),
        reference=float(ref[k]) if arr.size else float("nan"),
        wrong=int(bad.sum()),
        size=int(arr.size),
    )


def check_stage(
    stage: str,
    mine: Mapping[str, Any],
    reference: Mapping[str, Any],
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
    raise_on_failure: bool = True,
) -> StageReport:
    """Compare each of your arrays at one stage with autodiff's gradient of the same name.

    ``mine``: ``{"dxhat": array, ...}``; ``reference``: ``{"dxhat": xhat_node, ...}``
    (every name in ``mine`` must be there). Everything is validated before anything is
    compared. Returns a ``StageReport``; raises ``StageError`` naming the stage, the
    array and its worst element when any array is not close (unless
    ``raise_on_failure=False``).
    """
    if not isinstance(stage, str) or not stage:
        raise TypeError(f"check_stage: stage must be a non-empty string, got {stage!r}")
    if not isinstance(mine, Mapping) or not mine:
        raise TypeError(f"check_stage {stage!r}: give at least one array to check, by name")
    unknown = [n for n in mine if n not in reference]
    if unknown:
        raise KeyError(
            f"check_stage {stage!r}: no autodiff gradient named {unknown[0]!r}; "
            f"the checker knows {sorted(reference)}"
        )
    where = f"check_stage {stage!r}"
    refs = {n: _grad_array(reference[n], f"{where}, {n}") for n in mine}
    report = StageReport(stage, [_compare(n, mine[n], refs[n], where, rtol, atol) for n in mine])
    if raise_on_failure and not report.ok:
        first = next(c for c in report.checks if not c.close)
        raise StageError(f"{first.explain(stage)}\n{report}")
    return report


class StageChecker:
    """Autodiff's gradients, taken once; your arrays checked against them stage by stage.

    ``reference``: ``{"dx": x, "dxhat": xhat, ...}``, nodes (or arrays) whose gradient is
    the truth. Make the checker after ``backward()``: the gradients are copied then, so
    a later backward pass does not change what you are checked against.
    """

    def __init__(
        self, reference: Mapping[str, Any], *, rtol: float = RTOL, atol: float = ATOL
    ) -> None:
        if not isinstance(reference, Mapping) or not reference:
            raise TypeError("StageChecker: reference must be a non-empty dict name -> node")
        self.reference = {
            str(n): _grad_array(r, f"StageChecker, {n}") for n, r in reference.items()
        }
        self.rtol, self.atol = rtol, atol
        self.passed: list[str] = []

    def check(self, stage: str, **mine: Any) -> StageReport:
        """Check ``mine`` (keyword arrays, named like the reference) at ``stage``.

        Returns the ``StageReport`` (Jupyter shows its table) and adds the stage to
        ``passed``; raises ``StageError`` (the wrong element, then the table) when an
        array is not close.
        """
        report = check_stage(
            stage, mine, self.reference, rtol=self.rtol, atol=self.atol, raise_on_failure=True
        )
        self.passed.append(stage)
        return report

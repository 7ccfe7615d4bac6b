"""The primitive ops of the tensor engine, each a ``Function``: forward and backward together.

Notation in the docstrings: ``g`` is dL/d(out), the gradient arriving from above; each
backward returns dL/d(input) = g times the local derivative (a vector-Jacobian product).
Backwards may return gradients in the broadcast shape of ``out``; the engine sums them
back to each input's shape (``unbroadcast``), so no op below deals with broadcasting.

Elementwise and matrix ops live here; reductions (sum, mean, var, max, softmax, ...) are
in ``reductions.py`` and shape ops (reshape, transpose, indexing, cat, stack) in
``shape_ops.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import either
from minigrad.tensor.function import Function

__all__ = [
    "Abs",
    "Add",
    "Cast",
    "Clip",
    "Div",
    "Exp",
    "Log",
    "MatMul",
    "Maximum",
    "Minimum",
    "Mul",
    "Neg",
    "Pow",
    "PowScalar",
    "ReLU",
    "Sigmoid",
    "Sqrt",
    "Sub",
    "Tanh",
    "Where",
    "maximum",
    "minimum",
    "where",
]


# ---------------------------------------------------------------- arithmetic


class Add(Function):
    """out = a + b;  da = g, db = g."""

    name = "add"
    broadcasts = True
    differentiable_backward = True
    formula = ("g", "g")

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return g, g


class Sub(Function):
    """out = a - b;  da = g, db = -g."""

    name = "sub"
    broadcasts = True
    differentiable_backward = True
    formula = ("g", "-g")

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """out = a * b;  da = g * b, db = g * a."""

    name = "mul"
    broadcasts = True
    differentiable_backward = True
    formula = ("g * b", "g * a")

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    """out = a / b;  da = g / b, db = -g * a / b**2 = -g * out / b."""

    name = "div"
    broadcasts = True
    differentiable_backward = True
    formula = ("g / b", "-g * out / b")

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        b, out = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        g_over_b = g / b
        return (g_over_b if need_a else None), (-g_over_b * out if need_b else None)


class Neg(Function):
    """out = -a;  da = -g."""

    name = "neg"
    differentiable_backward = True
    formula = ("-g",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        return -a

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (-g,)


class PowScalar(Function):
    """out = a ** n for a fixed number n;  da = g * n * a**(n-1)."""

    name = "pow"
    differentiable_backward = True
    formula = ("g * n * a**(n - 1)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, exponent: float) -> np.ndarray:
        ctx.exponent = exponent
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):  # as NumPy and torch: inf/NaN
            return a**exponent

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (a,) = ctx.saved_arrays
        n = ctx.exponent
        if n == 0:
            return (g * 0,)
        if n == 2:
            return (g * 2 * a,)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * n * a ** (n - 1),)


class Pow(Function):
    """out = a ** b, both tensors;  da = g * b * a**(b-1),  db = g * out * ln(a).

    At a = 0 with b >= 0 the function is flat in b (0**b = 0 or 1), so db is 0 there
    instead of 0 * ln 0 = NaN, as in PyTorch.
    """

    name = "pow"
    broadcasts = True
    differentiable_backward = True
    formula = ("g * b * a**(b - 1)", "g * out * log(a)")

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b, out = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        ga = g * b * a ** (b - 1) if need_a else None
        gb = None
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                flat = (either.raw(a) == 0) & (
                    either.raw(b) >= 0
                )  # 0**b is flat in b there: 0, not NaN
                gb = g * either.where(flat, 0.0, out * either.log(a))
        return ga, gb


# ---------------------------------------------------------------- matrix product


class MatMul(Function):
    """out = a @ b with NumPy's rules: 1-D operands are promoted, batch dims broadcast.

    For 2-D: da = g @ b.T, db = a.T @ g. A 1-D ``a`` acts as a row (1, k) and a 1-D ``b``
    as a column (k, 1); the backward promotes them the same way and drops the extra axis.
    Batch dims of the gradients are summed back by the engine (they are broadcasting).
    """

    name = "matmul"
    differentiable_backward = True
    formula = ("g @ B.T", "A.T @ g")
    inputs = ("A", "B")

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: {a.shape} @ {b.shape}: both operands need at least 1 dim")
        ka, kb = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if ka != kb:
            raise ValueError(
                f"matmul: {a.shape} @ {b.shape}: inner dimensions {ka} and {kb} differ"
            )
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without the promotions
            return (g @ b.T if need_a else None), (a.T @ g if need_b else None)
        if a.ndim == 1 and b.ndim == 1:  # a dot product: out = sum(a * b)
            return (g * b if need_a else None), (g * a if need_b else None)
        a2 = either.expand_dims(a, 0) if a.ndim == 1 else a  # (1, k)
        b2 = either.expand_dims(b, -1) if b.ndim == 1 else b  # (k, 1)
        g2 = g
        if a.ndim == 1:
            g2 = either.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = either.expand_dims(g2, -1)
        ga = gb = None
        if need_a:
            ga = g2 @ either.swap_last(b2)  # (..., m, k)
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if need_b:
            gb = either.swap_last(a2) @ g2  # (..., k, n)
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb


# ---------------------------------------------------------------- elementwise functions


class Exp(Function):
    """out = e**a;  da = g * out."""

    name = "exp"
    differentiable_backward = True
    formula = ("g * out",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (out,) = ctx.saved_arrays
        return (g * out,)


class Log(Function):
    """out = ln a;  da = g / a. (ln of a negative number is NaN, as in NumPy and PyTorch.)"""

    name = "log"
    differentiable_backward = True
    formula = ("g / a",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (a,) = ctx.saved_arrays
        return (g / a,)


class Sqrt(Function):
    """out = sqrt(a);  da = g / (2 out)."""

    name = "sqrt"
    differentiable_backward = True
    formula = ("g / (2 * out)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (out,) = ctx.saved_arrays
        with np.errstate(divide="ignore"):
            return (g / (2 * out),)


class Tanh(Function):
    """out = tanh a;  da = g * (1 - out**2)."""

    name = "tanh"
    differentiable_backward = True
    formula = ("g * (1 - out**2)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (out,) = ctx.saved_arrays
        return (g * (1 - out * out),)


class Sigmoid(Function):
    """out = 1 / (1 + e**-a);  da = g * out * (1 - out).

    Computed from e = e**-|a| (never overflows): out = 1/(1+e) for a >= 0, e/(1+e) below.
    """

    name = "sigmoid"
    differentiable_backward = True
    formula = ("g * out * (1 - out)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(a))
        out = np.where(a >= 0, 1, e) / (1 + e)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (out,) = ctx.saved_arrays
        return (g * out * (1 - out),)


class ReLU(Function):
    """out = max(a, 0);  da = g where a > 0, else 0 (0 at a = 0, as in PyTorch)."""

    name = "relu"
    differentiable_backward = True
    formula = ("g * (out > 0)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (out,) = ctx.saved_arrays
        return (g * (either.raw(out) > 0),)


class Abs(Function):
    """out = |a|;  da = g * sign(a) (0 at a = 0, as in PyTorch)."""

    name = "abs"
    differentiable_backward = True
    formula = ("g * sign(a)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (a,) = ctx.saved_arrays
        return (g * np.sign(either.raw(a)),)


class Clip(Function):
    """out = min(max(a, low), high);  da = g where low <= a <= high, else 0.

    The bounds are inclusive, as in ``torch.clamp``: at a bound the gradient passes.
    """

    name = "clip"
    differentiable_backward = True
    formula = ("g * ((a >= low) & (a <= high))",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
        if low is None and high is None:
            raise ValueError("clip: give at least one of min and max")
        ctx.save_for_backward(a)
        ctx.low, ctx.high = low, high
        return np.clip(a, low, high)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        a = either.raw(ctx.saved_arrays[0])
        inside = np.ones(a.shape, dtype=bool)
        if ctx.low is not None:
            inside &= a >= ctx.low
        if ctx.high is not None:
            inside &= a <= ctx.high
        return (g * inside,)


class Maximum(Function):
    """out = max(a, b) elementwise;  the gradient goes to the larger, split in half on ties.

    Where a or b is NaN the result is NaN and, as in PyTorch, *both* get the whole
    gradient: PyTorch's rule is "half on a tie (a == b), else all of it, except to the
    one that lost (a < b for a)", and a NaN is neither equal nor <. We match it
    (tested against PyTorch) rather than pick a side: the result is NaN either way.
    """

    name = "maximum"
    broadcasts = True
    differentiable_backward = True
    formula = ("g * ((a > b) + 0.5 * (a == b))", "g * ((b > a) + 0.5 * (a == b))")

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = (either.raw(x) for x in ctx.saved_arrays)
        half = np.where(a == b, 0.5, 1.0).astype(g.dtype, copy=False)  # PyTorch's rule
        return g * (half * ~(a < b)), g * (half * ~(a > b))


class Minimum(Function):
    """out = min(a, b) elementwise;  the gradient goes to the smaller, split in half on ties.

    Where a or b is NaN the result is NaN and, as in PyTorch, *both* get the whole
    gradient: PyTorch's rule is "half on a tie (a == b), else all of it, except to the
    one that lost (a > b for a)", and a NaN is neither equal nor >. We match it
    (tested against PyTorch) rather than pick a side: the result is NaN either way.
    """

    name = "minimum"
    broadcasts = True
    differentiable_backward = True
    formula = ("g * ((a < b) + 0.5 * (a == b))", "g * ((b < a) + 0.5 * (a == b))")

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = (either.raw(x) for x in ctx.saved_arrays)
        half = np.where(a == b, 0.5, 1.0).astype(g.dtype, copy=False)  # PyTorch's rule
        return g * (half * ~(a > b)), g * (half * ~(a < b))


class Cast(Function):
    """out = a converted to ``dtype``;  da = g converted back to a's dtype (by the engine)."""

    name = "cast"
    differentiable_backward = True
    formula = ("g",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, dtype: Any) -> np.ndarray:
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (g,)  # the engine casts every gradient to its input's dtype


class Where(Function):
    """out = a where cond else b;  da = g where cond, db = g elsewhere. ``cond`` has no grad."""

    name = "where"
    broadcasts = True
    differentiable_backward = True
    formula = ("where(cond, g, 0)", "where(cond, 0, g)")

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray, cond: np.ndarray) -> np.ndarray:
        ctx.cond = cond
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        zero = np.zeros((), dtype=g.dtype)
        return either.where(ctx.cond, g, zero), either.where(ctx.cond, zero, g)


# ---------------------------------------------------------------- functional forms


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max of two tensors (or a tensor and a number), with broadcasting."""
    a, b = _pair(a, b)
    return Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min of two tensors (or a tensor and a number), with broadcasting."""
    a, b = _pair(a, b)
    return Minimum.apply(a, b)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``cond`` (a bool tensor or array) is true, else ``b``; gradients flow to both."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be bool, got dtype {cond.dtype}")
    a, b = _pair(a, b)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape} (condition), {a.shape} and {b.shape} cannot be broadcast"
        ) from None
    return Where.apply(a, b, cond=cond)


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Two operands as tensors; a number takes the dtype of the tensor beside it."""
    if isinstance(a, Tensor):
        return a, _operand(b, a)
    if isinstance(b, Tensor):
        return _operand(a, b), b
    return Tensor(a), Tensor(b)


from minigrad.tensor.tensor import Tensor, _operand  # noqa: E402

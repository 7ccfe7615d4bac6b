"""Reductions: ops that summarise a tensor along axes (sum, mean, var, max, min,
logsumexp) and the normalisations built on them (softmax, log_softmax).

``axis`` is None (every axis), an int or a tuple of ints; negative axes count from the
end. The backward of a reduction *spreads* ``g`` back over the reduced axes: ``_spread``
re-inserts them (when ``keepdims`` dropped them) and copies ``g`` along them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.tensor import either
from minigrad.tensor.function import Function

__all__ = [
    "LogSoftmax",
    "LogSumExp",
    "Max",
    "Mean",
    "Min",
    "Softmax",
    "Sum",
    "Var",
    "argmax",
    "argmin",
    "normalize_axes",
]


def normalize_axes(op: str, axis: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """``axis`` as a sorted tuple of non-negative axes (None stays None: every axis)."""
    if axis is None:
        return None
    ndim = len(shape)
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, quickly
        return (axis % ndim,)
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    out = []
    for ax in axes:
        if not isinstance(ax, int | np.integer) or isinstance(ax, bool):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -max(ndim, 1) <= ax < max(ndim, 1):
            raise IndexError(f"{op}: axis {ax} is out of range for a tensor of shape {shape}")
        out.append(int(ax) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis")
    if ndim == 0:  # a 0-d tensor: axis 0 / -1 means "the whole thing", as in PyTorch
        return None
    return tuple(sorted(out))


def _count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    """How many elements each output element summarises."""
    if axes is None:
        return math.prod(shape)
    return math.prod([shape[ax] for ax in axes])


def _spread(ctx: Any, g: np.ndarray) -> np.ndarray:
    """``g`` (the reduced shape) copied back over the input's shape."""
    if not ctx.keepdims and ctx.axes is not None:  # put the reduced axes back, as size 1
        g = g.reshape([1 if i in ctx.axes else n for i, n in enumerate(ctx.shape)])
    return either.spread(g, ctx.shape)


def _setup(ctx: Any, op: str, a: np.ndarray, axis: Any, keepdims: bool) -> tuple[int, ...] | None:
    ctx.shape = a.shape
    ctx.axes = normalize_axes(op, axis, a.shape)
    ctx.keepdims = keepdims
    return ctx.axes


class Sum(Function):
    """out = sum of a over axes;  da = g, copied to every element that was summed."""

    name = "sum"
    differentiable_backward = True
    formula = ("g broadcast back to a.shape",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _setup(ctx, "sum", a, axis, keepdims)
        return np.asarray(a.sum(axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (_spread(ctx, g),)


class Mean(Function):
    """out = sum / n over axes;  da = g / n at every element."""

    name = "mean"
    differentiable_backward = True
    formula = ("spread(g, a.shape) / n",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _setup(ctx, "mean", a, axis, keepdims)
        ctx.n = _count(a.shape, axes)
        # sum / n is what np.mean computes, without its Python-level overhead
        return np.asarray(a.sum(axis=axes, keepdims=keepdims) / ctx.n)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (_spread(ctx, g / ctx.n),)


class Var(Function):
    """out = sum((a - mean)**2) / (n - correction);  da = g * 2 (a - mean) / (n - correction).

    (The mean's own dependence on a drops out: sum(a - mean) = 0.) ``correction=1`` is
    the unbiased estimate, PyTorch's default; ``correction=0`` the population variance.
    """

    name = "var"
    differentiable_backward = True
    formula = ("spread(g, a.shape) * 2 * (a - mean(a)) / (n - correction)",)

    @staticmethod
    def forward(
        ctx: Any, a: np.ndarray, axis: Any = None, correction: int = 1, keepdims: bool = False
    ) -> np.ndarray:
        axes = _setup(ctx, "var", a, axis, keepdims)
        centered = a - a.mean(axis=axes, keepdims=True)
        ctx.denominator = max(_count(a.shape, axes) - correction, 0)
        ctx.save_for_backward(a)  # not ``centered``: the backward recomputes it from a, so
        # that under create_graph it is a function of a (a saved copy would be a constant)
        with np.errstate(divide="ignore", invalid="ignore"):  # n <= correction: inf/NaN as torch
            return np.asarray(
                (centered * centered).sum(axis=axes, keepdims=keepdims) / ctx.denominator
            )

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (a,) = ctx.saved_arrays
        centered = a - a.mean(axis=ctx.axes, keepdims=True)
        scale = 2 / ctx.denominator if ctx.denominator else math.inf  # inf/NaN, as in torch
        with np.errstate(invalid="ignore"):
            return (_spread(ctx, g) * scale * centered,)


class _Extreme(Function):
    """max or min. Where several elements tie for the extreme, PyTorch's rules:

    * over every axis or a tuple of axes (``x.max()``, ``torch.amax``) the gradient is
      split evenly among the ties;
    * along one int axis (``x.max(dim=1)``) it all goes to the first of them, the index
      ``argmax`` reports (``torch.max(x, dim)`` returns that index and routes through it).

    NaN: the maximum of values with a NaN is NaN, and a NaN counts as tied with a NaN
    result, so the gradient goes to the NaN elements (split evenly) and the others get
    0, as ``torch.max(x)`` does; along one axis it goes to the first NaN (``argmax``
    points at it), as ``torch.max(x, dim)`` does. ``torch.amax(x, dims)`` differs: it
    counts ties with ``==`` alone, which a NaN never satisfies, so it divides by zero
    ties and returns NaN for every element of the slice. We keep one rule for every
    reduction (a NaN reaches only the elements that made it) rather than copy that.
    """

    name = "extreme"
    differentiable_backward = True
    formula = ("spread(g, a.shape) * chosen",)
    pick = staticmethod(np.max)  # the reduction: np.max or np.min
    arg = staticmethod(np.argmax)  # where it is: np.argmax or np.argmin

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        op = type(ctx)
        axes = _setup(ctx, op.name, a, axis, keepdims)
        if a.size == 0:
            raise ValueError(f"{op.name}: empty tensor of shape {a.shape} has no {op.name}")
        ctx.single_axis = isinstance(axis, int | np.integer) and axes is not None
        ctx.save_for_backward(a)
        return np.asarray(op.pick(a, axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        # Which elements were the extreme: numbers, not a function (their slope is 0).
        a = either.raw(ctx.saved_arrays[0])
        if ctx.single_axis:
            (ax,) = ctx.axes
            first = np.expand_dims(ctx.arg(a, axis=ax), ax)
            chosen = np.zeros(a.shape, dtype=g.dtype)
            np.put_along_axis(chosen, first, 1, axis=ax)
        else:
            out = ctx.pick(a, axis=ctx.axes, keepdims=True)
            ties = a == out
            if a.dtype.kind == "f":  # a NaN ties with a NaN result (see the docstring)
                ties |= np.isnan(a) & np.isnan(out)
            chosen = ties / ties.sum(axis=ctx.axes, keepdims=True).astype(g.dtype)
        return (_spread(ctx, g) * chosen,)


class Max(_Extreme):
    """out = max of a over axes;  da = g at the maximum (see ``_Extreme`` for ties)."""

    name = "max"
    pick = staticmethod(np.max)
    arg = staticmethod(np.argmax)


class Min(_Extreme):
    """out = min of a over axes;  da = g at the minimum (see ``_Extreme`` for ties)."""

    name = "min"
    pick = staticmethod(np.min)
    arg = staticmethod(np.argmin)


class LogSumExp(Function):
    """out = log(sum(exp(a))) over axes, computed as m + log(sum(exp(a - m))), m = max(a);

    subtracting m keeps every exp <= 1 (no overflow).  da = g * exp(a - out) = g * softmax(a).
    """

    name = "logsumexp"
    differentiable_backward = True
    formula = ("spread(g, a.shape) * exp(a - out)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _setup(ctx, "logsumexp", a, axis, keepdims)
        m = a.max(axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # a row of all -inf: log(0) = -inf, not NaN
        e = np.exp(a - m)
        total = e.sum(axis=axes, keepdims=True)
        with np.errstate(divide="ignore"):
            out = np.log(total) + m
        out = np.asarray(out if keepdims else np.squeeze(out, axis=axes))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        a, out = ctx.saved_arrays
        with np.errstate(invalid="ignore"):  # a row of all -inf: NaN, as in PyTorch
            softmax = either.exp(a - _spread(ctx, out))
        return (_spread(ctx, g) * softmax,)


class Softmax(Function):
    """out = exp(a) / sum(exp(a)) along ``axis`` (shifted by the max: no overflow);

    da = out * (g - sum(g * out)) along the axis (the Jacobian diag(out) - out out^T applied to g).
    """

    name = "softmax"
    differentiable_backward = True
    formula = ("out * (g - sum(g * out))",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, axis: int = -1) -> np.ndarray:
        (ctx.axis,) = normalize_axes("softmax", axis, a.shape) or (None,)
        e = np.exp(a - a.max(axis=ctx.axis, keepdims=True))
        out = e / e.sum(axis=ctx.axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (out,) = ctx.saved_arrays
        return (out * (g - (g * out).sum(axis=ctx.axis, keepdims=True)),)


class LogSoftmax(Function):
    """out = a - logsumexp(a) along ``axis``;  da = g - softmax(a) * sum(g) along the axis."""

    name = "log_softmax"
    differentiable_backward = True
    formula = ("g - exp(out) * sum(g)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, axis: int = -1) -> np.ndarray:
        (ctx.axis,) = normalize_axes("log_softmax", axis, a.shape) or (None,)
        shifted = a - a.max(axis=ctx.axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=ctx.axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (out,) = ctx.saved_arrays
        return (g - either.exp(out) * g.sum(axis=ctx.axis, keepdims=True),)


def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the (first) largest element along ``axis`` (flattened if None); no gradient."""
    return _arg(np.argmax, "argmax", x, axis, keepdims)


def argmin(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the (first) smallest element along ``axis`` (flattened if None); no gradient."""
    return _arg(np.argmin, "argmin", x, axis, keepdims)


def _arg(fn: Any, op: str, x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
    axes = normalize_axes(op, axis, x.shape)
    if axes is not None and len(axes) != 1:
        raise TypeError(f"{op}: axis must be one int or None, got {axis!r}")
    if x.size == 0:
        raise ValueError(f"{op}: empty tensor of shape {x.shape}")
    ax = None if axes is None else axes[0]
    return Tensor(np.asarray(fn(x.data, axis=ax, keepdims=keepdims), dtype=np.int64))


from minigrad.tensor.tensor import Tensor  # noqa: E402

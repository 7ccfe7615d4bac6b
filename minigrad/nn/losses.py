"""Loss functions and their modules: cross-entropy, mean squared error, BCE with logits.

Every loss takes ``reduction``: ``"mean"`` (the default) averages the per-element
losses, ``"sum"`` adds them, ``"none"`` returns them unreduced.

``cross_entropy`` and ``binary_cross_entropy_with_logits`` are single ops with a
hand-derived backward: both start from a log of an exponential, which overflows if
computed literally (``log(softmax(z))`` with z = 1000 is ``log(inf / inf)``), and their
gradients are short formulas (``softmax - onehot``, ``sigmoid - y``). ``nll_loss`` and
``mse_loss`` are written with Tensor ops: the chain rule does the work.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from minigrad.nn.module import Module
from minigrad.tensor import Tensor
from minigrad.tensor.function import Function

__all__ = [
    "BCEWithLogitsFunction",
    "BCEWithLogitsLoss",
    "CrossEntropyFunction",
    "CrossEntropyLoss",
    "MSELoss",
    "NLLLoss",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "mse_loss",
    "nll_loss",
]

REDUCTIONS = ("mean", "sum", "none")
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # same-size views


def _check_reduction(op: str, reduction: Any) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(each: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return each
    total = each.sum()
    return total / each.size if reduction == "mean" else total


def _grad_of_each(grad: np.ndarray, shape: tuple[int, ...], reduction: str) -> np.ndarray:
    """dL/d(each per-element loss), the reduction's backward: ``grad`` itself for "none",
    else a 0-d array (``grad / count`` for "mean") that broadcasts over every element."""
    if reduction == "none":
        return grad
    return grad / max(1, math.prod(shape)) if reduction == "mean" else grad


def _check_input(op: str, x: Any) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be float32 or float64, got {x.dtype}")


# ---------------------------------------------------------------- cross-entropy


def _classes_last(a: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) as (N * d1 * ..., C): one row per prediction (a view for (N, C))."""
    return a if a.ndim == 2 else np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _classes_back(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo ``_classes_last``: (M, C) rows back to ``shape`` (N, C, d1, ...)."""
    if len(shape) == 2:
        return rows
    return np.moveaxis(rows.reshape(shape[0], *shape[2:], shape[1]), -1, 1)


class CrossEntropyFunction(Function):
    """Softmax cross-entropy of logits z (class axis 1) against class indices t.

    Forward, stably: with s = z - max(z) (the same softmax; the largest exponent is 0,
    so exp cannot overflow), ``-log p[t] = log(sum(exp(s))) - s[t]``.

    Backward: ``dloss/dz = softmax(z) - onehot(t)``: every class's score is pulled down
    by its probability, the true class's pushed up by 1; times the upstream gradient
    of each sample's loss (1/count for ``mean``).

    With class probabilities as targets (``target`` a float tensor shaped like z):
    ``loss = -sum(t * log p)``, ``dloss/dz = softmax(z) * sum(t) - t``, and
    ``dloss/dt = -log p``.

    Class axis other than the last (inputs (N, C, d1, ...)) are handled by viewing the
    input as rows of C scores (``_classes_last``) and reshaping the gradient back.
    """

    name: ClassVar[str] = "cross_entropy"
    fused: ClassVar[bool] = True
    # Under create_graph the backward is built from differentiable ops instead (see
    # ``_cross_entropy_backward_graph``), so a gradient through the loss differentiates again.
    differentiable_backward: ClassVar[bool] = True

    @staticmethod
    def forward(
        ctx: Any,
        z: np.ndarray,
        *probs: np.ndarray,
        indices: np.ndarray | None = None,
        reduction: str = "mean",
    ) -> np.ndarray:
        scores = _classes_last(z)
        shifted = scores - scores.max(axis=1, keepdims=True)
        softmax = np.exp(shifted)
        total = softmax.sum(axis=1, keepdims=True)
        softmax /= total
        log_total = np.log(total)
        if indices is not None:
            rows = np.arange(len(scores))
            each = log_total[:, 0] - shifted[rows, indices.reshape(-1)]
            ctx.save_for_backward(softmax)
        else:
            t = _classes_last(probs[0])
            log_p = shifted - log_total
            each = -(t * log_p).sum(axis=1)
            ctx.save_for_backward(softmax, log_p, t)
        ctx.indices, ctx.reduction, ctx.z_shape = indices, reduction, z.shape
        each = each.reshape(z.shape[:1] + z.shape[2:])
        return np.asarray(_reduce(each, reduction), dtype=z.dtype)

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        if isinstance(grad, Tensor):
            return _cross_entropy_backward_graph(ctx, grad)
        softmax, *rest = ctx.saved_arrays
        shape = ctx.z_shape
        g = _grad_of_each(grad, shape[:1] + shape[2:], ctx.reduction)
        g_rows = g.reshape(-1, 1) if g.ndim else g  # one upstream value per row, or one for all
        if ctx.indices is not None:
            dz = softmax * g_rows  # softmax - onehot, times g: subtract g at each target
            dz[np.arange(len(dz)), ctx.indices.reshape(-1)] -= g_rows[:, 0] if g.ndim else g
            return (_classes_back(dz, shape),)
        log_p, t = rest
        dz = (softmax * t.sum(axis=1, keepdims=True) - t) * g_rows
        dt = _classes_back(-log_p * g_rows, shape) if ctx.needs_input_grad[1] else None
        return _classes_back(dz, shape), dt


def _cross_entropy_backward_graph(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
    """The same vector-Jacobian product as ``CrossEntropyFunction.backward``, built from
    differentiable ops (``create_graph``): the softmax is recomputed from z, so it is a
    function of z in the new graph, not a saved constant."""
    z, *target = ctx.graph_inputs
    shape = ctx.z_shape
    g = _grad_of_each(grad, shape[:1] + shape[2:], ctx.reduction)
    g_rows = g.reshape(-1, 1) if g.ndim else g
    rows = _tensor_rows(z)
    softmax = rows.softmax(axis=1)
    if ctx.indices is not None:
        onehot = np.zeros(rows.shape, dtype=z.dtype)
        onehot[np.arange(len(onehot)), ctx.indices.reshape(-1)] = 1
        return (_tensor_back((softmax - onehot) * g_rows, shape),)
    t = _tensor_rows(target[0])
    dz = (softmax * t.sum(axis=1, keepdims=True) - t) * g_rows
    needs_t = ctx.needs_input_grad[1]
    dt = _tensor_back(-rows.log_softmax(axis=1) * g_rows, shape) if needs_t else None
    return _tensor_back(dz, shape), dt


def _tensor_rows(a: Tensor) -> Tensor:
    """``_classes_last`` for a tensor in the graph: (N, C, d1, ...) as (M, C) rows."""
    if a.ndim == 2:
        return a
    return a.permute(0, *range(2, a.ndim), 1).reshape(-1, a.shape[1])


def _tensor_back(rows: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``_classes_back`` for a tensor in the graph."""
    if len(shape) == 2:
        return rows
    n = len(shape)
    return rows.reshape(shape[0], *shape[2:], shape[1]).permute(0, n - 1, *range(1, n - 1))


def _class_indices(op: str, target: Any, x: Tensor) -> np.ndarray:
    """Integer class targets as an int64 array, checked against the logits' shape."""
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    expected = (x.shape[0], *x.shape[2:])
    if t.shape != expected:
        raise ValueError(
            f"{op}: target shape {t.shape} does not fit input shape {tuple(x.shape)} "
            f"(class indices of shape {expected} expected)"
        )
    classes = x.shape[1]
    # One reduction checks both ends: viewed as unsigned, a negative index is huge.
    unsigned = t.view(_UNSIGNED[t.itemsize]) if t.dtype.kind == "i" else t
    if t.size and unsigned.max() >= classes:
        bad = int(t.min()) if t.min() < 0 else int(t.max())
        raise IndexError(
            f"{op}: target {bad} is out of range for {classes} classes (valid: 0 to {classes - 1})"
        )
    return t.astype(np.int64, copy=False)


def cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy between logits and targets (``torch.nn.functional.cross_entropy``).

    ``input``: logits (N, C) or (N, C, d1, ...), or (C,) for one sample; classes on axis 1.
    ``target``: class indices (N,) / (N, d1, ...) / () as an integer array or Tensor, or
    class probabilities shaped like ``input`` (a float Tensor or array).
    ``loss_i = -log softmax(input_i)[target_i]``, reduced by ``reduction``.
    """
    op = "cross_entropy"
    _check_input(op, input)
    _check_reduction(op, reduction)
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if input.ndim == 1:  # one sample: treat as a batch of one
        if t.ndim == 0 and t.dtype.kind in "iu":
            loss = cross_entropy(input.reshape(1, -1), t.reshape(1), reduction)
            return loss.reshape(()) if reduction == "none" else loss
        if t.dtype.kind == "f" and t.shape == input.shape:
            target = target.reshape(1, -1) if isinstance(target, Tensor) else t.reshape(1, -1)
            loss = cross_entropy(input.reshape(1, -1), target, reduction)
            return loss.reshape(()) if reduction == "none" else loss
    if input.ndim < 2:
        raise ValueError(
            f"{op}: input must be (N, C), (N, C, d1, ...) or (C,), got shape {input.shape}"
        )
    if t.dtype.kind in "iu":
        indices = _class_indices(op, t, input)
        return CrossEntropyFunction.apply(input, indices=indices, reduction=reduction)
    if t.dtype.kind == "f":
        if t.shape != tuple(input.shape):
            raise ValueError(
                f"{op}: class-probability target shape {t.shape} differs from input shape "
                f"{tuple(input.shape)}"
            )
        probs = target if isinstance(target, Tensor) else Tensor(t)
        if probs.dtype != input.dtype:
            raise TypeError(
                f"{op}: input dtype {input.dtype} does not match target dtype {probs.dtype}"
            )
        return CrossEntropyFunction.apply(input, probs, reduction=reduction)
    raise TypeError(
        f"{op}: target must hold class indices (integers) or probabilities, got {t.dtype}"
    )


def nll_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities (N, C).

    ``loss_i = -input[i, target_i]``, written with Tensor ops (a one-hot mask picks the
    entry), so the chain rule derives the gradient. ``cross_entropy(z, t)`` equals
    ``nll_loss(log_softmax(z, dim=1), t)``.
    """
    op = "nll_loss"
    _check_input(op, input)
    _check_reduction(op, reduction)
    if input.ndim != 2:
        raise ValueError(f"{op}: input must be (N, C) log-probabilities, got shape {input.shape}")
    indices = _class_indices(op, target, input)
    onehot = np.zeros(input.shape, dtype=input.dtype)
    onehot[np.arange(input.shape[0]), indices] = 1
    each = -(input * Tensor(onehot)).sum(axis=1)
    if reduction == "none":
        return each
    return each.mean() if reduction == "mean" else each.sum()


# ---------------------------------------------------------------- binary cross-entropy


class BCEWithLogitsFunction(Function):
    """Binary cross-entropy of logits x against targets y in [0, 1].

    ``loss = -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))``, which simplifies to
    ``max(x, 0) - x y + log(1 + exp(-|x|))``: exp only ever sees a non-positive number,
    so nothing overflows. Backward: ``dloss/dx = sigmoid(x) - y`` and ``dloss/dy = -x``.
    """

    name: ClassVar[str] = "bce_with_logits"
    fused: ClassVar[bool] = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, y: np.ndarray, reduction: str = "mean") -> np.ndarray:
        each = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        ctx.save_for_backward(x, y)
        ctx.reduction = reduction
        return np.asarray(_reduce(each, reduction), dtype=x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, y = ctx.saved_arrays
        g = _grad_of_each(grad, x.shape, ctx.reduction)
        e = np.exp(-np.abs(x))  # sigmoid from exp(-|x|) <= 1: stable on both sides
        sig = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        dy = -x * g if ctx.needs_input_grad[1] else None
        return (sig - y) * g, dy


def _float_target(op: str, input: Tensor, target: Any) -> Tensor:
    """A target for an element-wise loss: a Tensor of the input's shape and dtype."""
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target, dtype=input.dtype))
    if target.shape != input.shape:
        raise ValueError(
            f"{op}: target shape {tuple(target.shape)} differs from input shape "
            f"{tuple(input.shape)} (reshape one: silent broadcasting is a classic bug)"
        )
    if target.dtype != input.dtype:
        raise TypeError(
            f"{op}: input dtype {input.dtype} does not match target dtype {target.dtype}"
        )
    return target


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """``-(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))`` per element, computed stably.

    ``input``: logits; ``target``: the same shape, values in [0, 1] (Tensor or array).
    """
    op = "binary_cross_entropy_with_logits"
    _check_input(op, input)
    _check_reduction(op, reduction)
    target = _float_target(op, input, target)
    return BCEWithLogitsFunction.apply(input, target, reduction=reduction)


# ---------------------------------------------------------------- mean squared error


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """``(input - target)^2`` per element, with Tensor ops; target: same shape (Tensor or array)."""
    op = "mse_loss"
    _check_input(op, input)
    _check_reduction(op, reduction)
    target = _float_target(op, input, target)
    diff = input - target
    each = diff * diff
    if reduction == "none":
        return each
    return each.mean() if reduction == "mean" else each.sum()


# ---------------------------------------------------------------- modules


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """``cross_entropy`` as a module: ``CrossEntropyLoss()(logits, target)``."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return cross_entropy(input, target, self.reduction)


class NLLLoss(_Loss):
    """``nll_loss`` as a module: pair it with ``log_softmax``."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nll_loss(input, target, self.reduction)


class MSELoss(_Loss):
    """``mse_loss`` as a module."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return mse_loss(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``binary_cross_entropy_with_logits`` as a module."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.reduction)

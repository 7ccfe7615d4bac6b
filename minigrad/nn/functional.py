"""``minigrad.nn.functional`` (import it as ``F``): the layers' math as plain functions.

The modules in ``minigrad.nn`` hold parameters and call these. Two of them are ops of
their own, with the backward written next to the forward, because a training step
runs them on every layer and one op costs less than three:

* ``linear``: ``y = x W^T + b`` (PyTorch's ``addmm``), one node named ``linear``;
* ``dropout``: ``y = x * mask / (1 - p)``, one node named ``dropout``.

Activations and softmax are the Tensor's own ops; the losses live in
``minigrad.nn.losses`` and are re-exported here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from minigrad.batchnorm.tensor import batch_norm  # with its derivation in minigrad/batchnorm/
from minigrad.journal import remember_draw
from minigrad.nn.losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    nll_loss,
)
from minigrad.random import default_generator
from minigrad.tensor import Tensor
from minigrad.tensor.function import Function

__all__ = [
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]


# ---------------------------------------------------------------- linear


class LinearFunction(Function):
    """``y = x @ W.T + b`` over the last axis of ``x`` (any leading axes), one op.

    With the leading axes of x flattened into rows (x: (n, in), W: (out, in), g = dL/dy):

        dL/dx = g @ W            (n, out) @ (out, in)
        dL/dW = g.T @ x          (out, n) @ (n, in): every row's outer product, summed
        dL/db = sum of g's rows  b was added to every row
    """

    name: ClassVar[str] = "linear"
    differentiable_backward = True
    formula = ("g @ W", "g.T @ x", "sum of g's rows")
    fused: ClassVar[bool] = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, weight: np.ndarray, *bias: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bool(bias)
        y = x @ weight.T  # W.T is a view: BLAS reads W transposed, nothing is copied
        if bias:
            y += bias[0]  # in place: no second (n, out) array
        return y

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, weight = ctx.saved_arrays
        needs = ctx.needs_input_grad
        rows = grad.reshape(-1, grad.shape[-1])  # leading axes flattened: (n, out)
        dx = grad @ weight if needs[0] else None
        dw = rows.T @ x.reshape(-1, x.shape[-1]) if needs[1] else None
        if not ctx.has_bias:
            return dx, dw
        db = rows.sum(axis=0) if needs[2] else None
        return dx, dw, db


def _check_linear(op: str, x: Any, weight: Tensor, bias: Tensor | None) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    xd, wd = x.data, weight.data  # arrays: this runs on every step, properties cost
    if xd.dtype != wd.dtype:
        raise TypeError(
            f"{op}: input dtype {xd.dtype} does not match weight dtype {wd.dtype} "
            "(convert one: .double() / .float() on the module, or Tensor(x, dtype=...))"
        )
    if xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
        got = xd.shape[-1] if xd.ndim else "no"
        raise ValueError(
            f"{op}: input has {got} features, expected {wd.shape[1]} "
            f"(input shape {xd.shape}, weight shape {wd.shape})"
        )
    if bias is not None and bias.data.shape != wd.shape[:1]:
        raise ValueError(
            f"{op}: bias shape {bias.data.shape} does not match weight shape "
            f"{wd.shape} (expected ({wd.shape[0]},))"
        )


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, _op: str = "linear") -> Tensor:
    """``x @ weight.T + bias``: x (..., in), weight (out, in), bias (out,) -> (..., out)."""
    _check_linear(_op, x, weight, bias)
    if bias is None:
        return LinearFunction.apply(x, weight)
    return LinearFunction.apply(x, weight, bias)


# ---------------------------------------------------------------- dropout


class DropoutFunction(Function):
    """``y = x * mask``, where ``mask`` is 0 (dropped) or ``1 / (1 - p)`` (kept).

    Scaling the kept units by 1/(1-p) keeps every unit's expected value unchanged, so
    at inference dropout is simply left out ("inverted dropout"). ``dL/dx = g * mask``.
    """

    name: ClassVar[str] = "dropout"

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        (mask,) = ctx.saved_arrays
        return grad * mask, None


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A NumPy Generator from a Generator (used as is), a seed, or None (the global
    generator that ``minigrad.manual_seed`` seeds, as PyTorch's default generator)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return default_generator()
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def check_probability(op: str, p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def dropout(
    x: Tensor,
    p: float = 0.5,
    training: bool = True,
    rng: np.random.Generator | int | None = None,
) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Identity when ``training`` is False or ``p == 0``; all zeros when ``p == 1``. The
    mask is drawn from ``rng`` (a Generator, or a seed for a reproducible mask).
    """
    p = check_probability("dropout", p)
    if not isinstance(x, Tensor):
        raise TypeError(f"dropout: input must be a Tensor, got {type(x).__name__}")
    if not training or p == 0.0:
        return x
    generator = as_generator(rng)
    remember_draw(generator)  # undone if the module call this is part of fails
    keep = generator.random(x.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = keep.astype(x.dtype) * x.dtype.type(scale)
    return DropoutFunction.apply(x, Tensor(mask))


# ---------------------------------------------------------------- activations, softmax


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``, element by element."""
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    """``tanh(x)``, element by element."""
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, element by element."""
    return x.sigmoid()


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed stably by the Tensor op)."""
    return x.softmax(dim=dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: log-probabilities without overflow."""
    return x.log_softmax(dim=dim)

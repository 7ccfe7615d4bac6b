"""BatchNorm in the tensor engine, both ways.

* ``batch_norm_composite``: Algorithm 1 written with primitive ``Tensor`` ops inside
  ``name_scope("batchnorm")`` (one nested scope per step, so a picture shows mean,
  variance, normalize and scale-shift as boxes); autodiff derives the gradient through
  about ten ops and keeps their inputs alive for backward.
* ``BatchNormFunction``: the fused op, one ``Function`` whose forward and backward are
  the kernels of ``minigrad.batchnorm.math`` (the backward derived by hand there). It
  hands the batch statistics it computed to its caller, which blends them into the
  running statistics only once the forward has succeeded (validate, then commit: under
  ``detect_anomaly()`` a forward that makes NaN leaves the buffers untouched).

``batch_norm`` is ``torch.nn.functional.batch_norm`` with an ``impl`` switch; the module,
``BatchNorm1d``, is in ``minigrad.batchnorm.layer``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from minigrad.autograd import STATE, name_scope
from minigrad.batchnorm.math import (
    BatchStats,
    blend_running_stats,
    check_eps,
    check_input_shape,
    check_momentum,
    check_running_stats_finite,
    check_writable,
    fused_backward,
    fused_backward_eval,
    fused_forward,
    fused_forward_eval,
    reduce_axes,
)
from minigrad.formula import Formula
from minigrad.journal import journaling, on_failure
from minigrad.tensor import Tensor
from minigrad.tensor.function import Function

__all__ = [
    "BatchNormFunction",
    "batch_norm",
    "batch_norm_composite",
    "batch_norm_fused",
]

IMPLS = ("fused", "composite")


# ---------------------------------------------------------------- composite


def _per_channel(v: Tensor, ndim: int) -> Tensor:
    """gamma or beta, (C,), shaped to broadcast over (N, C) or (N, C, L)."""
    return v if ndim == 2 else v.reshape(-1, 1)


def batch_norm_composite(
    x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Algorithm 1 from primitive ops (training mode: the batch's own statistics)."""
    return _composite_train(x, weight, bias, eps)[0]


def _composite_train(
    x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    """(y, mean, biased variance) of Algorithm 1; mean and variance keep their dims."""
    axes = reduce_axes(x.ndim)
    with name_scope("batchnorm"):
        with name_scope("mean"):
            mean = x.mean(axis=axes, keepdims=True)
            mean.label = "mean"
        with name_scope("variance"):
            centered = x - mean
            centered.label = "x - mean"
            var = (centered * centered).mean(axis=axes, keepdims=True)
            var.label = "var"
        with name_scope("normalize"):
            eps_const = Tensor(np.array(eps, dtype=var.dtype), label="eps")  # named in pictures
            sigma = (var + eps_const).sqrt()
            sigma.label = "sigma"
            xhat = centered / sigma
            xhat.label = "xhat"
        y = _composite_scale_shift(xhat, weight, bias)
    return y, mean, var


def _composite_scale_shift(xhat: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    if weight is None and bias is None:
        return xhat
    with name_scope("scale_shift"):
        y = xhat
        if weight is not None:
            y = y * _per_channel(weight, xhat.ndim)
        if bias is not None:
            y = y + _per_channel(bias, xhat.ndim)
        y.label = "y"
    return y


def _composite_eval(
    x: Tensor,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
) -> Tensor:
    """Algorithm 2 from primitive ops: the running statistics are constants."""
    ndim = x.ndim
    # copies: a later training step updates the buffers in place, this graph must not see it
    shape = (-1, 1) if ndim == 3 else (-1,)
    mean = Tensor(running_mean.reshape(shape).copy())
    var = Tensor(running_var.reshape(shape).copy())
    mean.label, var.label = "running_mean", "running_var"
    with name_scope("batchnorm"):
        with name_scope("normalize"):
            xhat = (x - mean) / (var + eps).sqrt()
            xhat.label = "xhat"
        return _composite_scale_shift(xhat, weight, bias)


# ---------------------------------------------------------------- fused


class BatchNormFunction(Function):
    """BatchNorm as one op: inputs x and, with affine, gamma and beta.

    Training (``training=True``): normalize with the batch's statistics, the kernels
    ``fused_forward`` / ``fused_backward`` (see their docstrings for the derivation);
    when ``batch_stats`` (a list) is given, append (mean, biased variance) to it, for
    the caller to blend into the running statistics after the op succeeded. Eval:
    normalize with the given running statistics (``fused_forward_eval`` /
    ``fused_backward_eval``).

    Saved for backward in training: x - mean (one array of x's size), 1/sigma and gamma;
    the composite's ops keep two arrays of x's size (x - mean and xhat) and small ones.
    """

    name: ClassVar[str] = "batchnorm"
    fused: ClassVar[bool] = True

    @staticmethod
    def forward(
        ctx: Any,
        x: np.ndarray,
        *affine: np.ndarray,
        eps: float,
        training: bool,
        running_mean: np.ndarray | None = None,
        running_var: np.ndarray | None = None,
        batch_stats: list | None = None,
    ) -> np.ndarray:
        gamma, beta = affine if affine else (None, None)
        ctx.training, ctx.affine = training, bool(affine)
        if training:
            y, stats = fused_forward(x, gamma, beta, eps)
            if batch_stats is not None:
                batch_stats.append((stats.mean, stats.var))
            ctx.save_for_backward(stats.centered, stats.inv_std, *affine[:1])
        else:
            assert running_mean is not None and running_var is not None
            y, inv_std = fused_forward_eval(x, running_mean, running_var, gamma, beta, eps)
            # copies: a later training step updates the buffers in place
            ctx.save_for_backward(x, running_mean.copy(), inv_std, *affine[:1])
            ctx.running_var = running_var.copy()
        ctx.eps = eps
        return y

    # Under create_graph the backward runs on Tensors: it applies ``BatchNormBackward``, an
    # op whose own backward (the double backward) is derived by hand. x and gamma arrive as
    # graph nodes; the saved statistics as arrays, which that op differentiates through.
    differentiable_backward: ClassVar[bool] = True

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        if isinstance(grad, Tensor):
            return _backward_as_op(ctx, grad)
        if ctx.training:
            centered, inv_std, *gamma = ctx.saved_arrays
            stats = BatchStats(None, None, inv_std, centered)  # type: ignore[arg-type]
            dx, dgamma, dbeta = fused_backward(grad, stats, gamma[0] if gamma else None)
        else:
            x, mean, inv_std, *gamma = ctx.saved_arrays
            dx, dgamma, dbeta = fused_backward_eval(
                grad, x, mean, inv_std, gamma[0] if gamma else None
            )
        return (dx, dgamma, dbeta) if ctx.affine else (dx,)

    @staticmethod
    def formula(ctx: Any, grad: np.ndarray | None) -> Formula:
        """The backward as the player shows it: per channel, with this batch's numbers."""
        if ctx.training:
            lines = ["x.grad += γ/(m·σ) · (m·dy - Σdy - x̂·Σ(dy·x̂))"]
        else:
            lines = ["x.grad += γ·dy/σ  (eval: the running statistics are constants)"]
        if ctx.affine:
            lines += ["γ.grad += Σ(dy·x̂)", "β.grad += Σdy"]
        saved = ctx.saved_arrays
        if grad is None or not saved:  # nothing to put in (freed, or no gradient yet)
            return Formula(tuple(lines))
        dy = np.asarray(grad)
        axes = reduce_axes(dy.ndim)
        per_channel = [1] * dy.ndim
        per_channel[1] = -1
        if ctx.training:
            centered, inv_std, *gamma = saved
            xhat = centered * inv_std.reshape(per_channel)
        else:
            x, mean, inv_std, *gamma = saved
            xhat = (x - mean.reshape(per_channel)) * inv_std.reshape(per_channel)
        values: dict[str, Any] = {
            "m": dy.size // dy.shape[1],
            "γ": gamma[0] if gamma else np.ones(dy.shape[1]),
            "σ": 1.0 / inv_std.reshape(-1),
            "Σdy": dy.sum(axis=axes),
            "Σ(dy·x̂)": (dy * xhat).sum(axis=axes),
        }
        return Formula(tuple(lines), values)


def _backward_as_op(ctx: Any, grad: Tensor) -> tuple[Tensor, ...]:
    from minigrad.batchnorm.backward_op import batch_norm_backward  # it builds on this module

    x, *gamma = ctx.graph_inputs[:2] if ctx.affine else ctx.graph_inputs[:1]
    if ctx.training:
        centered, inv_std, *_ = ctx.saved_arrays
        settings = {"training": True, "centered": centered, "inv_std": inv_std, "eps": ctx.eps}
    else:
        _, mean, inv_std, *_ = ctx.saved_arrays
        settings = {
            "training": False,
            "running_mean": mean,
            "running_var": ctx.running_var,
            "inv_std": inv_std,
            "eps": ctx.eps,
        }
    dx, dgamma, dbeta = batch_norm_backward(x, gamma[0] if gamma else None, grad, **settings)
    return (dx, dgamma, dbeta) if ctx.affine else (dx,)


def batch_norm_fused(
    x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Algorithm 1 as one op (training mode: the batch's own statistics)."""
    affine = _affine_pair(x, weight, bias)
    return BatchNormFunction.apply(x, *affine, eps=eps, training=True)


def _affine_pair(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> tuple[Tensor, ...]:
    """(gamma, beta) for the fused op, or () for none; a missing one becomes a constant."""
    if weight is None and bias is None:
        return ()
    c, dtype = x.shape[1], x.dtype
    gamma = weight if weight is not None else Tensor(np.ones(c, dtype=dtype))
    beta = bias if bias is not None else Tensor(np.zeros(c, dtype=dtype))
    return gamma, beta


# ---------------------------------------------------------------- functional


def _array_or_none(t: Tensor | np.ndarray | None) -> np.ndarray | None:
    if t is None:
        return None
    return t.data if isinstance(t, Tensor) else t


def _check_functional(
    x: Tensor,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    eps: float,
    impl: str,
    op: str,
) -> None:
    """Every check, before anything runs or changes."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    check_eps(op, eps)
    if impl not in IMPLS:
        raise ValueError(f"{op}: impl must be 'fused' or 'composite', got {impl!r}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: input must be float32 or float64, got {x.dtype}")
    c = x.shape[1] if x.ndim >= 2 else None
    check_input_shape(op, x.shape, None, training)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: running_mean and running_var must both be given or both None")
    if not training and running_mean is None:
        raise ValueError(f"{op}: running_mean must be defined in evaluation mode")
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is None:
            continue
        if not isinstance(t, np.ndarray | Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor or an ndarray, got {type(t).__name__}")
        if t.shape != (c,):
            raise ValueError(
                f"{op}: {name} should contain {c} elements (one per channel of input shape "
                f"{tuple(x.shape)}), got shape {tuple(t.shape)}"
            )
        if t.dtype != x.dtype:
            raise TypeError(f"{op}: input dtype {x.dtype} does not match {name} dtype {t.dtype}")
        if training and name.startswith("running_"):
            check_writable(op, name, t)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | np.ndarray | None,
    running_var: Tensor | np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    impl: str = "fused",
) -> Tensor:
    """``torch.nn.functional.batch_norm``: normalize each channel of (N, C) or (N, C, L).

    ``training=True``: use the batch's mean and biased variance, and when running
    statistics are given, update them in place:
    ``running = (1 - momentum) * running + momentum * batch_stat`` (the variance unbiased).
    ``training=False``: use the running statistics (they must be given).
    ``impl``: "fused" (one op, hand-derived backward) or "composite" (primitive ops).
    """
    return _batch_norm(
        input, running_mean, running_var, weight, bias, training, momentum, eps, impl, "batch_norm"
    )


def _batch_norm(
    input: Tensor,
    running_mean: Tensor | np.ndarray | None,
    running_var: Tensor | np.ndarray | None,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
    impl: str,
    op: str,
) -> Tensor:
    """``batch_norm`` with the name errors use (``batch_norm`` or the module's).

    Two phases: check everything, run the forward (under anomaly mode its ops raise on
    NaN), compute the new running statistics and check them; only then write them.
    """
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and not isinstance(t, np.ndarray | Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor or an ndarray, got {type(t).__name__}")
    rm, rv = _array_or_none(running_mean), _array_or_none(running_var)
    _check_functional(input, rm, rv, weight, bias, training, eps, impl, op)
    factor = check_momentum(op, momentum)
    if factor is None:
        raise ValueError(f"{op}: momentum must be a number in [0, 1] (None is for BatchNorm1d)")
    eps = float(eps)
    updating = training and rm is not None and rv is not None
    if impl == "fused":
        affine = _affine_pair(input, weight, bias)
        batch_stats: list = []
        y = BatchNormFunction.apply(
            input,
            *affine,
            eps=eps,
            training=training,
            running_mean=None if training else rm,
            running_var=None if training else rv,
            batch_stats=batch_stats if updating else None,
        )
        if updating:
            mean, var = batch_stats[0]
    elif not training:
        assert rm is not None and rv is not None
        return _composite_eval(input, rm, rv, weight, bias, eps)
    else:
        y, mean_t, var_t = _composite_train(input, weight, bias, eps)
        mean, var = mean_t.data.reshape(-1), var_t.data.reshape(-1)
    if updating:
        assert rm is not None and rv is not None
        m = input.size // input.shape[1]
        new_mean, new_var = blend_running_stats(rm, rv, mean, var, m, factor)
        if STATE.anomaly:
            check_running_stats_finite(op, new_mean, new_var)
        if journaling():  # part of a model's call: undone if a later layer fails
            old_mean, old_var = rm.copy(), rv.copy()
            on_failure(lambda: (_write(rm, old_mean), _write(rv, old_var)))
        rm[...] = new_mean  # the commit: nothing below can fail
        rv[...] = new_var
    return y


def _write(target: np.ndarray, values: np.ndarray) -> None:
    target[...] = values


def __getattr__(name: str) -> Any:
    """``BatchNorm1d`` lives in ``minigrad.batchnorm.layer``; it is importable from here too."""
    if name == "BatchNorm1d":
        from minigrad.batchnorm.layer import BatchNorm1d

        return BatchNorm1d
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

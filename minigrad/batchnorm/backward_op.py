"""BatchNorm's backward as an op of its own, so a gradient through the fused BatchNorm
can be differentiated again (``create_graph=True``).

The fused op's backward is a function B: (x, gamma, dy) -> (dx, dgamma, dbeta). Under
``create_graph`` the fused op does not compute B with NumPy and hand back numbers: it
applies ``BatchNormBackward``, an op whose forward *is* B (the first-order kernels of
``math.py``) and whose backward is B's vector-Jacobian product, derived by hand in
``double_backward.py``. The graph then shows one ``batchnorm_backward`` node where the
composite shows a dozen, and a Hessian-vector product through BatchNorm costs two
hand-written kernels instead of autodiff through autodiff.

An op has one output here, so the three results travel packed in one flat array
``[dx.ravel(), dgamma, dbeta]`` and are sliced apart by indexing ops, whose backward puts
each upstream gradient back in its place.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from minigrad.batchnorm.double_backward import fused_double_backward, fused_double_backward_eval
from minigrad.batchnorm.math import BatchStats, fused_backward, fused_backward_eval
from minigrad.tensor import Tensor
from minigrad.tensor.function import Function

__all__ = ["BatchNormBackward", "batch_norm_backward"]


class BatchNormBackward(Function):
    """B: (x, [gamma], dy) -> [dx.ravel(), dgamma, dbeta], and B's hand-derived backward.

    Settings: ``training``; in training the batch statistics of the forward (``centered``
    = x - mean and ``inv_std``), in eval the running statistics (``running_mean``,
    ``running_var``) and the saved ``inv_std``; ``eps``. The statistics in training are
    functions of x: the backward differentiates through them (``fused_double_backward``),
    never treating them as constants.
    """

    name: ClassVar[str] = "batchnorm_backward"
    fused: ClassVar[bool] = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, *rest: np.ndarray, **settings: Any) -> np.ndarray:
        *gamma, dy = rest
        ctx.settings = settings
        g = gamma[0] if gamma else None
        if settings["training"]:
            stats = BatchStats(None, None, settings["inv_std"], settings["centered"])  # type: ignore[arg-type]
            dx, dgamma, dbeta = fused_backward(dy, stats, g)
        else:
            dx, dgamma, dbeta = fused_backward_eval(
                dy, x, settings["running_mean"], settings["inv_std"], g
            )
        ctx.save_for_backward(x, *gamma, dy)
        return np.concatenate([dx.ravel(), dgamma.ravel(), dbeta.ravel()])

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, *gamma, dy = ctx.saved_arrays
        s = ctx.settings
        n, c = x.size, x.shape[1]
        ggx, gggamma, ggbeta = grad[:n].reshape(x.shape), grad[n : n + c], grad[n + c :]
        g = gamma[0] if gamma else None
        if s["training"]:
            stats = BatchStats(None, None, s["inv_std"], s["centered"])  # type: ignore[arg-type]
            gx, ggamma, gdy = fused_double_backward(
                x, g, dy, ggx, gggamma, ggbeta, s["eps"], stats=stats
            )
        else:
            gx, ggamma, gdy = fused_double_backward_eval(
                x, s["running_mean"], s["running_var"], g, dy, ggx, gggamma, ggbeta, s["eps"]
            )
        return (gx, ggamma, gdy) if gamma else (gx, gdy)


def batch_norm_backward(
    x: Tensor, gamma: Tensor | None, dy: Tensor, **settings: Any
) -> tuple[Tensor, Tensor, Tensor]:
    """(dx, dgamma, dbeta) as graph nodes: B applied as an op, then sliced apart."""
    inputs = (x, gamma, dy) if gamma is not None else (x, dy)
    packed = BatchNormBackward.apply(*inputs, **settings)
    n, c = x.data.size, x.shape[1]
    dx = packed[:n].reshape(x.shape)
    return dx, packed[n : n + c], packed[n + c :]

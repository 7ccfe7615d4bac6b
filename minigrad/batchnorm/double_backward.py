"""BatchNorm's double backward, derived by hand: the gradient of the gradient.

The first-order backward of BatchNorm (``math.fused_backward``) is itself a function,

    B: (x, gamma, dy) -> (dx, dgamma, dbeta),

and differentiating a gradient (Hessian-vector products, gradient penalties, Newton
steps) means running B's backward: given upstream gradients of B's three outputs,

    ggx    = dL/d(dx)      (x's shape)
    gggamma = dL/d(dgamma)  (C,)
    ggbeta  = dL/d(dbeta)   (C,)

return the vector-Jacobian product (dL/dx, dL/dgamma, dL/d(dy)). beta does not appear:
B does not depend on it. The two kernels here do that for training mode (batch
statistics, which depend on x: the hard case, and the classic place for a bug is to
treat them as constants) and for eval mode (running statistics: truly constants).

Reading order: ``fused_double_backward`` (the derivation is its docstring),
``fused_double_backward_eval``, then the input checks they share.
"""

from __future__ import annotations

import numpy as np

from minigrad.batchnorm.math import BatchStats, channel_view, check_eps, reduce_axes

__all__ = ["fused_double_backward", "fused_double_backward_eval"]

OP = "batchnorm double backward"


def fused_double_backward(
    x: np.ndarray,
    gamma: np.ndarray | None,
    dy: np.ndarray,
    ggx: np.ndarray | None,
    gggamma: np.ndarray | None,
    ggbeta: np.ndarray | None,
    eps: float,
    *,
    stats: BatchStats | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(dL/dx, dL/dgamma, dL/d(dy)): the backward of BatchNorm's training-mode backward.

    ``gamma`` of None means no affine step (gamma = 1; then dL/dgamma is None). Any of
    ``ggx``, ``gggamma``, ``ggbeta`` may be None, meaning zero. ``stats`` may pass the
    statistics ``math.fused_forward`` saved, to skip recomputing them from x.

    Notation, per channel, with m values, mu and var the batch mean and (biased)
    variance, sigma = sqrt(var + eps), xhat = (x - mu) / sigma, sums over the m values,
    mean(z) = sum(z) / m, and the projection

        P z = z - mean(z) - xhat mean(z xhat)

    The first-order backward (derived in ``math.fused_backward``'s docstring) reads

        dx     = (gamma / sigma) P dy
        dgamma = sum(dy xhat)
        dbeta  = sum(dy)

    Write u = ggx, a = gggamma, b = ggbeta. The scalar whose gradient we want is

        L = sum_i u_i dx_i + a dgamma + b dbeta

    1. dL/d(dy). B is linear in dy, so the answer is the transpose of each map applied
       to its upstream gradient. P is symmetric, P = I - (1/m) 1 1^T - (1/m) xhat xhat^T,
       so sum(u P dy) = sum(dy P u); dgamma = sum(dy xhat) hands a xhat to each dy_i;
       dbeta = sum(dy) hands it b:

        gdy = (gamma / sigma) P u + a xhat + b

    2. dL/dgamma. Only dx depends on gamma, and linearly (dx / gamma = P dy / sigma):

        ggamma = (1 / sigma) sum(u P dy)
               = (1 / sigma) (sum(u dy) - sum(u) sum(dy) / m - sum(u xhat) sum(dy xhat) / m)

       Keep in mind for step 3: sum(u dx) = gamma ggamma.

    3. dL/dx. x reaches L only through xhat and sigma (mu only through them), so first
       take L's partial derivatives with respect to xhat and sigma, everything else held
       fixed, then walk them back through the normalize step as in the first order.

       L spelled out, with xhat and sigma in view:

        L = (gamma / sigma) sum_i u_i (dy_i - mean(dy) - xhat_i mean(dy xhat))
            + a sum(dy xhat) + b sum(dy)

       xhat_j appears in term i = j (as xhat_j) and in every term (inside mean(dy xhat)),
       and in dgamma:

        v_j := dL/dxhat_j = a dy_j - gamma / (m sigma) (u_j sum(dy xhat) + dy_j sum(u xhat))

       sigma appears only as the factor 1 / sigma of dx:

        s := dL/dsigma = -(1 / sigma) sum(u dx) = -(gamma / sigma) ggamma

       Back through normalize. An upstream gradient v on xhat gives, exactly as in the
       first order (``math.fused_backward``, with dxhat = v), (1 / sigma) P v: that walk
       already counts how xhat's own mu and var depend on x. sigma's direct gradient s
       adds one more path: sigma = sqrt(var + eps) and d var / d x_j = 2 (x_j - mu) / m
       (the mu inside var contributes 0: sum(x - mu) = 0), so

        d sigma / d x_j = (x_j - mu) / (m sigma) = xhat_j / m

       and the two paths together:

        gx = (1 / sigma) P v + s xhat / m
           = (1 / sigma) (v - mean(v) - xhat mean(v xhat) - xhat gamma ggamma / m)

    4. What the code computes. Five sums per channel carry everything:

        S_u = sum(u), S_dy = sum(dy), S_ux = sum(u xhat), S_dyx = sum(dy xhat),
        S_udy = sum(u dy)

       With k = gamma / sigma, v is a per-channel mix of dy and u,

        v = p dy + q u,   p = a - k S_ux / m,   q = -k S_dyx / m

       so sum(v) = p S_dy + q S_u and sum(v xhat) = p S_dyx + q S_ux, and::

        ggamma = (S_udy - S_u S_dy / m - S_ux S_dyx / m) / sigma
        gx     = (p dy + q u) / sigma
                 - xhat (p S_dyx + q S_ux + gamma ggamma) / (m sigma)
                 - (p S_dy + q S_u) / (m sigma)
        gdy    = k u + p xhat + (b - k S_u / m)

       (the same p turns up in gdy: P u's xhat term is -xhat S_ux / m). Each big
       output is a per-channel linear combination of the big arrays dy, u and xhat, so
       the code is five reductions, then a few multiply-adds per output; no m x m
       Jacobian, nothing quadratic.
    """
    c = _check(x, gamma, dy, ggx, gggamma, ggbeta, eps, training=True)
    ndim, dtype = x.ndim, x.dtype
    m = x.size // c
    inv_m = dtype.type(1.0 / m)
    if stats is None:
        axes = reduce_axes(ndim)
        mean = x.sum(axis=axes) / dtype.type(m)
        centered = x - channel_view(mean, ndim)
        var = np.einsum(_SUBSCRIPTS[ndim], centered, centered) * inv_m
        inv_std = (1.0 / np.sqrt(var + eps)).astype(dtype, copy=False)
    else:  # the forward's own statistics: they must be x's
        inv_std, centered = stats.inv_std, stats.centered
        if centered.shape != x.shape or inv_std.shape != (c,):
            raise ValueError(
                f"{OP}: stats do not belong to x of shape {tuple(x.shape)} (centered "
                f"{tuple(centered.shape)}, inv_std {tuple(inv_std.shape)})"
            )
    xhat = centered * channel_view(inv_std, ndim)

    g = np.ones(c, dtype=dtype) if gamma is None else gamma
    a = np.zeros(c, dtype=dtype) if gggamma is None else gggamma
    b = np.zeros(c, dtype=dtype) if ggbeta is None else ggbeta
    k = g * inv_std

    s_dy, s_dyx = _sum(dy, ndim), _dot(dy, xhat)
    if ggx is None:  # u = 0: every u-sum vanishes
        s_u = s_ux = ggamma = np.zeros(c, dtype=dtype)
    else:
        s_u, s_ux, s_udy = _sum(ggx, ndim), _dot(ggx, xhat), _dot(ggx, dy)
        ggamma = (s_udy - (s_u * s_dy + s_ux * s_dyx) * inv_m) * inv_std

    p = a - k * s_ux * inv_m  # v = p dy + q u is dL/dxhat
    q = -k * s_dyx * inv_m
    coef_xhat = -(p * s_dyx + q * s_ux + g * ggamma) * inv_m * inv_std
    coef_one = -(p * s_dy + q * s_u) * inv_m * inv_std

    def per_channel(v: np.ndarray) -> np.ndarray:
        return channel_view(v.astype(dtype, copy=False), ndim)

    gx = dy * per_channel(p * inv_std)
    gx += xhat * per_channel(coef_xhat)
    gx += per_channel(coef_one)
    gdy = xhat * per_channel(p)
    gdy += per_channel(b - k * s_u * inv_m)
    if ggx is not None:
        gx += ggx * per_channel(q * inv_std)
        gdy += ggx * per_channel(k)
    return gx, (None if gamma is None else ggamma.astype(dtype, copy=False)), gdy


def fused_double_backward_eval(
    x: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    gamma: np.ndarray | None,
    dy: np.ndarray,
    ggx: np.ndarray | None,
    gggamma: np.ndarray | None,
    ggbeta: np.ndarray | None,
    eps: float,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(dL/dx, dL/dgamma, dL/d(dy)): the backward of BatchNorm's eval-mode backward.

    In eval mode the statistics are the running ones: constants, not functions of x.
    Per channel, sigma_r = sqrt(running_var + eps), xhat = (x - running_mean) / sigma_r,
    and the first-order backward (``math.fused_backward_eval``) is

        dx = gamma dy / sigma_r,   dgamma = sum(dy xhat),   dbeta = sum(dy)

    With u = ggx, a = gggamma, b = ggbeta and L = sum(u dx) + a dgamma + b dbeta:

    1. dL/d(dy): each dy_i enters dx_i (times gamma / sigma_r), dgamma (times xhat_i)
       and dbeta (times 1):

        gdy = gamma u / sigma_r + a xhat + b

    2. dL/dgamma: dx = gamma (dy / sigma_r), linear in gamma:

        ggamma = sum(u dy) / sigma_r

    3. dL/dx: dx and dbeta do not involve x at all; dgamma does, through xhat_i alone,
       with d xhat_i / d x_i = 1 / sigma_r (no mean, no variance to walk through):

        gx = a dy / sigma_r

       So in eval mode the second derivative through x is just a rescaled dy, and u
       never reaches x: the whole coupling of step 3 in ``fused_double_backward`` comes
       from the batch statistics.
    """
    c = _check(x, gamma, dy, ggx, gggamma, ggbeta, eps, training=False)
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        _check_channel_vector(name, stat, x, c)
    ndim, dtype = x.ndim, x.dtype
    inv_std = (1.0 / np.sqrt(running_var + eps)).astype(dtype, copy=False)
    xhat = (x - channel_view(running_mean, ndim)) * channel_view(inv_std, ndim)
    g = np.ones(c, dtype=dtype) if gamma is None else gamma

    if gggamma is None:
        gx = np.zeros_like(x)
        gdy = np.zeros_like(x)
    else:
        gx = dy * channel_view(gggamma * inv_std, ndim)
        gdy = xhat * channel_view(gggamma, ndim)
    if ggbeta is not None:
        gdy += channel_view(ggbeta, ndim)
    if ggx is None:
        ggamma = np.zeros(c, dtype=dtype)
    else:
        gdy += ggx * channel_view(g * inv_std, ndim)
        ggamma = _dot(ggx, dy) * inv_std
    return gx, (None if gamma is None else ggamma.astype(dtype, copy=False)), gdy


# ---------------------------------------------------------------- sums and checks

_SUBSCRIPTS = {2: "nc,nc->c", 3: "ncl,ncl->c"}


def _sum(z: np.ndarray, ndim: int) -> np.ndarray:
    """Per-channel sum of z."""
    return z.sum(axis=reduce_axes(ndim))


def _dot(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-channel sum of p * q, without a temporary the size of p."""
    return np.einsum(_SUBSCRIPTS[p.ndim], p, q)


def _check(
    x: np.ndarray,
    gamma: np.ndarray | None,
    dy: np.ndarray,
    ggx: np.ndarray | None,
    gggamma: np.ndarray | None,
    ggbeta: np.ndarray | None,
    eps: float,
    training: bool,
) -> int:
    """Every argument's type, dtype and shape, before any work; returns C."""
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{OP}: x must be a float32 or float64 ndarray, got {kind}")
    if x.ndim not in (2, 3):
        raise ValueError(f"{OP}: expected 2D (N, C) or 3D (N, C, L) x, got shape {tuple(x.shape)}")
    c = x.shape[1]
    if training and x.size // max(c, 1) <= 1:
        raise ValueError(
            f"{OP}: expected more than 1 value per channel when training, "
            f"got x of shape {tuple(x.shape)}"
        )
    check_eps(OP, eps)
    for name, big in (("dy", dy), ("ggx", ggx)):
        if big is None and name == "ggx":
            continue
        _check_dtype(name, big, x)
        if big.shape != x.shape:
            raise ValueError(
                f"{OP}: {name} must have x's shape {tuple(x.shape)}, got {tuple(big.shape)}"
            )
    for name, small in (("gamma", gamma), ("gggamma", gggamma), ("ggbeta", ggbeta)):
        if small is not None:
            _check_channel_vector(name, small, x, c)
    return c


def _check_dtype(name: str, v: object, x: np.ndarray) -> None:
    if not isinstance(v, np.ndarray):
        raise TypeError(f"{OP}: {name} must be an ndarray, got {type(v).__name__}")
    if v.dtype != x.dtype:
        raise TypeError(f"{OP}: {name} dtype {v.dtype} does not match x dtype {x.dtype}")


def _check_channel_vector(name: str, v: object, x: np.ndarray, c: int) -> None:
    _check_dtype(name, v, x)
    assert isinstance(v, np.ndarray)
    if v.shape != (c,):
        raise ValueError(
            f"{OP}: {name} must have shape ({c},) for x of shape {tuple(x.shape)}, "
            f"got {tuple(v.shape)}"
        )

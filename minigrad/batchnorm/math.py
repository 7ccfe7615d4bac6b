"""BatchNorm as the paper writes it, in NumPy: the math both engines build on.

Ioffe & Szegedy (2015), Algorithm 1, for one feature (channel) over a mini-batch of
m values x_1..x_m (m = N for an (N, C) input, m = N * L for (N, C, L)):

    mu     = 1/m sum_i x_i                      mini-batch mean
    var    = 1/m sum_i (x_i - mu)^2             mini-batch variance (biased)
    xhat_i = (x_i - mu) / sqrt(var + eps)       normalize
    y_i    = gamma * xhat_i + beta              scale and shift

Algorithm 2 (inference) replaces mu and var by running estimates gathered while
training. As in PyTorch, each training step blends them in

    running_mean = (1 - momentum) * running_mean + momentum * mu
    running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)

(the running variance uses the *unbiased* batch variance), and ``momentum=None``
means a plain cumulative average: momentum = 1 / num_batches_tracked.

Reading order of this file:

1. ``transform`` / ``transform_backward``: Algorithm 1 and its gradient, step by step,
   in plain NumPy. This is the reference the tests and the benchmark compare against.
2. The hand derivation of the backward (in ``fused_backward``'s docstring), and the
   two kernels the fused ops run: the same math, arranged to touch memory as few
   times as NumPy allows.
3. Running statistics and the checks every front end (tensor, scalar) shares, so both
   engines reject the same bad input with the same message.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from minigrad.autograd import AnomalyError

__all__ = [
    "BatchStats",
    "Steps",
    "blend_running_stats",
    "channel_view",
    "check_eps",
    "check_input_shape",
    "check_momentum",
    "check_running_stats_finite",
    "check_writable",
    "fused_backward",
    "fused_backward_eval",
    "fused_forward",
    "fused_forward_eval",
    "momentum_factor",
    "reduce_axes",
    "row_blocks",
    "transform",
    "transform_backward",
]


# ---------------------------------------------------------------- shapes


def reduce_axes(ndim: int) -> tuple[int, ...]:
    """The axes a channel's statistics are taken over: N for (N, C), N and L for (N, C, L)."""
    return (0,) if ndim == 2 else (0, 2)


def channel_view(v: np.ndarray, ndim: int) -> np.ndarray:
    """A per-channel vector (C,) shaped to broadcast against an input of ``ndim`` dims."""
    return v if ndim == 2 else v.reshape(-1, 1)


# ---------------------------------------------------------------- 1. Algorithm 1, step by step


class Steps(NamedTuple):
    """Every intermediate of Algorithm 1 (statistics are per channel, shape (C,))."""

    mean: np.ndarray
    var: np.ndarray  # biased: divided by m
    xhat: np.ndarray
    y: np.ndarray


def transform(
    x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, eps: float = 1e-5
) -> Steps:
    """Algorithm 1 on an (N, C) or (N, C, L) array, one line per step of the paper.

    ``gamma``/``beta`` of None mean no affine step (gamma = 1, beta = 0).
    """
    axes = reduce_axes(x.ndim)
    mean = x.mean(axis=axes)  # mini-batch mean
    centered = x - channel_view(mean, x.ndim)
    var = (centered**2).mean(axis=axes)  # mini-batch variance (biased)
    xhat = centered / np.sqrt(channel_view(var, x.ndim) + eps)  # normalize
    y = xhat
    if gamma is not None:
        y = xhat * channel_view(gamma, x.ndim) + channel_view(beta, x.ndim)  # scale and shift
    return Steps(mean, var, xhat, y)


def transform_backward(
    dy: np.ndarray, steps: Steps, gamma: np.ndarray | None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta) for ``transform``, written the way one derives it first.

    This is the "hand-written NumPy" of the benchmark: the simplified formula (derived in
    ``fused_backward``) with no attention paid to temporaries.
    """
    axes = reduce_axes(dy.ndim)
    m = dy.size // steps.mean.size
    g = np.ones_like(steps.mean) if gamma is None else gamma
    sigma = np.sqrt(steps.var + eps)
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * steps.xhat).sum(axis=axes)
    scale = channel_view(g / (m * sigma), dy.ndim)
    dx = scale * (
        m * dy - channel_view(dbeta, dy.ndim) - steps.xhat * channel_view(dgamma, dy.ndim)
    )
    return dx, dgamma, dbeta


# ---------------------------------------------------------------- 2. the fused kernels


class BatchStats(NamedTuple):
    """What the fused forward keeps: the statistics, and what its backward needs."""

    mean: np.ndarray  # (C,)
    var: np.ndarray  # (C,), biased
    inv_std: np.ndarray  # (C,), 1 / sqrt(var + eps)
    centered: np.ndarray  # x - mean, same shape as x: the one big array saved for backward


# Cache blocking. NumPy runs one operation over a whole array before starting the next,
# so a chain of k element-wise operations sweeps main memory k times. Cut the arrays into
# blocks of rows small enough to stay in the CPU's caches and run the whole chain on one
# block before moving to the next: main memory then sees each input read once and each
# output written once per chain, and temporaries shrink to one reusable block. Every
# block costs a few Python-level NumPy calls, so blocks are not tiny: 1 MiB was fastest
# on the machine the benchmark ran on (64 KiB to 4 MiB tried). Arrays of a couple of
# MiB stay in the last-level cache anyway: they are one block.
BLOCK_BYTES = 1024 * 1024
ONE_BLOCK_BYTES = 2 * 1024 * 1024


def row_blocks(x: np.ndarray) -> list[slice]:
    """Slices of x's first axis, each covering about ``BLOCK_BYTES`` of a large x."""
    n = x.shape[0]
    if x.nbytes <= ONE_BLOCK_BYTES:
        return [slice(0, n)]
    rows = max(1, BLOCK_BYTES // max(1, x.nbytes // max(1, n)))
    return [slice(i, min(i + rows, n)) for i in range(0, n, rows)]


def fused_forward(
    x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, eps: float
) -> tuple[np.ndarray, BatchStats]:
    """Algorithm 1 in three sweeps over memory (``transform``, the textbook order, makes seven).

    1. mean = sum(x) / m                              read x
    2. centered = x - mean; sq += sum(centered^2)     read x, write centered (kept for
                                                      backward); the square is summed by
                                                      einsum from the block in cache
    3. y = centered * (gamma / sigma) + beta          read centered, write y

    Steps 2 and 3 run block by block (``row_blocks``). xhat itself is never stored:
    backward needs only ``centered`` and 1/sigma, since xhat = centered / sigma.
    """
    ndim, dtype = x.ndim, x.dtype
    m = x.size // x.shape[1]
    blocks = row_blocks(x)
    subscripts = "nc,nc->c" if ndim == 2 else "ncl,ncl->c"
    mean = x.sum(axis=reduce_axes(ndim)) / dtype.type(m)
    mean_b = channel_view(mean, ndim)
    centered = np.empty_like(x)
    sum_sq = np.zeros(x.shape[1], dtype=dtype)
    for rows in blocks:
        c = np.subtract(x[rows], mean_b, out=centered[rows])
        sum_sq += np.einsum(subscripts, c, c)
    var = sum_sq / dtype.type(m)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(dtype, copy=False)
    scale = channel_view(inv_std if gamma is None else gamma * inv_std, ndim)
    shift = None if beta is None else channel_view(beta, ndim)
    y = np.empty_like(x)
    for rows in blocks:
        y_block = np.multiply(centered[rows], scale, out=y[rows])
        if shift is not None:
            y_block += shift
    return y, BatchStats(mean, var, inv_std, centered)


def fused_backward(
    dy: np.ndarray, stats: BatchStats, gamma: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta) of Algorithm 1, derived by hand.

    Per channel, with m values, sigma = sqrt(var + eps), upstream gradient dy_i.
    Walk Algorithm 1 backwards, one step at a time:

    scale and shift, y_i = gamma xhat_i + beta:
        dbeta   = sum_i dy_i
        dgamma  = sum_i dy_i xhat_i
        dxhat_i = dy_i gamma

    normalize, xhat_i = (x_i - mu) (var + eps)^(-1/2); var is used by every xhat_i:
        dvar    = sum_i dxhat_i (x_i - mu) (-1/2) (var + eps)^(-3/2)
                = -1 / (2 sigma^2) sum_i dxhat_i xhat_i

    mean, used by every xhat_i directly and by var (d var / d mu = -2/m sum_i (x_i - mu) = 0):
        dmu     = sum_i dxhat_i (-1 / sigma) + dvar * 0
                = -1 / sigma sum_i dxhat_i

    each x_i reaches the loss three ways: through xhat_i, through var, through mu:
        dx_i    = dxhat_i / sigma + dvar * 2 (x_i - mu) / m + dmu / m

    Substitute x_i - mu = sigma xhat_i and the two sums:
        dx_i    = 1/sigma (dxhat_i - 1/m sum_j dxhat_j - xhat_i 1/m sum_j dxhat_j xhat_j)

    and dxhat = gamma dy turns the sums into dbeta and dgamma:
        dx      = gamma / (m sigma) * (m dy - sum(dy) - xhat * sum(dy * xhat))
                = gamma / (m sigma) * (m dy - dbeta - xhat * dgamma)

    The code: with centered = sigma xhat and k = gamma / sigma,

        dx = k * dy  +  (centered * (-k dgamma / (m sigma))  +  (-k dbeta / m))

    in two sweeps over memory, block by block (see ``row_blocks``):

    1. dbeta += sum(dy), dot += sum(dy * centered)     read dy, centered
    2. dx = k * dy + (centered * a + b)                 read dy, centered; write dx

    NumPy has no fused multiply-add, so step 2 is four ufunc calls and needs a temporary:
    one block-sized buffer, reused, that never leaves the cache.
    """
    ndim, dtype = dy.ndim, dy.dtype
    axes = reduce_axes(ndim)
    m = dy.size // dy.shape[1]
    inv_std, centered = stats.inv_std, stats.centered
    subscripts = "nc,nc->c" if ndim == 2 else "ncl,ncl->c"
    blocks = row_blocks(dy)
    dbeta = np.zeros(dy.shape[1], dtype=dtype)
    dot = np.zeros(dy.shape[1], dtype=dtype)  # sum(dy * centered) = sigma * dgamma
    for rows in blocks:
        dbeta += dy[rows].sum(axis=axes)
        dot += np.einsum(subscripts, dy[rows], centered[rows])
    dgamma = dot * inv_std
    k = inv_std if gamma is None else gamma * inv_std
    inv_m = dtype.type(1.0 / m)
    a = channel_view(-k * dgamma * inv_std * inv_m, ndim)
    b = channel_view(-k * dbeta * inv_m, ndim)
    k = channel_view(k, ndim)
    dx = np.empty_like(dy)
    buffer = np.empty_like(dy[blocks[0]])
    for rows in blocks:
        dx_block = np.multiply(dy[rows], k, out=dx[rows])
        term = np.multiply(centered[rows], a, out=buffer[: rows.stop - rows.start])
        term += b
        dx_block += term
    return dx, dgamma, dbeta


def fused_forward_eval(
    x: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    eps: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm 2: with fixed statistics, BatchNorm is a per-channel affine map.

    y = x * scale + shift with scale = gamma / sqrt(running_var + eps) and
    shift = beta - running_mean * scale: two passes. Returns (y, inv_std).
    """
    ndim, dtype = x.ndim, x.dtype
    inv_std = (1.0 / np.sqrt(running_var + eps)).astype(dtype, copy=False)
    scale = inv_std if gamma is None else gamma * inv_std
    shift = -running_mean * scale
    if beta is not None:
        shift = shift + beta
    y = np.multiply(x, channel_view(scale.astype(dtype, copy=False), ndim))
    y += channel_view(shift.astype(dtype, copy=False), ndim)
    return y, inv_std


def fused_backward_eval(
    dy: np.ndarray,
    x: np.ndarray,
    running_mean: np.ndarray,
    inv_std: np.ndarray,
    gamma: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta) of Algorithm 2: the statistics are constants, so
    dx = dy * gamma / sigma, dgamma = sum(dy * xhat), dbeta = sum(dy)."""
    ndim = dy.ndim
    axes = reduce_axes(ndim)
    k = inv_std if gamma is None else gamma * inv_std
    dx = np.multiply(dy, channel_view(k, ndim))
    dbeta = dy.sum(axis=axes)
    subscripts = "nc,nc->c" if ndim == 2 else "ncl,ncl->c"
    # x - rm first (a temporary), not sum(dy x) - rm sum(dy): that difference of two
    # large sums cancels catastrophically when the values sit far from zero.
    centered = np.subtract(x, channel_view(running_mean.astype(x.dtype, copy=False), ndim))
    dgamma = np.einsum(subscripts, dy, centered) * inv_std
    return dx, dgamma, dbeta


# ---------------------------------------------------------------- 3. running statistics, checks


def momentum_factor(momentum: float | None, num_batches_tracked: int) -> float:
    """The blending weight of this step's statistics.

    ``momentum=None`` gives a cumulative average: the k-th batch (k = num_batches_tracked,
    already counting this one) gets weight 1/k, so after k batches each has weight 1/k.
    """
    if momentum is None:
        return 1.0 / num_batches_tracked
    return float(momentum)


def blend_running_stats(
    running_mean: np.ndarray,
    running_var: np.ndarray,
    batch_mean: np.ndarray,
    batch_var: np.ndarray,
    m: int,
    factor: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The running estimates after this batch, as new arrays (PyTorch's rule).

    ``batch_var`` is the biased variance; the running variance gets the unbiased one,
    var * m / (m - 1), because at inference it stands for the population's variance.
    Nothing is written here: a caller checks the result, then copies it into the
    buffers (validate, then commit).
    """
    unbiased = batch_var * (m / (m - 1))
    new_mean = running_mean * (1.0 - factor)
    new_mean += factor * batch_mean.astype(running_mean.dtype, copy=False)
    new_var = running_var * (1.0 - factor)
    new_var += factor * unbiased.astype(running_var.dtype, copy=False)
    return new_mean, new_var


def check_running_stats_finite(op: str, new_mean: np.ndarray, new_var: np.ndarray) -> None:
    """Under ``detect_anomaly()``: refuse running statistics that would become NaN or inf."""
    for name, value in (("running_mean", new_mean), ("running_var", new_var)):
        if not np.isfinite(value).all():
            bad = "NaN" if np.isnan(value).any() else "inf"
            raise AnomalyError(
                f"{op}: this batch would make {name} {bad} (detect_anomaly is on); "
                "the running statistics were not updated"
            )


def check_writable(op: str, name: str, buffer: np.ndarray) -> None:
    """A running buffer updated in place must be writable: refuse it before anything runs."""
    if not buffer.flags.writeable:
        raise ValueError(
            f"{op}: {name} (shape {buffer.shape}) is read-only, but training mode updates "
            "it in place; pass a writable array (np.array(..., copy=True)) or None"
        )


def check_eps(op: str, eps: float) -> float:
    """eps must be a positive number: it keeps 1/sqrt(var + eps) finite for a constant feature."""
    if isinstance(eps, bool) or not isinstance(eps, int | float | np.floating):
        raise TypeError(f"{op}: eps must be a number, got {type(eps).__name__} {eps!r}")
    if not eps > 0:
        raise ValueError(f"{op}: eps must be > 0, got {eps!r}")
    return float(eps)


def check_momentum(op: str, momentum: float | None) -> float | None:
    """momentum is None (cumulative average) or a number in [0, 1]."""
    if momentum is None:
        return None
    if isinstance(momentum, bool) or not isinstance(momentum, int | float | np.floating):
        raise TypeError(
            f"{op}: momentum must be a number in [0, 1] or None, got {type(momentum).__name__}"
        )
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{op}: momentum must be in [0, 1] or None, got {momentum!r}")
    return float(momentum)


def check_input_shape(
    op: str, shape: tuple[int, ...], num_features: int | None, training: bool
) -> int:
    """Check an input's shape before anything runs; return m, the values per channel.

    The messages follow PyTorch's, with our shapes.
    """
    if len(shape) not in (2, 3):
        raise ValueError(
            f"{op}: expected 2D (N, C) or 3D (N, C, L) input (got {len(shape)}D input "
            f"of shape {tuple(shape)})"
        )
    if num_features is not None and shape[1] != num_features:
        raise ValueError(
            f"{op}: expected {num_features} features (channels) at dim 1, "
            f"got input of shape {tuple(shape)}"
        )
    m = shape[0] * (shape[2] if len(shape) == 3 else 1)
    if training and m <= 1:
        raise ValueError(
            f"{op}: Expected more than 1 value per channel when training, "
            f"got input size {tuple(shape)}"
        )
    return m

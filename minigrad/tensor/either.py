"""The few array functions a backward needs, for an ndarray and a ``Tensor`` alike.

An op's ``backward`` is written once. The first-order pass calls it with NumPy arrays;
``create_graph=True`` calls it with ``Tensor`` s (the saved inputs and output as graph
nodes), so the gradient it returns is itself a graph that can be differentiated again.
Operators (``+ - * / @ **``), ``.sum``, ``.reshape`` and ``.T`` already work on both;
these helpers cover the rest. Masks (which element was the max, which side of a clip)
are computed on the numbers: they are piecewise constant, their derivative is zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["exp", "expand_dims", "log", "permute", "raw", "scatter", "spread", "where"]


def raw(x: Any) -> np.ndarray:
    """The numbers: a Tensor's data, or the array itself (for masks and shapes)."""
    return x.data if isinstance(x, Tensor) else x


def spread(g: Any, shape: tuple[int, ...]) -> Any:
    """``g`` copied along broadcast axes up to ``shape`` (the backward of a sum)."""
    if isinstance(g, Tensor):
        return shape_ops.Expand.apply(g, shape=shape)
    out = np.empty(shape, dtype=g.dtype)  # a writable copy; faster than broadcast_to for small
    out[...] = g
    return out


def permute(x: Any, dims: Any) -> Any:
    """Axes reordered by ``dims``."""
    if isinstance(x, Tensor):
        return shape_ops.Permute.apply(x, dims=tuple(int(d) for d in dims))
    return x.transpose(dims)


def swap_last(x: Any) -> Any:
    """The last two axes swapped (a batch of matrices transposed)."""
    dims = list(range(x.ndim))
    dims[-1], dims[-2] = dims[-2], dims[-1]
    return permute(x, dims)


def expand_dims(x: Any, axis: int) -> Any:
    """A size-1 axis inserted at ``axis``."""
    return x.unsqueeze(axis) if isinstance(x, Tensor) else np.expand_dims(x, axis)


def exp(x: Any) -> Any:
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def log(x: Any) -> Any:
    return x.log() if isinstance(x, Tensor) else np.log(x)


def where(cond: np.ndarray, x: Any, y: Any) -> Any:
    """``x`` where ``cond`` (numbers, no gradient) else ``y``."""
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        return ops.where(cond, x, y)
    return np.where(cond, x, y)


def scatter(g: Any, shape: tuple[int, ...], basic: Any, key: Any, repeats: bool) -> Any:
    """Zeros of ``shape`` with ``g`` added at ``[basic][key]`` (the backward of indexing)."""
    if isinstance(g, Tensor):
        return shape_ops.IndexBackward.apply(g, shape=shape, basic=basic, key=key, repeats=repeats)
    return shape_ops.scatter_into_zeros(g, shape, basic, key, repeats)


from minigrad.tensor import ops, shape_ops  # noqa: E402
from minigrad.tensor.tensor import Tensor  # noqa: E402

"""Shape ops: they move elements around without changing them, so each backward moves
the gradient back: reshape it back, transpose it back, scatter it back (indexing), split
it (cat), unstack it (stack).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.tensor import either
from minigrad.tensor.function import Function
from minigrad.tensor.reductions import normalize_axes

__all__ = [
    "Cat",
    "Index",
    "Permute",
    "Reshape",
    "Squeeze",
    "Stack",
    "Transpose",
    "Unsqueeze",
    "View",
    "cat",
    "squeeze",
    "stack",
    "transpose",
    "unsqueeze",
]


class Reshape(Function):
    """out = a with a new shape (same elements, same order);  da = g reshaped back."""

    name = "reshape"
    differentiable_backward = True
    formula = ("g.reshape(a.shape)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(
                f"{type(ctx).name}: cannot reshape {a.shape} ({a.size} elements) into {shape}"
            ) from None

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (g.reshape(ctx.in_shape),)


class View(Reshape):
    """``x.view(shape)``: a reshape (NumPy reshapes without copying whenever it can)."""

    name = "view"


class Squeeze(Reshape):
    """Size-1 axes dropped: a reshape."""

    name = "squeeze"


class Unsqueeze(Reshape):
    """A size-1 axis inserted: a reshape."""

    name = "unsqueeze"


class Permute(Function):
    """out = a with its axes reordered by ``dims``;  da = g with the inverse order."""

    name = "permute"
    differentiable_backward = True
    formula = ("g.transpose(inverse of dims)",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        ndim = a.ndim
        if len(dims) != ndim or sorted(d % max(ndim, 1) for d in dims) != list(range(ndim)):
            raise ValueError(
                f"{type(ctx).name}: dims {dims} do not permute the axes of shape {a.shape}"
            )
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (either.permute(g, np.argsort([d % g.ndim for d in ctx.dims])),)


class Transpose(Permute):
    """Two axes swapped (or all reversed, ``.T``): a permutation."""

    name = "transpose"


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    """Swap axes ``dim0`` and ``dim1``."""
    (a,) = normalize_axes("transpose", dim0, x.shape) or (0,)
    (b,) = normalize_axes("transpose", dim1, x.shape) or (0,)
    dims = list(range(x.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return Transpose.apply(x, dims=tuple(dims))


def squeeze(x: Tensor, axis: Any = None) -> Tensor:
    """Drop size-1 axes: all, or those in ``axis`` (other axes there stay, as in PyTorch)."""
    axes = normalize_axes("squeeze", axis, x.shape)
    if axes is None:
        axes = tuple(range(x.ndim))
    shape = tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1))
    return Squeeze.apply(x, shape=shape)


def unsqueeze(x: Tensor, axis: int) -> Tensor:
    """Insert a size-1 axis at position ``axis`` (-1 appends)."""
    if not isinstance(axis, int | np.integer) or not -x.ndim - 1 <= axis <= x.ndim:
        raise IndexError(
            f"unsqueeze: axis {axis!r} is out of range for a tensor of shape {x.shape}"
        )
    axis = int(axis) % (x.ndim + 1)
    return Unsqueeze.apply(x, shape=(*x.shape[:axis], 1, *x.shape[axis:]))


class Index(Function):
    """out = a[key] (ints, slices, None, ..., bool masks, integer arrays);

    da = zeros with g written back where the elements came from. An integer array may
    pick one element several times; ``np.add.at`` then adds every copy's gradient
    (a plain ``da[key] += g`` would keep only one of them).
    """

    name = "index"
    differentiable_backward = True
    formula = ("zeros(a.shape) with g added at key",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, key: Any) -> np.ndarray:
        ctx.in_shape = a.shape
        ctx.basic, ctx.key = _split_key(key)  # a[key] == a[basic][key], PyTorch's order
        parts = ctx.key if isinstance(ctx.key, tuple) else (ctx.key,)
        ctx.repeats = any(
            isinstance(k, list) or (isinstance(k, np.ndarray) and k.dtype.kind in "iu")
            for k in parts
        )
        try:
            return np.asarray(a[ctx.basic][ctx.key])
        except IndexError as error:
            raise IndexError(f"index: {error} (tensor of shape {a.shape})") from None

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (either.scatter(g, ctx.in_shape, ctx.basic, ctx.key, ctx.repeats),)


class Expand(Function):
    """out = a copied along broadcast axes up to ``shape``;  da = g summed back (unbroadcast).

    The backward of a sum; a sum is its backward: the pair differentiates forever.
    """

    name = "expand"
    differentiable_backward = True
    formula = ("sum of g over the copied axes",)

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        out = np.empty(shape, dtype=a.dtype)
        out[...] = a
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (g,)  # the engine sums it back to a's shape (unbroadcast), as for any op


class IndexBackward(Function):
    """out = zeros of ``shape`` with a added at ``[basic][key]`` (indexing's backward);
    da = g[basic][key], indexing again."""

    name = "index_backward"
    differentiable_backward = True
    formula = ("g[key]",)

    @staticmethod
    def forward(
        ctx: Any, a: np.ndarray, shape: tuple[int, ...], basic: Any, key: Any, repeats: bool
    ) -> np.ndarray:
        ctx.basic, ctx.key = basic, key
        return scatter_into_zeros(a, shape, basic, key, repeats)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (g[ctx.basic][ctx.key],)


def scatter_into_zeros(
    g: np.ndarray, shape: tuple[int, ...], basic: Any, key: Any, repeats: bool
) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` added at ``[basic][key]``."""
    out = np.zeros(shape, dtype=g.dtype)
    view = out[basic]  # basic indexing: a view, so writes below land in out
    if repeats:  # an index array may pick one element twice: add every copy's gradient
        np.add.at(view, key, g)
    else:
        view[key] = g
    return out


_EVERYTHING = slice(None)


def _split_key(key: Any) -> tuple[Any, Any]:
    """(basic, rest) with ``a[key]`` equal to ``a[basic][rest]`` in PyTorch's axis order.

    NumPy counts an integer next to an index array as one more index array, and when
    index arrays are separated by a slice it moves their axes to the front:
    ``x[0, :, idx]`` of a (2, 3, 4) array is (len(idx), 3) in NumPy. PyTorch applies the
    integers first, as plain indexing that drops their axes, and indexes the result
    with the arrays: (3, len(idx)). Splitting the key the same way gives PyTorch's
    order; a key without both integers and arrays is left to NumPy whole.
    """
    parts = key if isinstance(key, tuple) else (key,)
    is_int = [isinstance(k, int | np.integer) and not isinstance(k, bool) for k in parts]
    is_array = [isinstance(k, list) or (isinstance(k, np.ndarray) and k.ndim > 0) for k in parts]
    if not (any(is_int) and any(is_array)):
        return (), key
    basic, rest = [], []
    for k, integer, array in zip(parts, is_int, is_array, strict=True):
        if integer:
            basic.append(k)  # its axis is gone: nothing for it in rest
        elif array:
            mask_dims = np.ndim(k) if np.asarray(k).dtype == bool else 1
            basic.extend([_EVERYTHING] * mask_dims)
            rest.append(k)
        else:  # a slice, None or Ellipsis: applied in basic, kept whole in rest
            basic.append(k)
            rest.append(k if k is Ellipsis else _EVERYTHING)
    return tuple(basic), tuple(rest)


class Cat(Function):
    """out = the inputs joined along ``axis``;  each input's gradient is its slice of g."""

    name = "cat"
    differentiable_backward = True
    formula = ("g[slice of a]", "g[slice of b]")

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        (ax,) = normalize_axes("cat", axis, arrays[0].shape) or (0,)
        shapes = [a.shape for a in arrays]
        for s in shapes[1:]:
            if len(s) != len(shapes[0]) or any(
                n != m for i, (n, m) in enumerate(zip(s, shapes[0], strict=False)) if i != ax
            ):
                raise ValueError(f"cat: shapes {shapes[0]} and {s} differ outside axis {ax}")
        ctx.axis = ax
        ctx.splits = np.cumsum([s[ax] for s in shapes])[:-1]
        return np.concatenate(arrays, axis=ax)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, ...]:
        bounds = [0, *ctx.splits, g.shape[ctx.axis]]
        lead = (slice(None),) * ctx.axis
        return tuple(g[(*lead, slice(lo, hi))] for lo, hi in itertools.pairwise(bounds))


class Stack(Function):
    """out = the inputs stacked along a new ``axis``;  input i's gradient is g[..., i, ...]."""

    name = "stack"
    differentiable_backward = True
    formula = ("g[a's index]", "g[b's index]")

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        shape = arrays[0].shape
        for a in arrays[1:]:
            if a.shape != shape:
                raise ValueError(
                    f"stack: every tensor needs the same shape, got {shape} and {a.shape}"
                )
        ndim = len(shape) + 1
        if not -ndim <= axis < ndim:
            raise IndexError(f"stack: axis {axis} is out of range for {ndim}-d result")
        ctx.axis = axis % ndim
        return np.stack(arrays, axis=ctx.axis)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, ...]:
        lead = (slice(None),) * ctx.axis
        return tuple(g[(*lead, i)] for i in range(g.shape[ctx.axis]))


def cat(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (``torch.cat``)."""
    tensors = _tensors("cat", tensors)
    for i, t in enumerate(tensors):
        if t.ndim == 0:  # nothing to join along; NumPy's own message names no op
            raise ValueError(
                f"cat: tensor {i} is zero-dimensional (shape ()) and cannot be concatenated; "
                "use stack, or reshape it to shape (1,)"
            )
    return Cat.apply(*tensors, axis=axis if dim is None else dim)


def stack(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Stack same-shaped tensors along a new axis (``torch.stack``)."""
    tensors = _tensors("stack", tensors)
    return Stack.apply(*tensors, axis=axis if dim is None else dim)


def _tensors(op: str, tensors: Sequence[Any]) -> list[Tensor]:
    if isinstance(tensors, Tensor | np.ndarray) or not len(tensors):
        raise TypeError(f"{op}: expected a non-empty list of tensors")
    return [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]


from minigrad.tensor.tensor import Tensor  # noqa: E402

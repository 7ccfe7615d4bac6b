"""Making tensors: ``tensor`` (a copy of data), ``zeros``, ``ones``, ``randn``, ``rand``,
``arange`` and the ``*_like`` forms, with PyTorch's signatures and default dtypes
(float32 for floats, int64 for integers).

Random tensors take ``rng``, a ``numpy.random.Generator``, for reproducible draws;
without one they draw from the global generator that ``minigrad.manual_seed`` seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.random import default_generator
from minigrad.tensor.tensor import Tensor, _as_array, _real_dtype

__all__ = [
    "arange",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "tensor",
    "zeros",
    "zeros_like",
]


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a *copy* of ``data`` (a number, nested list, array or Tensor)."""
    arr = _as_array(data, dtype, "tensor")
    return Tensor(arr.copy() if arr is _source(data) else arr, requires_grad=requires_grad)


def _source(data: Any) -> Any:
    return data.data if isinstance(data, Tensor) else data


def _shape(shape: tuple[Any, ...], op: str) -> tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` as a tuple of sizes >= 0, or an error naming ``op``."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise TypeError(f"{op}: sizes must be ints >= 0, got shape {shape!r}")
    return tuple(int(n) for n in shape)


def _float_dtype(dtype: Any, op: str) -> np.dtype:
    """A real dtype (bool, int, float), or a TypeError naming ``op``."""
    return _real_dtype(dtype, op, "dtype argument")


def zeros(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    shape_, dtype = _shape(shape, "zeros"), _float_dtype(dtype, "zeros")
    return Tensor(np.zeros(shape_, dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    shape_, dtype = _shape(shape, "ones"), _float_dtype(dtype, "ones")
    return Tensor(np.ones(shape_, dtype=dtype), requires_grad=requires_grad)


def randn(
    *shape: Any,
    dtype: Any = np.float32,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal samples (mean 0, variance 1)."""
    rng = default_generator() if rng is None else rng
    dtype = _random_dtype(dtype, "randn")
    data = rng.standard_normal(_shape(shape, "randn"), dtype=dtype.type)
    return Tensor(data, requires_grad=requires_grad)


def rand(
    *shape: Any,
    dtype: Any = np.float32,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Uniform samples from [0, 1)."""
    rng = default_generator() if rng is None else rng
    dtype = _random_dtype(dtype, "rand")
    data = rng.random(_shape(shape, "rand"), dtype=dtype.type)
    return Tensor(data, requires_grad=requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``start, start + step, ...`` up to (not including) ``end``; ``arange(n)`` is 0..n-1.

    Integers give int64, any float argument float32 (as in PyTorch), unless ``dtype``.
    """
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise TypeError(f"arange: {name} must be a real number, got {type(v).__name__} {v!r}")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, end, step))
        dtype = np.float32 if floats else np.int64
    dtype = _float_dtype(dtype, "arange")
    return Tensor(np.arange(start, end, step, dtype=dtype), requires_grad=requires_grad)


def zeros_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(
        _like_shape(x, "zeros_like"), dtype=dtype or _dtype(x), requires_grad=requires_grad
    )


def ones_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape = _like_shape(x, "ones_like")
    return ones(shape, dtype=dtype or _dtype(x), requires_grad=requires_grad)


def randn_like(
    x: Any, dtype: Any = None, requires_grad: bool = False, rng: np.random.Generator | None = None
) -> Tensor:
    shape = _like_shape(x, "randn_like")
    return randn(shape, dtype=dtype or _dtype(x), requires_grad=requires_grad, rng=rng)


def rand_like(
    x: Any, dtype: Any = None, requires_grad: bool = False, rng: np.random.Generator | None = None
) -> Tensor:
    shape = _like_shape(x, "rand_like")
    return rand(shape, dtype=dtype or _dtype(x), requires_grad=requires_grad, rng=rng)


def _dtype(x: Any) -> np.dtype:
    return x.dtype if isinstance(x, Tensor | np.ndarray) else np.dtype(np.float32)


def _like_shape(x: Any, op: str) -> tuple[int, ...]:
    """The shape of a Tensor or an ndarray (anything else is refused, naming ``op``)."""
    if not isinstance(x, Tensor | np.ndarray):
        raise TypeError(f"{op}: expected a Tensor or an ndarray, got {type(x).__name__}")
    _real_dtype(x.dtype, op, "input")
    return tuple(x.shape)


def _random_dtype(dtype: Any, op: str) -> np.dtype:
    """Random draws are float32 or float64 (NumPy's generators make no other)."""
    dt = _float_dtype(dtype, op)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{op}: dtype must be float32 or float64, got {dt}")
    return dt

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
from minigrad.tensor.tensor import Tensor, _as_array

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
    arr = _as_array(data, dtype)
    return Tensor(arr.copy() if arr is _source(data) else arr, requires_grad=requires_grad)


def _source(data: Any) -> Any:
    return data.data if isinstance(data, Tensor) else data


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


def zeros(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def randn(
    *shape: Any,
    dtype: Any = np.float32,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal samples (mean 0, variance 1)."""
    rng = default_generator() if rng is None else rng
    data = rng.standard_normal(_shape(shape), dtype=np.dtype(dtype).type)
    return Tensor(data, requires_grad=requires_grad)


def rand(
    *shape: Any,
    dtype: Any = np.float32,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Uniform samples from [0, 1)."""
    rng = default_generator() if rng is None else rng
    data = rng.random(_shape(shape), dtype=np.dtype(dtype).type)
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
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, end, step))
        dtype = np.float32 if floats else np.int64
    return Tensor(np.arange(start, end, step, dtype=dtype), requires_grad=requires_grad)


def zeros_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(np.shape(x), dtype=dtype or _dtype(x)), requires_grad=requires_grad)


def ones_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(np.shape(x), dtype=dtype or _dtype(x)), requires_grad=requires_grad)


def randn_like(
    x: Any, dtype: Any = None, requires_grad: bool = False, rng: np.random.Generator | None = None
) -> Tensor:
    return randn(np.shape(x), dtype=dtype or _dtype(x), requires_grad=requires_grad, rng=rng)


def rand_like(
    x: Any, dtype: Any = None, requires_grad: bool = False, rng: np.random.Generator | None = None
) -> Tensor:
    return rand(np.shape(x), dtype=dtype or _dtype(x), requires_grad=requires_grad, rng=rng)


def _dtype(x: Any) -> np.dtype:
    return x.dtype if isinstance(x, Tensor | np.ndarray) else np.dtype(np.float32)

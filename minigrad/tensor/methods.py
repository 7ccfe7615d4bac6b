"""PyTorch's API on a tensor: operators, comparisons, indexing, elementwise functions,
reductions and shape. Each method only spells the API and hands the work to an op in
``ops.py``, ``reductions.py`` or ``shape_ops.py``, where forward and backward stand
side by side. ``Tensor`` (``tensor.py``: the node, its data and its chain rule) inherits
these methods.

``axis``/``dim`` and ``keepdims``/``keepdim`` are synonyms everywhere (NumPy's and
PyTorch's names).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from minigrad.tensor.tensor import Tensor

__all__ = ["TensorMethods", "bind"]

Axis = int | Sequence[int] | None

# The op modules and Tensor build on this class, so they cannot be imported here;
# ``tensor.py`` hands them over once they exist (``bind``). Methods look them up when
# called, never when defined.
ops: Any = None
reductions: Any = None
shape_ops: Any = None
_new_tensor: Any = None  # the Tensor class
_operand: Any = None  # tensor.py's: the other operand of a binary op, as a tensor


def bind(tensor: type, operand: Any, **modules: Any) -> None:
    """Give this module the Tensor class, ``_operand`` and the op modules (see above)."""
    global _new_tensor, _operand, ops, reductions, shape_ops
    _new_tensor, _operand = tensor, operand
    ops, reductions, shape_ops = modules["ops"], modules["reductions"], modules["shape_ops"]


class TensorMethods:
    """The API surface of ``Tensor``: each method delegates to an op."""

    __slots__ = ()

    # ------------------------------------------------------------ operators
    # Each delegates to an op in ops.py, where forward and backward stand side by side.

    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, _operand(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(_operand(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, _operand(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(_operand(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, _operand(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(_operand(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, _operand(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(_operand(other, self), self)

    def __pow__(self, other: Any) -> Tensor:
        if isinstance(other, int | float) and not isinstance(other, bool):
            return ops.PowScalar.apply(self, exponent=other)
        return ops.Pow.apply(self, _operand(other, self))

    def __rpow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(_operand(other, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, _operand(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(_operand(other, self), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    # Comparisons: plain bool tensors, outside the graph (they have no gradient).
    def __lt__(self, other: Any) -> Tensor:
        return _new_tensor(self.data < _raw(other))

    def __le__(self, other: Any) -> Tensor:
        return _new_tensor(self.data <= _raw(other))

    def __gt__(self, other: Any) -> Tensor:
        return _new_tensor(self.data > _raw(other))

    def __ge__(self, other: Any) -> Tensor:
        return _new_tensor(self.data >= _raw(other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _new_tensor(self.data == _raw(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _new_tensor(self.data != _raw(other))

    def __getitem__(self, key: Any) -> Tensor:
        return shape_ops.Index.apply(self, key=_raw_key(key))

    # ------------------------------------------------------------ elementwise functions

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return ops.Clip.apply(self, low=min, high=max)

    clamp = clip

    def pow(self, exponent: Any) -> Tensor:
        """``self ** exponent`` (PyTorch's method form)."""
        return self**exponent

    def all(self) -> Tensor:
        """True when every element is non-zero: a bool tensor, outside the graph."""
        return _new_tensor(np.all(self.data))

    def any(self) -> Tensor:
        """True when some element is non-zero: a bool tensor, outside the graph."""
        return _new_tensor(np.any(self.data))

    def maximum(self, other: Any) -> Tensor:
        return ops.Maximum.apply(self, _operand(other, self))

    def minimum(self, other: Any) -> Tensor:
        return ops.Minimum.apply(self, _operand(other, self))

    # ------------------------------------------------------------ reductions
    # ``axis``/``dim`` and ``keepdims``/``keepdim`` are synonyms (NumPy's and PyTorch's).

    def sum(
        self,
        axis: Axis = None,
        keepdims: bool = False,
        *,
        dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        return reductions.Sum.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    def mean(
        self,
        axis: Axis = None,
        keepdims: bool = False,
        *,
        dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        return reductions.Mean.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    def var(
        self,
        axis: Axis = None,
        unbiased: bool | None = None,
        keepdims: bool = False,
        *,
        correction: int | None = None,
        dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """Variance; ``correction=1`` (the default, ``unbiased=True``) divides by N - 1."""
        if correction is None:
            correction = 0 if unbiased is False else 1
        elif unbiased is not None:
            raise ValueError("var: give unbiased or correction, not both")
        return reductions.Var.apply(
            self, axis=_axis(axis, dim), correction=correction, keepdims=_keep(keepdims, keepdim)
        )

    def max(
        self,
        axis: Axis = None,
        keepdims: bool = False,
        *,
        dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        return reductions.Max.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    def min(
        self,
        axis: Axis = None,
        keepdims: bool = False,
        *,
        dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        return reductions.Min.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    def argmax(
        self,
        axis: int | None = None,
        keepdims: bool = False,
        *,
        dim: int | None = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """Index of the largest element (of the flattened tensor if no axis); no gradient."""
        return reductions.argmax(self, _axis(axis, dim), _keep(keepdims, keepdim))

    def argmin(
        self,
        axis: int | None = None,
        keepdims: bool = False,
        *,
        dim: int | None = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        return reductions.argmin(self, _axis(axis, dim), _keep(keepdims, keepdim))

    def logsumexp(
        self,
        axis: Axis = None,
        keepdims: bool = False,
        *,
        dim: Axis = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        return reductions.LogSumExp.apply(
            self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim)
        )

    def softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """exp(x) / sum(exp(x)) along ``axis`` (default: the last)."""
        axis = _axis(axis, dim)
        return reductions.Softmax.apply(self, axis=-1 if axis is None else axis)

    def log_softmax(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """x - logsumexp(x) along ``axis`` (default: the last)."""
        axis = _axis(axis, dim)
        return reductions.LogSoftmax.apply(self, axis=-1 if axis is None else axis)

    # ------------------------------------------------------------ shape

    def reshape(self, *shape: Any) -> Tensor:
        return shape_ops.Reshape.apply(self, shape=_shape_arg(shape))

    def view(self, *shape: Any) -> Tensor:
        return shape_ops.View.apply(self, shape=_shape_arg(shape))

    def flatten(self) -> Tensor:
        return shape_ops.Reshape.apply(self, shape=(-1,))

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two axes (the last two by default)."""
        return shape_ops.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> Tensor:
        return shape_ops.Permute.apply(self, dims=_shape_arg(dims))

    @property
    def T(self) -> Tensor:
        """All axes reversed, as NumPy's ``.T``."""
        return shape_ops.Transpose.apply(self, dims=tuple(range(self.data.ndim - 1, -1, -1)))

    def squeeze(self, axis: Axis = None, *, dim: Axis = None) -> Tensor:
        return shape_ops.squeeze(self, _axis(axis, dim))

    def unsqueeze(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        return shape_ops.unsqueeze(self, _axis(axis, dim))


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, TensorMethods) else x


def _raw_key(key: Any) -> Any:
    if isinstance(key, tuple):
        return tuple(_raw(k) for k in key)
    return _raw(key)


def _axis(axis: Any, dim: Any) -> Any:
    """NumPy's ``axis`` or PyTorch's ``dim``: the same thing under two names."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"give axis or dim, not both (axis={axis!r}, dim={dim!r})")
        return dim
    return axis


def _keep(keepdims: bool, keepdim: bool | None) -> bool:
    return bool(keepdims if keepdim is None else keepdim)


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` both mean (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)

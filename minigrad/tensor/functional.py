"""PyTorch's function forms: ``mg.exp(x)``, ``mg.sum(x, dim=1)``, ``mg.softmax(x, dim=1)``.

PyTorch offers most tensor methods also as functions of the ``torch`` module; a
PyTorch user writes either. Here each function is the method of the same name, called
on its first argument, so the two forms cannot drift apart: ``mg.sum(x, dim=1)`` is
``x.sum(dim=1)``, with every argument the method takes. ``Clone`` is the one new op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.tensor.function import Function
from minigrad.tensor.tensor import Tensor

__all__ = [
    "Clone",
    "abs",
    "argmax",
    "argmin",
    "clamp",
    "clone",
    "exp",
    "flatten",
    "from_numpy",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "mean",
    "permute",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "sum",
    "tanh",
    "transpose",
    "unsqueeze",
    "var",
]


class Clone(Function):
    """out = a copy of a;  da = g (a copy passes its gradient through unchanged)."""

    name = "clone"

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        return a.copy()

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        return (g,)


def _method_as_function(name: str) -> Callable[..., Tensor]:
    """``name(input, *args, **kwargs)`` = ``input.name(*args, **kwargs)``."""

    def function(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}"
            )
        return getattr(Tensor, name)(input, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``{name}(x, ...)`` is ``x.{name}(...)``: see ``Tensor.{name}``."
    return function


# PyTorch's names; abs, pow and sum shadow Python's builtins in this module, which uses none
# elementwise
abs = _method_as_function("abs")
exp = _method_as_function("exp")
log = _method_as_function("log")
sqrt = _method_as_function("sqrt")
tanh = _method_as_function("tanh")
sigmoid = _method_as_function("sigmoid")
relu = _method_as_function("relu")
clamp = _method_as_function("clamp")
pow = _method_as_function("pow")
clone = _method_as_function("clone")
# reductions
sum = _method_as_function("sum")
mean = _method_as_function("mean")
var = _method_as_function("var")
logsumexp = _method_as_function("logsumexp")
argmax = _method_as_function("argmax")
argmin = _method_as_function("argmin")
softmax = _method_as_function("softmax")
log_softmax = _method_as_function("log_softmax")
# shapes
reshape = _method_as_function("reshape")
flatten = _method_as_function("flatten")
transpose = _method_as_function("transpose")
permute = _method_as_function("permute")
squeeze = _method_as_function("squeeze")
unsqueeze = _method_as_function("unsqueeze")


def matmul(input: Tensor, other: Any) -> Tensor:
    """``input @ other``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"matmul(): argument 'input' must be a Tensor, not {type(input).__name__}")
    return input @ other


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype (``torch.from_numpy``)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    return Tensor(array)

"""Layers: ``Linear``, the activations, ``Dropout``, ``Identity``, ``Flatten``.

Each is a ``Module`` holding its settings (and parameters, for ``Linear``) whose
``forward`` calls the matching function in ``minigrad.nn.functional``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module, Parameter, _check_dtype
from minigrad.tensor import Tensor

__all__ = ["Dropout", "Flatten", "Identity", "Linear", "ReLU", "Sigmoid", "Tanh"]


class Linear(Module):
    """``y = x @ weight.T + bias``: ``in_features`` inputs to ``out_features`` outputs.

    ``weight`` has shape (out_features, in_features) and ``bias`` (out_features,), as
    in PyTorch, and both start as U(-1/sqrt(in_features), 1/sqrt(in_features)) (what
    PyTorch's kaiming_uniform with a=sqrt(5) works out to; see ``minigrad.nn.init``).
    ``rng``: a NumPy Generator or a seed, for a reproducible initialization.
    ``dtype``: float32 (default) or float64; the input must have the same dtype.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = None,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {n!r}")
        dt = _check_dtype("Linear", np.float32 if dtype is None else dtype)
        generator = F.as_generator(rng)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dt))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=generator)
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dt))
            bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
            init.uniform_(self.bias, -bound, bound, rng=generator)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias, _op="Linear")

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """``max(x, 0)``, element by element."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(Module):
    """``tanh(x)``, element by element."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, element by element."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Identity(Module):
    """Returns its input: a placeholder where a layer is optional."""

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Merge axes ``start_dim`` to ``end_dim`` into one: (N, 1, 28, 28) -> (N, 784)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        ndim = max(x.ndim, 1)
        start, end = self.start_dim % ndim, self.end_dim % ndim
        if not (-ndim <= self.start_dim < ndim and -ndim <= self.end_dim < ndim) or start > end:
            raise ValueError(
                f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do not fit "
                f"input shape {tuple(x.shape)}"
            )
        shape = tuple(x.shape)
        merged = int(np.prod(shape[start : end + 1]))
        return x.reshape(*shape[:start], merged, *shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """During training, zero each element with probability ``p`` and scale the rest by 1/(1-p).

    In eval mode it is the identity. The masks come from the module's own Generator,
    made from ``rng`` (a seed or a Generator), so a seeded model drops the same units
    on every run; without ``rng`` they come from the global generator at each call, as in
    PyTorch (``minigrad.manual_seed``).
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.p = F.check_probability("Dropout", p)
        self.rng = None if rng is None else F.as_generator(rng)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"

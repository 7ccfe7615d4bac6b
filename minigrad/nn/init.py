"""Initializers: fill a parameter's data in place, drawing from a NumPy Generator.

PyTorch's ``Linear`` draws its weight with ``kaiming_uniform_(w, a=sqrt(5))``. The
Kaiming bound is ``gain * sqrt(3 / fan_in)`` with the leaky-ReLU gain
``sqrt(2 / (1 + a^2))``; for a = sqrt(5) that is ``sqrt(1/3) * sqrt(3 / fan_in) =
1 / sqrt(fan_in)``. So both the weight and the bias start as U(-1/sqrt(in), 1/sqrt(in)).
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["fan_in_and_fan_out", "kaiming_uniform_", "uniform_", "zeros_"]


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(inputs, outputs) feeding one unit of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(
            "fan_in_and_fan_out: needs a weight with at least 2 dimensions, "
            f"got shape {tensor.shape}"
        )
    receptive = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def uniform_(tensor: Tensor, low: float, high: float, rng: np.random.Generator) -> Tensor:
    """Fill ``tensor`` with draws from U(low, high), in place (keeps its dtype)."""
    tensor.data[...] = rng.uniform(low, high, size=tensor.shape)
    return tensor


def kaiming_uniform_(tensor: Tensor, a: float, rng: np.random.Generator) -> Tensor:
    """U(-bound, bound) with ``bound = sqrt(2 / (1 + a^2)) * sqrt(3 / fan_in)`` (He et al. 2015)."""
    fan_in, _ = fan_in_and_fan_out(tensor)
    gain = math.sqrt(2.0 / (1.0 + a * a))
    bound = gain * math.sqrt(3.0 / fan_in) if fan_in else 0.0
    return uniform_(tensor, -bound, bound, rng)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with zeros, in place."""
    tensor.data[...] = 0
    return tensor

"""``compare_batchnorm(order=2)``: the comparison of gradients, one order up.

Order 2 compares the gradient of h = <u, dL/d(x, gamma, beta)>, where the first-order
gradients are built with ``create_graph`` and u is a fixed random direction: by
autodiff through the composite's backward, by the fused op's hand-derived double
backward, by central differences of the first-order gradient, and by PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["along_gradient", "torch_double_backward"]


def along_gradient(f: Any, upstream: np.ndarray, directions: list[np.ndarray]) -> Any:
    """h(x, gamma, beta) = <u, d(upstream . f)/d(x, gamma, beta)>, its gradient a graph."""
    from minigrad.autograd import enable_grad, grad
    from minigrad.tensor import Tensor

    def h(*inputs: Any) -> Any:
        with enable_grad():  # central differences call this inside no_grad
            y = f(*inputs)
            gs = grad(y, list(inputs), grad_outputs=Tensor(upstream), create_graph=True)
            total = (inputs[0] * 0.0).sum()  # every input stays in the graph
            for g_i, u_i in zip(gs, directions, strict=True):
                total = total + (g_i * Tensor(u_i)).sum()
            return total

    return h


def torch_double_backward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    eps: float,
    upstream: np.ndarray,
    directions: list[np.ndarray],
) -> list[np.ndarray] | None:
    """PyTorch's gradient of the same h, or None where PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    leaves = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    y = torch.nn.functional.batch_norm(
        leaves[0], None, None, leaves[1], leaves[2], training=True, eps=eps
    )
    gs = torch.autograd.grad(y, leaves, torch.tensor(upstream), create_graph=True)
    h = sum((g * torch.tensor(u)).sum() for g, u in zip(gs, directions, strict=True))
    second = torch.autograd.grad(h, leaves, allow_unused=True)
    return [
        np.zeros(np.shape(a)) if s is None else s.detach().numpy()
        for s, a in zip(second, (x, gamma, beta), strict=True)
    ]

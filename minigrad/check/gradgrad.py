"""Checking second derivatives: ``gradgradcheck``.

A gradient computed with ``create_graph=True`` is itself a function of the inputs, so
it can be checked the way any function is. With fixed random weights v (on the
output) and u (one per input), let

    h(x) = sum_i < d(v . f)/dx_i , u_i >

``h`` is computed by the engine's *first-order* backward; its gradient dh/dx is the
*second-order* vector-Jacobian product, computed by backward through the backward.
``gradgradcheck`` runs ``gradcheck`` on ``h``: central differences of the analytic
first derivative against the analytic second derivative, in float64, worst element
reported. Third and higher orders: apply it to a function that returns a gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import enable_grad, grad, no_grad
from minigrad.check.gradcheck import (
    GradcheckReport,
    _as_list,
    _check_inputs,
    _weight_for,
    gradcheck,
)

__all__ = ["gradgradcheck"]


def gradgradcheck(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> GradcheckReport:
    """Compare the second-order gradient of ``f`` at ``inputs`` with central differences
    of its first-order gradient (float64; both engines; see the module docstring).

    Returns a ``GradcheckReport`` (the worst element over all inputs); raises
    ``GradcheckError`` when an element is off by more than ``atol + rtol * |numerical|``
    (unless ``raise_on_failure=False``). An op whose backward cannot be differentiated
    raises its ``RuntimeError`` naming the op.
    """
    inputs = _as_list(inputs)
    _check_inputs(inputs)  # leaves of float64 only: checked before anything runs
    with no_grad():
        v = _weight_for(f(*inputs), seed)
    rng = np.random.default_rng(seed + 1)
    u = [rng.standard_normal(np.shape(x.data)) for x in inputs]

    def first_derivative_along_u(*xs: Any) -> Any:
        with enable_grad():  # central differences call this inside no_grad
            y = f(*xs)
            seed_grad = None if v is None else type(y)(v.astype(np.asarray(y.data).dtype))
            gs = grad(y, list(xs), grad_outputs=seed_grad, create_graph=True, allow_unused=True)
            total: Any = 0.0
            for g, ui, x in zip(gs, u, xs, strict=True):
                if g is not None:
                    term = (g * ui).sum() if hasattr(g, "sum") else g * float(ui)
                    total = term if isinstance(total, float) else total + term
                # keep every input in the graph: where h does not depend on it, dh/dx is 0
                zero = (x * 0.0).sum() if hasattr(x, "sum") else x * 0.0
                total = zero if isinstance(total, float) else total + zero
            return total

    return gradcheck(
        first_derivative_along_u, inputs, eps, atol, rtol, seed, raise_on_failure=raise_on_failure
    )

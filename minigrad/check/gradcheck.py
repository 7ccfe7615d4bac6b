"""Checking gradients: the analytic gradient against central differences, in float64.

``gradcheck(f, inputs)`` works for both engines: ``inputs`` are leaves (``Value`` s or
float64 ``Tensor`` s) and ``f(*inputs)`` returns a ``Value`` or a ``Tensor``. A
non-scalar output is reduced to the scalar ``L = sum(w * f(...))`` with a fixed random
``w``, so every output element is checked through one vector-Jacobian product.

Central difference for element x_i:  dL/dx_i ~ (L(x_i + eps) - L(x_i - eps)) / (2 eps),
with error O(eps^2); with eps = 1e-6 in float64 that is about 1e-10 relative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.autograd import no_grad

__all__ = ["GradcheckError", "GradcheckReport", "analytic_grads", "gradcheck", "numerical_grads"]


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with central differences."""


@dataclass
class GradcheckReport:
    """What ``gradcheck`` found: the worst element over all inputs."""

    max_abs_error: float
    max_rel_error: float
    worst_input: int  # index into ``inputs``
    worst_index: tuple[int, ...]  # element of that input (() for a scalar)
    analytic: list[np.ndarray] = field(repr=False)
    numerical: list[np.ndarray] = field(repr=False)

    def __str__(self) -> str:
        i, idx = self.worst_input, self.worst_index
        a = self.analytic[i][idx] if self.analytic else float("nan")
        n = self.numerical[i][idx] if self.numerical else float("nan")
        return (
            f"max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g} "
            f"at input {i} element {idx}: analytic {a:.10g}, numerical {n:.10g}"
        )


def _as_list(inputs: Any) -> list[Any]:
    return list(inputs) if isinstance(inputs, list | tuple) else [inputs]


def _get(x: Any) -> np.ndarray:
    """A leaf's data as a float64 array (a view for tensors, a 0-d copy for Values)."""
    data = x.data
    if isinstance(data, np.ndarray):
        if data.dtype != np.float64:
            raise TypeError(
                f"gradcheck: inputs must be float64 for central differences, got {data.dtype}"
            )
        return data
    return np.array(float(data))


def _set(x: Any, arr: np.ndarray) -> None:
    if isinstance(x.data, np.ndarray):
        x.data[...] = arr
    else:
        x.data = float(arr)


def _scalar(out: Any, weight: np.ndarray | None) -> float:
    data = np.asarray(out.data, dtype=np.float64)
    return float(data) if weight is None else float((data * weight).sum())


def _weight_for(out: Any, seed: int) -> np.ndarray | None:
    shape = np.shape(out.data)
    if shape == ():
        return None
    return np.random.default_rng(seed).standard_normal(shape)


def numerical_grads(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    weight: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Central-difference gradients of ``sum(weight * f(*inputs))`` with respect to each input."""
    grads = []
    with no_grad():
        for x in inputs:
            base = _get(x).copy()
            g = np.zeros_like(base)
            for idx in np.ndindex(base.shape):
                probe = base.copy()
                probe[idx] = base[idx] + eps
                _set(x, probe)
                up = _scalar(f(*inputs), weight)
                probe[idx] = base[idx] - eps
                _set(x, probe)
                down = _scalar(f(*inputs), weight)
                g[idx] = (up - down) / (2 * eps)
            _set(x, base)
            grads.append(g)
    return grads


def analytic_grads(
    f: Callable[..., Any], inputs: Sequence[Any], weight: np.ndarray | None
) -> list[np.ndarray]:
    """Gradients of ``sum(weight * f(*inputs))`` by the engine's own backward pass."""
    for x in inputs:
        x.grad = None if isinstance(x.data, np.ndarray) else 0.0
    out = f(*inputs)
    if weight is None:
        out.backward()
    else:
        out.backward(weight.astype(np.asarray(out.data).dtype))
    result = []
    for x in inputs:
        g = x.grad
        result.append(np.zeros(np.shape(x.data)) if g is None else np.array(g, dtype=np.float64))
    return result


def gradcheck(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> GradcheckReport:
    """Compare the analytic gradient of ``f`` at ``inputs`` with central differences.

    An element passes when ``|analytic - numerical| <= atol + rtol * |numerical|``.
    Returns a ``GradcheckReport``; raises ``GradcheckError`` naming the worst element
    when any element fails (unless ``raise_on_failure=False``). Inputs are left as they were.
    """
    inputs = _as_list(inputs)
    for x in inputs:
        _get(x)  # dtype check before anything runs
    with no_grad():
        weight = _weight_for(f(*inputs), seed)
    analytic = analytic_grads(f, inputs, weight)
    numerical = numerical_grads(f, inputs, eps, weight)

    worst = (0.0, 0.0, 0, ())
    failed = False
    for i, (a, n) in enumerate(zip(analytic, numerical, strict=True)):
        if a.size == 0:
            continue
        abs_err = np.abs(a - n)
        rel_err = abs_err / np.maximum(np.abs(n), 1e-300)
        failed |= bool((abs_err > atol + rtol * np.abs(n)).any())
        k = np.unravel_index(int(np.argmax(abs_err)), a.shape)
        if abs_err[k] >= worst[0]:
            worst = (float(abs_err[k]), float(rel_err[k]), i, tuple(int(j) for j in k))
    report = GradcheckReport(worst[0], worst[1], worst[2], worst[3], analytic, numerical)
    if failed and raise_on_failure:
        raise GradcheckError(f"gradcheck failed: {report}")
    return report

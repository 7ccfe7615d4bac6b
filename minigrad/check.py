"""Checking gradients: the analytic gradient against central differences, in float64.

``gradcheck(f, inputs)`` works for both engines: ``inputs`` are leaves (``Value`` s or
float64 ``Tensor`` s) and ``f(*inputs)`` returns a ``Value`` or a ``Tensor``. A
non-scalar output is reduced to the scalar ``L = sum(w * f(...))`` with a fixed random
``w``, so every output element is checked through one vector-Jacobian product.

Central difference for element x_i:  dL/dx_i ~ (L(x_i + eps) - L(x_i - eps)) / (2 eps),
with error O(eps^2); with eps = 1e-6 in float64 that is about 1e-10 relative.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.autograd import no_grad, run_backward, topological_order

__all__ = [
    "GradComparison",
    "GradcheckError",
    "GradcheckReport",
    "compare_grads",
    "gradcheck",
    "numerical_grads",
]


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


def _check_inputs(inputs: list[Any]) -> None:
    """Every input is a leaf ``Value`` or a float64 ``Tensor``; refuse anything else here."""
    from minigrad.scalar.value import Value
    from minigrad.tensor.tensor import Tensor

    for i, x in enumerate(inputs):
        if not isinstance(x, Value | Tensor):
            raise TypeError(
                f"gradcheck: input {i} is a {type(x).__name__}, not a Value or a Tensor "
                "(wrap an array: Tensor(np.asarray(a, dtype=np.float64), requires_grad=True))"
            )
        if isinstance(x, Tensor) and (
            not isinstance(x.data, np.ndarray) or x.data.dtype != np.float64
        ):
            dtype = getattr(x.data, "dtype", type(x.data).__name__)
            raise TypeError(
                f"gradcheck: inputs must be float64 for central differences, input {i} "
                f"(shape {x.shape}) has dtype {dtype}"
            )


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
            try:
                for idx in np.ndindex(base.shape):
                    probe = base.copy()
                    probe[idx] = base[idx] + eps
                    _set(x, probe)
                    up = _scalar(f(*inputs), weight)
                    probe[idx] = base[idx] - eps
                    _set(x, probe)
                    down = _scalar(f(*inputs), weight)
                    g[idx] = (up - down) / (2 * eps)
            finally:  # the input gets its value back even when f raises
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
    _check_inputs(inputs)  # before anything runs
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


# ---------------------------------------------------------------- two implementations, one table


@dataclass
class GradComparison:
    """What ``compare_grads`` found for two implementations of the same function.

    ``outputs`` and each entry of ``grads`` are pairs (first implementation, second),
    as float64 arrays shaped like the output / the input; ``numerical`` (when asked for)
    holds the central-difference gradient of each input; ``roots`` are the two outputs
    of the last run, with the graph behind them and its gradients filled in.
    """

    outputs: tuple[np.ndarray, np.ndarray]
    grads: list[tuple[np.ndarray, np.ndarray]]
    upstream: np.ndarray
    numerical: list[np.ndarray] | None
    times: tuple[float, float]  # seconds, forward + backward, best of ``repeat``
    roots: tuple[Any, Any] = field(repr=False)

    @property
    def max_abs_diffs(self) -> list[float]:
        """max |first - second| of each input's gradient."""
        return [_max_abs(a - b) for a, b in self.grads]

    @property
    def max_output_diff(self) -> float:
        return _max_abs(self.outputs[0] - self.outputs[1])

    @property
    def max_abs_diff(self) -> float:
        """The largest difference anywhere: outputs and every gradient."""
        return max([self.max_output_diff, *self.max_abs_diffs])

    def max_numerical_diffs(self, which: int) -> list[float]:
        """max |implementation ``which`` (0 or 1) - central differences| per input."""
        if self.numerical is None:
            raise ValueError(
                "compare_grads: run with numerical=True to compare with central differences"
            )
        return [_max_abs(g[which] - n) for g, n in zip(self.grads, self.numerical, strict=True)]


def _max_abs(a: np.ndarray) -> float:
    return float(np.abs(a).max()) if a.size else 0.0


def _is_node(x: Any) -> bool:
    return hasattr(x, "_prev") and hasattr(x, "data")


def _flat_nodes(x: Any) -> tuple[list[Any], tuple[int, ...]]:
    """The value nodes of ``x`` (a node or a nested list of scalar nodes) and its shape.

    A tensor node is one node whose data has a shape; a nested list of ``Value`` s is
    many nodes whose shape is the nesting.
    """
    if _is_node(x):
        return [x], np.shape(x.data)
    items = list(x)
    if not items:
        return [], (0,)
    parts = [_flat_nodes(item) for item in items]
    inner = parts[0][1]
    if any(shape != inner for _, shape in parts):
        raise ValueError("compare_grads: a nested list of values must be rectangular")
    return [n for nodes, _ in parts for n in nodes], (len(items), *inner)


def _data_of(x: Any) -> np.ndarray:
    nodes, shape = _flat_nodes(x)
    if len(nodes) == 1 and _is_node(x):
        return np.array(x.data, dtype=np.float64)
    return np.array([n.data for n in nodes], dtype=np.float64).reshape(shape)


def _grad_of(x: Any) -> np.ndarray:
    nodes, shape = _flat_nodes(x)
    if len(nodes) == 1 and _is_node(x):
        g = x.grad
        return np.zeros(np.shape(x.data)) if g is None else np.array(g, dtype=np.float64)
    return np.array([float(n.grad or 0.0) for n in nodes], dtype=np.float64).reshape(shape)


def _zero_leaf_grads(x: Any) -> None:
    for n in _flat_nodes(x)[0]:
        n.grad = None if isinstance(n.data, np.ndarray) else 0.0


def _set_data(x: Any, arr: np.ndarray) -> None:
    if _is_node(x):
        _set(x, arr)
        return
    for node, value in zip(_flat_nodes(x)[0], arr.reshape(-1), strict=True):
        node.data = float(value)


def _backward_from(out: Any, upstream: np.ndarray) -> None:
    """Backpropagate ``upstream`` (shaped like the output) from ``out``.

    One tensor or value: its own ``backward``. A nested list of values (many roots):
    seed each root with its share and run the shared driver over all of them at once.
    """
    if _is_node(out):
        if isinstance(out.data, np.ndarray):
            out.backward(upstream.astype(out.data.dtype))
        else:
            out.backward(float(upstream))
        return
    roots, _ = _flat_nodes(out)
    order = topological_order(roots)
    for node in order:
        if node._prev:  # intermediates hold this pass's gradient only
            node.grad = 0.0
    for root, g in zip(roots, upstream.reshape(-1), strict=True):
        root.grad += float(g)
    run_backward(order)


def compare_grads(
    f1: Callable[..., Any],
    f2: Callable[..., Any],
    inputs: Sequence[Any],
    upstream: np.ndarray | None = None,
    seed: int = 0,
    numerical: bool = False,
    eps: float = 1e-6,
    repeat: int = 1,
) -> GradComparison:
    """Run two implementations of one function on the same inputs and upstream gradient.

    ``f1(*inputs)`` and ``f2(*inputs)`` must return outputs of one shape: a tensor, a
    value, or a nested list of values. Each input is a leaf tensor, a leaf value, or a
    nested list of leaf values. ``upstream`` is dL/d(output) (random from ``seed`` when
    None). Each implementation runs forward and backward ``repeat`` times (the best time
    is kept); with ``numerical=True`` the central-difference gradient of
    ``sum(upstream * f1(*inputs))`` is computed too (inputs must then be float64).
    Leaves keep the gradient of the second implementation.
    """
    inputs = list(inputs)
    with no_grad():
        out_shape = _data_of(f1(*inputs)).shape
    if upstream is None:
        upstream = np.random.default_rng(seed).standard_normal(out_shape)
    upstream = np.asarray(upstream, dtype=np.float64)
    if upstream.shape != out_shape:
        raise ValueError(
            f"compare_grads: upstream has shape {upstream.shape}, the output has shape {out_shape}"
        )

    results = []
    for f in (f1, f2):
        best = float("inf")
        for _ in range(max(1, repeat)):
            for x in inputs:
                _zero_leaf_grads(x)
            start = time.perf_counter()
            out = f(*inputs)
            _backward_from(out, upstream)
            best = min(best, time.perf_counter() - start)
        out_data = _data_of(out)
        if out_data.shape != out_shape:
            raise ValueError(
                "compare_grads: the two implementations give shapes "
                f"{out_shape} and {out_data.shape}"
            )
        results.append((out, out_data, [_grad_of(x) for x in inputs], best))

    numeric = None
    if numerical:
        numeric = []
        with no_grad():
            for x in inputs:
                base = _data_of(x)
                g = np.zeros_like(base)
                for idx in np.ndindex(base.shape):
                    probe = base.copy()
                    probe[idx] = base[idx] + eps
                    _set_data(x, probe)
                    up = float((_data_of(f1(*inputs)) * upstream).sum())
                    probe[idx] = base[idx] - eps
                    _set_data(x, probe)
                    down = float((_data_of(f1(*inputs)) * upstream).sum())
                    g[idx] = (up - down) / (2 * eps)
                _set_data(x, base)
                numeric.append(g)

    (r1, y1, g1, t1), (r2, y2, g2, t2) = results
    return GradComparison(
        outputs=(y1, y2),
        grads=list(zip(g1, g2, strict=True)),
        upstream=upstream,
        numerical=numeric,
        times=(t1, t2),
        roots=(r1, r2),
    )

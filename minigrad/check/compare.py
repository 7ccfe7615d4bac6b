"""Two implementations of one function, one table: outputs and gradients side by side.

``compare_grads(f1, f2, inputs)`` runs both on the same inputs and the same upstream
gradient dL/dy, and keeps each input's gradient from each, element by element. It works
for a tensor, a scalar ``Value`` or a nested list of ``Value`` s (many roots at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.autograd import no_grad, run_backward, topological_order
from minigrad.check.gradcheck import _set

__all__ = ["GradComparison", "compare_grads"]


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

"""``ScalarFunction``: a scalar op with many inputs and outputs whose backward is written
by hand (the fused BatchNorm over a batch of m numbers), as one node in the graph.

In the graph the op is one ``_OpNode`` between its inputs and its outputs; each output
is a ``_FusedOutput`` (a ``Value``) whose backward hands its gradient to the op node.
The driver needs no special case: the op node is visited after all its outputs, once,
and runs the op's backward with every output's gradient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from minigrad.autograd import STATE, AnomalyError, NotDifferentiable
from minigrad.formula import Formula
from minigrad.scalar.value import (
    Number,
    Value,
    _as_float,
    _is_zero,
    _lift,
    _result,
)

__all__ = ["ScalarFunction"]


class ScalarFunction:
    """An op with N inputs and M outputs whose backward is written by hand.

    Subclass it and define two static methods, as with ``torch.autograd.Function``:

    * ``forward(ctx, *xs: float, **params) -> list[float]``: the M outputs; save on
      ``ctx`` whatever the backward needs. ``params`` are settings that are not
      differentiated (BatchNorm's eps), as in the tensor engine's ``Function``.
    * ``backward(ctx, grads: np.ndarray) -> Sequence[float]``: given dL/d(output) for
      every output, return dL/d(input) for every input (the vector-Jacobian product).
    * optionally ``formula(ctx, grads) -> Formula``: how the backward reads, one line per
      input, with the numbers behind its symbols; the backprop player shows it.

    Its backward computes numbers, so with ``create_graph=True`` its gradients are right
    but cannot be differentiated again (a second backward through them raises).

    ``MyOp.apply(*values, **params)`` returns M ``Value`` s. In the graph the op is *one* node
    (``_OpNode``) between its inputs and its outputs, so its backward runs once, with
    every output's gradient, however many outputs there are.
    """

    name: ClassVar[str] = ""

    @staticmethod
    def forward(ctx: Any, *xs: float, **params: Any) -> Sequence[float]:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grads: np.ndarray) -> Sequence[float]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Value | Number, **params: Any) -> list[Value]:
        name = cls.name or cls.__name__
        values = tuple(_lift(v, name) for v in inputs)
        ctx = _Context()
        outs = [float(y) for y in cls.forward(ctx, *(v.data for v in values), **params)]
        if STATE.anomaly:
            for i, y in enumerate(outs):
                if not math.isfinite(y):
                    inputs_text = ", ".join(f"{v.data!r}" for v in values)
                    raise AnomalyError(f"{name}: forward output {i} is {y} (inputs {inputs_text})")
        if not STATE.grad_enabled:
            return [Value(y) for y in outs]
        node = _OpNode(cls, ctx, values, len(outs), params)
        results = []
        for i, y in enumerate(outs):
            out = _FusedOutput(y)
            out._prev, out._op, out._index = (node,), "", i
            results.append(out)
        return results


class _Context:
    """A place for ``forward`` to leave what ``backward`` needs."""


class _OpNode:
    """One ``ScalarFunction`` call in the graph: inputs in ``_prev``, outputs' grads in ``grad``."""

    __slots__ = (
        "_ctx",
        "_fn",
        "_grads",
        "_graph_grads",
        "_op",
        "_params",
        "_prev",
        "_scope",
        "label",
    )

    def __init__(
        self,
        fn: type[ScalarFunction],
        ctx: Any,
        inputs: tuple[Value, ...],
        n_out: int,
        params: dict[str, Any],
    ):
        self._fn, self._ctx, self._prev = fn, ctx, inputs
        self._params = params  # the settings forward ran with, so the op can be run again
        self._op = fn.name or fn.__name__
        self._scope = STATE.scope
        self._grads = np.zeros(n_out)  # dL/d(output i), filled in by the outputs
        self._graph_grads: list[Any] = [0.0] * n_out  # the same as Values, with create_graph
        self.label = ""

    @property
    def grad(self) -> np.ndarray:
        """dL/d(output i) for each output, as the outputs handed them over (a copy)."""
        return self._grads.copy()

    @grad.setter
    def grad(self, value: float | np.ndarray) -> None:  # backward() resets it with 0.0
        self._grads = np.broadcast_to(np.asarray(value, dtype=float), self._grads.shape).copy()
        self._graph_grads = [0.0] * len(self._grads)

    def _backward(self) -> None:
        grads_in = self._fn.backward(self._ctx, self.grad)
        if len(grads_in) != len(self._prev):
            raise RuntimeError(
                f"{self._op} backward: returned {len(grads_in)} gradients "
                f"for {len(self._prev)} inputs"
            )
        for parent, g in zip(self._prev, grads_in, strict=True):
            parent.grad += float(g)

    def _formula(self) -> Formula | None:
        """The op's own ``formula(ctx, grads)``, if its class states one."""
        stated = getattr(self._fn, "formula", None)
        return stated(self._ctx, self.grad) if callable(stated) else None

    def _backward_graph(self) -> None:
        """With ``create_graph``: a hand-written backward computes numbers, not graph nodes.

        Each input still receives its gradient, as a node marked not differentiable: the
        first derivative is right, and differentiating it again raises, naming the op,
        instead of silently treating the op's saved numbers as constants.
        """
        upstream = [g for g in self._graph_grads if isinstance(g, Value)]
        self._grads = np.array([_as_float(g) for g in self._graph_grads])
        grads_in = self._fn.backward(self._ctx, self._grads)
        if len(grads_in) != len(self._prev):
            raise RuntimeError(
                f"{self._op} backward: returned {len(grads_in)} gradients "
                f"for {len(self._prev)} inputs"
            )
        op = NotDifferentiable(f"{self._op} backward")  # differentiating these raises
        for parent, g in zip(self._prev, grads_in, strict=True):
            # linked to the upstream gradients and the inputs, so a second backward reaches it
            term = _result(float(g), op, (*upstream, *self._prev))
            parent.grad = term if _is_zero(parent.grad) else parent.grad + term

    def __repr__(self) -> str:
        return f"<{self._op}: {len(self._prev)} inputs, {len(self.grad)} outputs>"

    # ------------------------------------------------------------ for readers (viz)

    @property
    def fused(self) -> bool:
        """Whether the op's backward was derived by hand (``fused = True`` on its class)."""
        return bool(getattr(self._fn, "fused", False))

    def saved(self) -> dict[str, Any]:
        """What the op's forward left on its ``ctx`` for the backward, by name."""
        return dict(vars(self._ctx))

    def recompute(self, inputs: Sequence[float]) -> list[float]:
        """The op's forward on other input numbers, with the same settings (no graph)."""
        return [float(y) for y in self._fn.forward(_Context(), *inputs, **self._params)]


class _FusedOutput(Value):
    """Output ``_index`` of a ``ScalarFunction``: its backward hands its gradient to the op."""

    __slots__ = ("_index",)

    def _backward(self) -> None:
        self._prev[0]._grads[self._index] += self.grad

    def _backward_graph(self) -> None:
        node, g = self._prev[0], self.grad
        before = node._graph_grads[self._index]
        node._graph_grads[self._index] = g if _is_zero(before) else before + g

    def _formula(self) -> Formula | None:
        return Formula(
            (f"{self._prev[0]._op}.grad[{self._index}] += out.grad",),
            {"out.grad": _as_float(self.grad)},
        )

    @property
    def output_index(self) -> int:
        """Which output of its op this value is."""
        return self._index

    def recompute(self, inputs: Sequence[Any]) -> float:
        """Given its op's outputs (``inputs[0]``), this one."""
        return float(inputs[0][self._index])

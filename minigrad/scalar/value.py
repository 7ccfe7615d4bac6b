"""The scalar engine: ``Value``, one float per node, micrograd's API.

Read an op as a line of a calculus textbook. Each op computes its result and
states its *local derivatives*, d(out)/d(input) for each input, side by side:

    out = a * b        local derivatives: (b, a)
    out = tanh(a)      local derivative:  1 - out**2

The chain rule is written once, in ``Value._backward``:

    parent.grad += local_derivative * out.grad

and the graph walk that calls it in the right order is shared with the tensor
engine (``minigrad.autograd``). No node carries a closure, so a node is small and
Python's cycle collector has nothing to chase.

An op with many inputs and many outputs whose backward is derived by hand (the fused
BatchNorm over a batch) is a ``ScalarFunction``: one node in the graph, one backward.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from minigrad.autograd import STATE, AnomalyError, run_backward, topological_order

__all__ = ["ScalarFunction", "Value", "value_sum", "zero_grad"]

Number = int | float


def _check_number(x: object, who: str) -> float:
    if type(x) is float:  # the common case, without the slower abstract-base-class check
        return x  # type: ignore[return-value]
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{who}: expected a real number, got {type(x).__name__} {x!r}")
    return float(x)


class Value:
    """A scalar node of a computation graph: ``data`` and, after ``backward()``, ``grad``.

    ``Value(data)`` makes a leaf. ``data`` must be a real number (int, float or a NumPy
    scalar; not a bool, a string or None: those raise ``TypeError``). NaN and inf are
    accepted, as Python floats accept them, except under ``detect_anomaly()``, where
    they raise ``AnomalyError``. ``label`` names the node in drawings.

    Ops refuse inputs outside their domain before building anything: ``log`` of a
    number <= 0 (``ValueError``), division by zero and ``0 ** negative``
    (``ZeroDivisionError``), a negative base to a non-integer power (``ValueError``),
    an operand that is not a number or a ``Value`` (``TypeError`` naming both types).
    Where a float overflows (``exp(1000)``, ``1e200 ** 2``) the result is inf, as in
    NumPy and PyTorch.
    """

    __slots__ = ("_local", "_op", "_prev", "_scope", "data", "grad", "label")

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = _check_number(data, "Value")
        if STATE.anomaly and not math.isfinite(self.data):
            raise AnomalyError(f"Value: data is {self.data} (detect_anomaly is on)")
        self.grad = 0.0
        self.label = label
        self._prev: tuple[Any, ...] = ()
        self._local: tuple[float, ...] = ()
        self._op = ""
        self._scope = STATE.scope

    def __repr__(self) -> str:
        name = f"{self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    def _backward(self) -> None:
        """The chain rule: each parent receives local derivative x this node's gradient.

        A node whose gradient is exactly zero (behind a ReLU that is off, say: in a ReLU
        MLP over half the nodes) adds nothing to its parents, so it skips the loop. The
        one difference this makes: a local derivative that is inf or NaN times a zero
        gradient adds 0 here, where IEEE arithmetic (and PyTorch) would give NaN.
        """
        g = self.grad
        if g == 0.0:
            return
        for parent, local in zip(self._prev, self._local):
            parent.grad += local * g

    # ------------------------------------------------------------ arithmetic
    # Each op: forward value, op name, inputs, local derivatives d(out)/d(input).

    def __add__(self, other: Value | Number) -> Value:
        other = _lift(other, "+")
        return _result(self.data + other.data, "+", (self, other), (1.0, 1.0))

    def __sub__(self, other: Value | Number) -> Value:
        other = _lift(other, "-")
        return _result(self.data - other.data, "-", (self, other), (1.0, -1.0))

    def __mul__(self, other: Value | Number) -> Value:
        other = _lift(other, "*")
        return _result(self.data * other.data, "*", (self, other), (other.data, self.data))

    def __truediv__(self, other: Value | Number) -> Value:
        other = _lift(other, "/")
        a, b = self.data, other.data
        if b == 0.0:
            raise ZeroDivisionError(f"/: division by zero ({a!r} / {b!r})")
        q = a / b
        return _result(q, "/", (self, other), (1.0 / b, -q / b))  # -a/b^2, without b*b underflow

    def __pow__(self, other: Value | Number) -> Value:
        if isinstance(other, Value):
            return _pow_value(self, other)
        n = _check_number(other, "**")
        a = self.data
        _check_pow_domain(a, n)
        local = n * _power(a, n - 1) if n != 0 else 0.0  # inf for x**0.5 at 0, as in PyTorch
        return _result(_power(a, n), f"**{n:g}", (self,), (local,))

    def __neg__(self) -> Value:
        return _result(-self.data, "neg", (self,), (-1.0,))

    # Reflected forms, so numbers may stand on the left: 2 * x, 1 - x, 1 / x, 2 ** x.
    def __radd__(self, other: Number) -> Value:
        return _lift(other, "+") + self

    def __rsub__(self, other: Number) -> Value:
        return _lift(other, "-") - self

    def __rmul__(self, other: Number) -> Value:
        return _lift(other, "*") * self

    def __rtruediv__(self, other: Number) -> Value:
        return _lift(other, "/") / self

    def __rpow__(self, other: Number) -> Value:
        return _pow_value(_lift(other, "**"), self)

    # ------------------------------------------------------------ functions

    def relu(self) -> Value:
        x = self.data
        return _result(0.0 if x <= 0 else x, "relu", (self,), (1.0 if x > 0 else 0.0,))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return _result(t, "tanh", (self,), (1.0 - t * t,))

    def sigmoid(self) -> Value:
        x = self.data
        # Two forms of 1/(1+e^-x), each exp'ing a non-positive number, so neither overflows.
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return _result(s, "sigmoid", (self,), (s * (1.0 - s),))

    def exp(self) -> Value:
        x = self.data
        e = math.inf if x > 709.78 else math.exp(x)  # past 709.78 a float overflows, as in NumPy
        return _result(e, "exp", (self,), (e,))

    def log(self) -> Value:
        x = self.data
        if not x > 0:
            raise ValueError(f"log: input must be positive, got {x!r}")
        return _result(math.log(x), "log", (self,), (1.0 / x,))

    # ------------------------------------------------------------ backward

    def backward(self, grad: Number = 1.0) -> None:
        """Fill ``.grad`` of every node this value was computed from: d(self)/d(node).

        Like micrograd and PyTorch, gradients *accumulate*: a second ``backward()``
        adds to the leaves' ``.grad`` (zero them with ``zero_grad(params)`` between
        steps). Gradients of intermediate nodes are recomputed from zero on each pass.
        """
        seed = _check_number(grad, "backward")
        order = topological_order(self)
        for node in order:
            if node._prev:  # an intermediate: its gradient is this pass's alone
                node.grad = 0.0
        self.grad += seed
        run_backward(order)

    # ------------------------------------------------------------ copy and pickle
    # As the tensor engine (and PyTorch for tensors): ``copy.deepcopy`` copies a leaf
    # only (a non-leaf raises, rather than copy its whole graph recursively, which
    # overflows Python's stack for a deep chain); ``pickle`` saves any Value as a leaf
    # (data, grad, label), without the graph. Both are flat, whatever the graph's depth.

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        if self._prev:
            raise RuntimeError(
                f"deepcopy: only leaf Values (made by the user, not by an op) can be deep-"
                f"copied, as PyTorch does for tensors; this one (data {self.data!r}) was made "
                f"by {self._op or 'a ScalarFunction'!r}: copy Value(v.data) instead"
            )
        clone = Value._rebuild(type(self), self.data, self.grad, self.label)
        memo[id(self)] = clone
        return clone

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        cls = type(self) if not self._prev else Value  # a non-leaf comes back as a leaf
        return Value._rebuild, (cls, self.data, self.grad, self.label)

    @staticmethod
    def _rebuild(cls: type, data: float, grad: float, label: str) -> Value:
        v = _new(cls)
        v.data, v.grad, v.label = data, grad, label
        v._prev, v._local, v._op, v._scope = (), (), "", ()
        return v


_new = object.__new__


def _result(data: float, op: str, prev: tuple[Any, ...], local: tuple[float, ...]) -> Value:
    """The node an op returns: its value, and what backward needs (parents, local derivatives).

    Under ``no_grad`` the result is a leaf: no parents, no op, nothing kept alive.
    """
    # This thread's modes. Each ``STATE.name`` is a thread-local lookup; the instance
    # ``__dict__`` of a ``threading.local`` is this thread's own, so fetch it once.
    state = STATE.__dict__
    if state["anomaly"] and not math.isfinite(data):
        inputs = ", ".join(f"{p.data!r}" for p in prev)
        raise AnomalyError(f"{op or 'constant'}: forward produced {data} from inputs ({inputs})")
    out = _new(Value)  # skips __init__'s checks: data is already a float
    out.data = data
    out.grad = 0.0
    out.label = ""
    if state["grad_enabled"]:
        out._prev, out._local, out._op = prev, local, op
    else:
        out._prev, out._local, out._op = (), (), ""
    out._scope = state["scope"]
    return out


def _lift(x: object, op: str) -> Value:
    """A number becomes a constant leaf; anything else is an error naming both types."""
    if isinstance(x, Value):
        return x
    if type(x) is not float and (isinstance(x, bool) or not isinstance(x, Real)):
        raise TypeError(f"{op}: unsupported operand types Value and {type(x).__name__} ({x!r})")
    return _result(float(x), "", (), ())  # a leaf: no op, no parents


def _power(a: float, n: float) -> float:
    """``a ** n`` as a float, inf where it overflows or is 0 to a negative power."""
    try:
        return a**n
    except ZeroDivisionError:  # 0.0 ** negative: only reached for a local derivative
        return math.inf
    except OverflowError:  # Python raises where NumPy and PyTorch give inf
        return -math.inf if a < 0 and n % 2 == 1 else math.inf


def _check_pow_domain(a: float, n: float) -> None:
    if a == 0.0 and n < 0:
        raise ZeroDivisionError(f"**: 0.0 ** {n!r} is undefined (division by zero)")
    if a < 0 and not float(n).is_integer():
        raise ValueError(f"**: negative base {a!r} to the non-integer power {n!r} is not real")


def _pow_value(base: Value, exponent: Value) -> Value:
    """a ** b with both differentiable: d/da = b a^(b-1), d/db = a^b ln a."""
    a, b = base.data, exponent.data
    _check_pow_domain(a, b)
    out = _power(a, b)
    d_da = b * _power(a, b - 1) if b != 0 else 0.0
    if a > 0:
        d_db = out * math.log(a)
    elif a == 0 and b > 0:
        d_db = 0.0  # 0^b is flat (zero) in b near any b > 0
    else:
        raise ValueError(
            f"**: d/db a**b = a**b ln a needs a > 0, got a={a!r} (b={b!r}); "
            "use a number exponent for negative bases"
        )
    return _result(out, "**", (base, exponent), (d_da, d_db))


def value_sum(values: Iterable[Value | Number]) -> Value:
    """One node for a sum of many values: out = v1 + ... + vn, every local derivative 1.

    Python's ``sum()`` builds a chain of n-1 binary ``+`` nodes; this builds one.
    """
    items = tuple([v if type(v) is Value else _lift(v, "value_sum") for v in values])
    if not items:
        return Value(0.0)
    return _result(math.fsum([v.data for v in items]), "sum", items, (1.0,) * len(items))


def zero_grad(params: Iterable[Value]) -> None:
    """Set ``.grad`` of every value in ``params`` to 0 (before the next backward)."""
    for p in params:
        p.grad = 0.0 if isinstance(p, Value) else None


# ---------------------------------------------------------------- multi-output ops


class ScalarFunction:
    """An op with N inputs and M outputs whose backward is written by hand.

    Subclass it and define two static methods, as with ``torch.autograd.Function``:

    * ``forward(ctx, *xs: float, **params) -> list[float]``: the M outputs; save on
      ``ctx`` whatever the backward needs. ``params`` are settings that are not
      differentiated (BatchNorm's eps), as in the tensor engine's ``Function``.
    * ``backward(ctx, grads: np.ndarray) -> Sequence[float]``: given dL/d(output) for
      every output, return dL/d(input) for every input (the vector-Jacobian product).

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

    __slots__ = ("_ctx", "_fn", "_grads", "_op", "_params", "_prev", "_scope", "label")

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
        self.label = ""

    @property
    def grad(self) -> np.ndarray:
        """dL/d(output i) for each output, as the outputs handed them over."""
        return self._grads

    @grad.setter
    def grad(self, value: float | np.ndarray) -> None:  # backward() resets it with 0.0
        self._grads = np.broadcast_to(np.asarray(value, dtype=float), self._grads.shape).copy()

    def _backward(self) -> None:
        grads_in = self._fn.backward(self._ctx, self.grad)
        if len(grads_in) != len(self._prev):
            raise RuntimeError(
                f"{self._op} backward: returned {len(grads_in)} gradients "
                f"for {len(self._prev)} inputs"
            )
        for parent, g in zip(self._prev, grads_in, strict=True):
            parent.grad += float(g)

    def __repr__(self) -> str:
        return f"<{self._op}: {len(self._prev)} inputs, {len(self.grad)} outputs>"


class _FusedOutput(Value):
    """Output ``_index`` of a ``ScalarFunction``: its backward hands its gradient to the op."""

    __slots__ = ("_index",)

    def _backward(self) -> None:
        self._prev[0]._grads[self._index] += self.grad

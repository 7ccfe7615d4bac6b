"""The scalar engine: ``Value``, one float per node, micrograd's API.

Read an op as a line of a calculus textbook. Each op computes its result here and
names its entry in the table of derivatives (``derivatives.py``), which states its
*local derivatives*, d(out)/d(input) for each input, once:

    out = a * b        MUL = Op("*",    lambda a, b, out: (b, a))
    out = tanh(a)      TANH = Op("tanh", lambda a, out: (1 - out * out,))

The chain rule is written once, in ``Value._backward``:

    parent.grad += local_derivative * out.grad

and the graph walk that calls it in the right order is shared with the tensor
engine (``minigrad.autograd``). No node carries a closure or a tuple of numbers: the
local derivatives are computed when backward needs them (not at all for a node whose
gradient is zero), so a node is small and Python's cycle collector has nothing to chase.
With ``create_graph=True`` the same table is evaluated on the nodes themselves
(``Value._backward_graph``), so a gradient is a graph that can be differentiated again.

An op with many inputs and many outputs whose backward is derived by hand (the fused
BatchNorm over a batch) is a ``ScalarFunction`` (``function.py``): one node in the graph,
one backward.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any, ClassVar

from minigrad import autograd
from minigrad.autograd import (
    STATE,
    AnomalyError,
)
from minigrad.formula import Formula, Symbol
from minigrad.scalar.derivatives import (
    ADD,
    DIV,
    EXP,
    LOG,
    MUL,
    NEG,
    POW,
    RELU,
    SIGMOID,
    SUB,
    SUM,
    TANH,
    Op,
    _power,
    power_op,
)

__all__ = ["Op", "Value", "value_sum", "zero_grad"]

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

    __slots__ = ("_op", "_prev", "_scope", "data", "grad", "label")
    _engine: ClassVar[type] = None  # type: ignore[assignment]  # set below: Value
    _zero_grad: ClassVar[float] = 0.0

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = _check_number(data, "Value")
        if STATE.anomaly and not math.isfinite(self.data):
            raise AnomalyError(f"Value: data is {self.data} (detect_anomaly is on)")
        self.grad: Any = 0.0
        self.label = label
        self._prev: tuple[Any, ...] = ()
        self._op: str = ""
        self._scope = STATE.scope

    def __repr__(self) -> str:
        name = f"{self.label!r}, " if self.label else ""
        grad = self.grad if isinstance(self.grad, Value) else f"{self.grad:.6g}"
        return f"Value({name}data={self.data:.6g}, grad={grad})"

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
        parents = self._prev
        # One and two inputs (every op but sum) unrolled: the same rule, without a loop.
        if len(parents) == 1:
            (a,) = parents
            (da,) = self._op.local(a.data, self.data)  # type: ignore[attr-defined]
            a.grad += da * g
        elif len(parents) == 2:
            a, b = parents
            da, db = self._op.local(a.data, b.data, self.data)  # type: ignore[attr-defined]
            a.grad += da * g
            b.grad += db * g
        elif parents:  # (a leaf has nothing to push to)
            local = self._op.local(*[p.data for p in parents], self.data)  # type: ignore[attr-defined]
            for parent, d in zip(parents, local):
                parent.grad += d * g

    def _backward_graph(self) -> None:
        """The same chain rule with the derivatives built from ops (``create_graph=True``):
        the local derivatives are evaluated on the nodes themselves, so the gradients are
        ``Value`` s in a graph of their own, which can be differentiated again."""
        g = self.grad
        if isinstance(g, float) and g == 0.0:
            return
        parents = self._prev
        local = self._op.local(*parents, self)  # type: ignore[attr-defined]
        for parent, d in zip(parents, local):
            if isinstance(d, int | float):  # a constant: 1·g is g, 0·g adds nothing
                if d == 0:
                    continue
                term = g if d == 1 else -g if d == -1 else d * g
            else:
                term = d * g
            parent.grad = term if _is_zero(parent.grad) else parent.grad + term

    def _formula(self) -> Formula | None:
        """This node's backward as text, with the numbers of this call (for the player)."""
        op, parents = self._op, self._prev
        if not parents or not isinstance(op, Op):
            return None
        code = op.local.__code__
        names = list(code.co_varnames[: code.co_argcount - 1])  # the last is ``out``
        if len(names) != len(parents):  # ``*inputs``: x1, x2, ...
            names = [f"x{i + 1}" for i in range(len(parents))]
        symbols = [Symbol(n, p.data) for n, p in zip(names, parents)]
        local = op.local(*symbols, Symbol("out", self.data))
        lines = tuple(
            f"{n}.grad += out.grad" + ("" if _number_is(d, 1) else f" · {_text(d)}")
            for n, d in zip(names, local)
        )
        values = {n: p.data for n, p in zip(names, parents)}
        values["out"], values["out.grad"] = self.data, _as_float(self.grad)
        return Formula(lines, values)

    # ------------------------------------------------------------ arithmetic
    # Each op: its forward value, and its entry in the table of derivatives.

    def __add__(self, other: Value | Number) -> Value:
        other = _lift(other, "+")
        return _result(self.data + other.data, ADD, (self, other))

    def __sub__(self, other: Value | Number) -> Value:
        other = _lift(other, "-")
        return _result(self.data - other.data, SUB, (self, other))

    def __mul__(self, other: Value | Number) -> Value:
        other = _lift(other, "*")
        return _result(self.data * other.data, MUL, (self, other))

    def __truediv__(self, other: Value | Number) -> Value:
        other = _lift(other, "/")
        a, b = self.data, other.data
        if b == 0.0:
            raise ZeroDivisionError(f"/: division by zero ({a!r} / {b!r})")
        return _result(a / b, DIV, (self, other))

    def __pow__(self, other: Value | Number) -> Value:
        if isinstance(other, Value):
            return _pow_value(self, other)
        n = _check_number(other, "**")
        _check_pow_domain(self.data, n)
        return _result(_power(self.data, n), power_op(n), (self,))

    def __neg__(self) -> Value:
        return _result(-self.data, NEG, (self,))

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
        return _result(0.0 if x <= 0 else x, RELU, (self,))

    def tanh(self) -> Value:
        return _result(math.tanh(self.data), TANH, (self,))

    def sigmoid(self) -> Value:
        x = self.data
        # Two forms of 1/(1+e^-x), each exp'ing a non-positive number, so neither overflows.
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return _result(s, SIGMOID, (self,))

    def exp(self) -> Value:
        x = self.data
        e = math.inf if x > 709.78 else math.exp(x)  # past 709.78 a float overflows, as in NumPy
        return _result(e, EXP, (self,))

    def log(self) -> Value:
        x = self.data
        if not x > 0:
            raise ValueError(f"log: input must be positive, got {x!r}")
        return _result(math.log(x), LOG, (self,))

    # ------------------------------------------------------------ backward

    def backward(self, grad: Number = 1.0, *, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node this value was computed from: d(self)/d(node).

        Like micrograd and PyTorch, gradients *accumulate*: a second ``backward()``
        adds to the leaves' ``.grad`` (zero them with ``zero_grad(params)`` between
        steps). Gradients of intermediate nodes are recomputed from zero on each pass.

        With ``create_graph=True`` (as in PyTorch) every ``.grad`` becomes a ``Value``
        whose graph computes it, so a gradient can be differentiated again; the nodes
        that backward built are drawn in boxes named ``backward of <op>``.
        ``minigrad.grad`` does the same without touching ``.grad``.
        """
        autograd.backward(self, grad, create_graph=create_graph)

    # What ``minigrad.autograd``'s ``backward`` and ``grad`` ask of an engine.
    @staticmethod
    def _grad_seed(out: Value, grad: Any, create_graph: bool) -> Any:
        # None is the default seed, as in PyTorch; anything else must be a real number
        given = grad.data if isinstance(grad, Value) else grad
        seed = 1.0 if given is None else _check_number(given, "backward")
        return Value(seed) if create_graph else seed

    @staticmethod
    def _is_zero(g: Any) -> bool:
        return _is_zero(g)

    @staticmethod
    def _grad_result(g: Any, create_graph: bool) -> Value:
        return g if isinstance(g, Value) and create_graph else Value(_as_float(g))

    @staticmethod
    def _check_grad_input(x: Value, i: int) -> None:
        pass  # every Value is differentiable

    @staticmethod
    def _check_graph(order: list[Any]) -> None:
        pass  # the scalar engine keeps no arrays to free

    @staticmethod
    def _release(order: list[Any]) -> None:
        pass

    # ------------------------------------------------------------ for readers (viz)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d(self)/d(parent) for each parent, as numbers (``()`` for a leaf)."""
        if not self._prev or not isinstance(self._op, Op):
            return ()
        local = self._op.local(*[p.data for p in self._prev], self.data)
        return tuple(float(d) for d in local)

    def recompute(self, inputs: Sequence[float]) -> float:
        """This node's op on other input numbers (one per ``_prev`` position): its forward
        again, for a central-difference check. A constant power runs with the exponent
        its op holds."""
        op = self._op
        if not self._prev:
            raise ValueError("recompute: a leaf has no op to run again")
        forward = getattr(op, "forward", None)
        if forward is None:
            raise ValueError(f"recompute: the op {op!r} cannot be run again")
        return forward(*[Value(x) for x in inputs]).data

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
        v._prev, v._op, v._scope = (), "", ()
        return v


Value._engine = Value
_new = object.__new__

# Each op's forward, so a node can be run again on other numbers (``Value.recompute``).
for _op, _forward in (
    (ADD, Value.__add__),
    (SUB, Value.__sub__),
    (MUL, Value.__mul__),
    (DIV, Value.__truediv__),
    (POW, Value.__pow__),
    (NEG, Value.__neg__),
    (RELU, Value.relu),
    (TANH, Value.tanh),
    (SIGMOID, Value.sigmoid),
    (EXP, Value.exp),
    (LOG, Value.log),
    (SUM, lambda *xs: value_sum(xs)),
):
    _op.forward = _forward


def _result(data: float, op: Op | str, prev: tuple[Any, ...]) -> Value:
    """The node an op returns: its value, the op (name and local derivatives), its parents.

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
        out._prev, out._op = prev, op
    else:
        out._prev, out._op = (), ""
    out._scope = state["scope"]
    return out


def _lift(x: object, op: str) -> Value:
    """A number becomes a constant leaf; anything else is an error naming both types."""
    if isinstance(x, Value):
        return x
    if type(x) is not float and (isinstance(x, bool) or not isinstance(x, Real)):
        raise TypeError(f"{op}: unsupported operand types Value and {type(x).__name__} ({x!r})")
    return _result(float(x), "", ())  # type: ignore[arg-type]  # a leaf: no op, no parents


def _check_pow_domain(a: float, n: float) -> None:
    if a == 0.0 and n < 0:
        raise ZeroDivisionError(f"**: 0.0 ** {n!r} is undefined (division by zero)")
    if a < 0 and not float(n).is_integer():
        raise ValueError(f"**: negative base {a!r} to the non-integer power {n!r} is not real")


def _pow_value(base: Value, exponent: Value) -> Value:
    """a ** b with both differentiable: d/da = b a^(b-1), d/db = a^b ln a."""
    a, b = base.data, exponent.data
    _check_pow_domain(a, b)
    if a < 0 or (a == 0 and b <= 0):
        raise ValueError(
            f"**: d/db a**b = a**b ln a needs a > 0, got a={a!r} (b={b!r}); "
            "use a number exponent for negative bases"
        )
    return _result(_power(a, b), POW, (base, exponent))


def _is_zero(g: Any) -> bool:
    return isinstance(g, float | int) and g == 0


def _number_is(d: Any, n: float) -> bool:
    return not isinstance(d, Symbol) and float(d) == n


def _text(d: Any) -> str:
    if isinstance(d, Symbol):  # a sum or a negation after "·" needs its parentheses
        return f"({d.text})" if d.level >= 2 or d.text.startswith("-") else d.text
    return f"{float(d):g}"


def _as_float(g: Any) -> float:
    return g.data if isinstance(g, Value) else float(g)


def value_sum(values: Iterable[Value | Number]) -> Value:
    """One node for a sum of many values: out = v1 + ... + vn, every local derivative 1.

    Python's ``sum()`` builds a chain of n-1 binary ``+`` nodes; this builds one.
    """
    items = tuple([v if type(v) is Value else _lift(v, "value_sum") for v in values])
    if not items:
        return Value(0.0)
    return _result(math.fsum([v.data for v in items]), SUM, items)


def zero_grad(params: Iterable[Value]) -> None:
    """Set ``.grad`` of every value in ``params`` to 0 (before the next backward)."""
    for p in params:
        p.grad = 0.0 if isinstance(p, Value) else None

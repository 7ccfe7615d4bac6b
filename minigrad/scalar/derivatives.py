"""The table of derivatives: each scalar op's local derivatives, written once.

An ``Op`` is an op's name (a ``str``: that is what drawings and messages read) and its
local derivatives d(out)/d(input), one per input, as a function of the inputs and the
output. The functions use ``+ - * /`` and the three helpers below, so one line is read
three ways:

* on floats: the numbers the first-order backward multiplies by ``out.grad``
  (``Value._backward``: ``parent.grad += local * out.grad``);
* on ``Value`` s: the same derivative built from ops, so a gradient is a graph that can
  be differentiated again (``create_graph=True``, ``minigrad.grad``);
* on ``Symbol`` s: the text the backprop player shows, ``a.grad += out.grad · (1 - out²)``.

The forward of each op is in ``value.py``, where ``Value.tanh`` computes ``math.tanh``
and names ``TANH`` from this table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from minigrad.formula import Symbol

__all__ = [
    "ADD",
    "DIV",
    "EXP",
    "LOG",
    "MUL",
    "NEG",
    "POW",
    "RELU",
    "SIGMOID",
    "SUB",
    "SUM",
    "TANH",
    "Op",
    "ln_or_zero",
    "power",
    "power_op",
    "step",
]


class Op(str):
    """A scalar op: its name (this string) and its local derivatives, written once.

    ``local(*inputs, out)`` returns d(out)/d(input) for each input. It uses only
    ``+ - * /`` and the helpers ``step``, ``power`` and ``ln_or_zero``, so the one line
    is read three ways: on floats it gives the numbers the first-order backward needs,
    on ``Value`` s it builds the derivative as graph nodes (``create_graph=True``), and
    on ``Symbol`` s it writes the formula the player shows.
    """

    local: Callable[..., tuple[Any, ...]]
    forward: Callable[..., Any]  # the op on Values, to run a node again (set in value.py)

    def __new__(cls, name: str, local: Callable[..., tuple[Any, ...]]) -> Op:
        op = super().__new__(cls, name)
        op.local = local
        return op


# fmt: off
# The table of derivatives: d(out)/d(input) for each input, from the inputs and the output.
ADD     = Op("+",       lambda a, b, out: (1, 1))
SUB     = Op("-",       lambda a, b, out: (1, -1))
MUL     = Op("*",       lambda a, b, out: (b, a))
DIV     = Op("/",       lambda a, b, out: (1 / b, -out / b))   # -a/b² as -out/b: no b·b underflow
NEG     = Op("neg",     lambda a, out: (-1,))
RELU    = Op("relu",    lambda a, out: (step(a),))
TANH    = Op("tanh",    lambda a, out: (1 - out * out,))
SIGMOID = Op("sigmoid", lambda a, out: (out * (1 - out),))
EXP     = Op("exp",     lambda a, out: (out,))
LOG     = Op("log",     lambda a, out: (1 / a,))
POW     = Op("**",      lambda a, b, out: (b * power(a, b - 1), out * ln_or_zero(a)))
SUM     = Op("sum",     lambda *inputs: (1,) * (len(inputs) - 1))
# fmt: on


def power_op(n: float) -> Op:
    """``a ** n`` for a fixed number n: d/da = n a^(n-1) (an Op per exponent, cached)."""
    op = _POWER_OPS.get(n)
    if op is None:
        op = _POWER_OPS[n] = Op(f"**{n:g}", lambda a, out: (n * power(a, n - 1) if n else 0,))
        op.forward = lambda a: a**n
    return op


_POWER_OPS: dict[float, Op] = {}


# ---------------------------------------------------------------- helpers of the table
# Each works on a float, a Value and a Symbol alike.


def step(a: Any) -> Any:
    """1 where a > 0, else 0 (ReLU's slope). A constant even for a Value: its own slope is 0."""
    if isinstance(a, Symbol):
        return Symbol(f"[{a.text} > 0]", 1.0 if a.value > 0 else 0.0)
    x = getattr(a, "data", a)  # a Value's number, or the float itself
    return 1.0 if x > 0 else 0.0


def power(a: Any, n: Any) -> Any:
    """a ** n; on floats, inf where it overflows or is 0 to a negative power (as NumPy)."""
    if isinstance(a, float) and isinstance(n, int | float):
        return _power(a, n)
    return a**n


def ln_or_zero(a: Any) -> Any:
    """ln a, or 0 at a = 0: d/db a^b = a^b ln a, and 0^b is flat in b for b > 0."""
    x = a.value if isinstance(a, Symbol) else getattr(a, "data", a)
    if x == 0:
        return 0.0
    if isinstance(a, Symbol):
        return a.call("ln", math.log(x))
    return math.log(x) if isinstance(a, float | int) else a.log()


def _power(a: float, n: float) -> float:
    """``a ** n`` as a float, inf where it overflows or is 0 to a negative power."""
    try:
        return a**n
    except ZeroDivisionError:  # 0.0 ** negative: only reached for a local derivative
        return math.inf
    except OverflowError:  # Python raises where NumPy and PyTorch give inf
        return -math.inf if a < 0 and n % 2 == 1 else math.inf

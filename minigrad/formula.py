"""How an op's backward reads to a learner: ``Formula``, and ``Symbol`` that writes it.

Every op states its backward once, beside its forward (see ``minigrad.scalar.value``
and ``minigrad.tensor.ops``). The backprop player and the docs do not keep their own
copies: they ask a node for its ``Formula`` with ``backward_formula(node)``.

* A scalar op's local derivative is a small function written with ``+ - * /``. Called
  on floats it gives the numbers backward needs; on ``Value`` s, graph nodes
  (``create_graph=True``); on ``Symbol`` s, its text. ``Symbol`` is the third reading:
  a name and a number that build an expression string as they are combined.
* A tensor op states its vector-Jacobian products as text (``Function.formula``),
  which a test evaluates and compares with the op's real backward, so it cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Formula", "Symbol", "backward_formula", "pretty"]


@dataclass(frozen=True)
class Formula:
    """The backward of one op call as a learner reads it.

    ``lines`` has one line per input position (``"a.grad += out.grad · (1 - out·out)"``);
    ``values`` maps every symbol the lines use (``"a"``, ``"out"``, ``"out.grad"``, ...) to
    its number (a float) or array at this call.
    """

    lines: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)


def backward_formula(node: Any) -> Formula | None:
    """The formula of the op that made ``node``, or None (a leaf, or an op that states none)."""
    explain = getattr(node, "_formula", None)
    return explain() if explain is not None else None


# Binding strength, for parentheses: a sum inside a product needs them, a product in a sum not.
_ATOM, _POWER, _UNARY, _PRODUCT, _SUM = 0, 1, 2, 3, 4


class Symbol:
    """A named number that writes down what is done to it: ``1 - out*out`` -> ``"1 - out·out"``.

    Comparisons compare the numbers, so a derivative with a branch (ReLU's) reads the
    branch this node actually took.
    """

    __slots__ = ("level", "text", "value")

    def __init__(self, text: str, value: float, level: int = _ATOM) -> None:
        self.text, self.value, self.level = text, value, level

    def __repr__(self) -> str:
        return f"Symbol({self.text!r}, {self.value!r})"

    def _wrap(self, level: int, right: bool = False) -> str:
        tight = self.level > level or (right and self.level == level and level != _ATOM)
        return f"({self.text})" if tight else self.text

    def _binary(self, other: Any, sign: str, level: int, value: float, swap: bool) -> Symbol:
        other = _symbol(other)
        left, right = (other, self) if swap else (self, other)
        text = f"{left._wrap(level)}{sign}{right._wrap(level, right=True)}"
        return Symbol(text, value, level)

    def __add__(self, o: Any) -> Symbol:
        return self._binary(o, " + ", _SUM, self.value + _number(o), False)

    def __radd__(self, o: Any) -> Symbol:
        return self._binary(o, " + ", _SUM, _number(o) + self.value, True)

    def __sub__(self, o: Any) -> Symbol:
        return self._binary(o, " - ", _SUM, self.value - _number(o), False)

    def __rsub__(self, o: Any) -> Symbol:
        return self._binary(o, " - ", _SUM, _number(o) - self.value, True)

    def __mul__(self, o: Any) -> Symbol:
        if o is self and self.level == _ATOM:  # out*out reads out²
            return Symbol(f"{self.text}²", self.value * self.value, _POWER)
        return self._binary(o, "·", _PRODUCT, self.value * _number(o), False)

    def __rmul__(self, o: Any) -> Symbol:
        return self._binary(o, "·", _PRODUCT, _number(o) * self.value, True)

    def __truediv__(self, o: Any) -> Symbol:
        return self._binary(o, "/", _PRODUCT, _divide(self.value, _number(o)), False)

    def __rtruediv__(self, o: Any) -> Symbol:
        return self._binary(o, "/", _PRODUCT, _divide(_number(o), self.value), True)

    def __pow__(self, o: Any) -> Symbol:
        return self._binary(o, "^", _POWER, _power(self.value, _number(o)), False)

    def __neg__(self) -> Symbol:
        return Symbol(f"-{self._wrap(_UNARY)}", -self.value, _UNARY)

    def __gt__(self, o: Any) -> bool:
        return self.value > _number(o)

    def __lt__(self, o: Any) -> bool:
        return self.value < _number(o)

    def __ge__(self, o: Any) -> bool:
        return self.value >= _number(o)

    def __le__(self, o: Any) -> bool:
        return self.value <= _number(o)

    def call(self, name: str, value: float) -> Symbol:
        """``name(self)`` as text, with its value: ``ln(a)``."""
        return Symbol(f"{name}({self.text})", value)


def _symbol(x: Any) -> Symbol:
    return x if isinstance(x, Symbol) else Symbol(f"{x:g}", float(x))


def _number(x: Any) -> float:
    return x.value if isinstance(x, Symbol) else float(x)


def _divide(a: float, b: float) -> float:
    return a / b if b else float("inf") if a else float("nan")


def _power(a: float, b: float) -> float:
    try:
        return float(a**b)
    except (ZeroDivisionError, OverflowError):
        return float("inf")


def pretty(text: str) -> str:
    """A formula as written in Python, made readable: ``g`` -> ``out.grad``, ``**2`` -> ``²``,
    ``*`` -> ``·``, ``.T`` -> ``ᵀ``."""
    text = re.sub(r"\bg\b", "out.grad", text)
    for plain, nice in (("**2", "²"), ("**3", "³"), (" * ", " · "), (".T", "ᵀ")):
        text = text.replace(plain, nice)
    return text

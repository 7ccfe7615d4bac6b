"""``minigrad.viz`` only reads: it names no op and opens no op's private context.

An op's math lives beside its forward and backward (``backward_formula`` asks the op);
a drawing or the backprop player that compared op names (``if op == "batchnorm"``) or
kept its own table of formulas would explain a user's op worse than a built-in one and
go stale silently. These tests parse every module under ``minigrad/viz/`` and fail on:

* a string literal equal to the name of a built-in op of either engine (the names are
  collected from the engines themselves: every ``Function`` and ``ScalarFunction``
  subclass, and the ``_op`` of every ``Value`` op, run once here);
* a name or attribute spelling an op's class (``BatchNormOp``, ``MatMul``);
* an attribute or ``getattr`` string reaching into an op's private state
  (``_ctx``, ``_fn``, ``_params``, ``_local``, ``saved_arrays``, ``xhat``, ...).

The built-in example builders (``demos.py``, ``player/examples.py``) may *call* ops to
build graphs; they are held to the same rules, since building a graph needs no op's name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import minigrad
import minigrad.batchnorm.scalar
import minigrad.batchnorm.tensor
import minigrad.nn.functional
from minigrad.scalar.function import ScalarFunction
from minigrad.scalar.value import Value, value_sum
from minigrad.tensor.function import Function

VIZ = Path(minigrad.__file__).parent / "viz"

# What a reader may not touch: an op's saved context and the node's private links to it.
PRIVATE = {"_ctx", "_fn", "_params", "_local", "_index", "saved_arrays", "xhat", "inv_std"}


def _subclasses(cls: type) -> list[type]:
    out, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            out.append(sub)
            stack.append(sub)
    return out


def _builtin(cls: type) -> bool:
    return cls.__module__.startswith("minigrad.")


def value_op_names() -> set[str]:
    """Every ``_op`` the scalar engine gives, by running each op once."""
    a, b = Value(2.0), Value(3.0)
    made = [
        a + b, a - b, a * b, a / b, a**b, a**2, a**-0.5, -a,
        a.relu(), a.tanh(), a.sigmoid(), a.exp(), a.log(), value_sum([a, b]),
    ]  # fmt: skip
    return {v._op for v in made}


def op_names() -> set[str]:
    names = {c.name for c in _subclasses(Function) if _builtin(c)}
    names |= {c.name or c.__name__ for c in _subclasses(ScalarFunction) if _builtin(c)}
    names |= value_op_names()
    names.discard("")
    return names


def op_class_names() -> set[str]:
    return {c.__name__ for c in _subclasses(Function) + _subclasses(ScalarFunction) if _builtin(c)}


def viz_modules() -> list[Path]:
    return sorted(VIZ.rglob("*.py"))


def _strings(tree: ast.AST) -> list[ast.Constant]:
    """String literals, without docstrings, the text parts of f-strings and the separators of
    ``"/".join(...)`` (prose and punctuation, not a name compared or looked up)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
        if isinstance(node, ast.Attribute) and node.attr == "join":  # "/".join: a separator
            skip.add(id(node.value))
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
    ]


def offences(source: str, names: set[str], classes: set[str]) -> list[str]:
    """Where ``source`` names an op or reaches into an op's private state."""
    tree = ast.parse(source)
    found = []
    for s in _strings(tree):
        if s.value in names:
            found.append(f"line {s.lineno}: string {s.value!r} is an op's name")
        if s.value in PRIVATE:
            found.append(f"line {s.lineno}: string {s.value!r} is an op's private state")
    for node in ast.walk(tree):
        own = isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "self"
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE and not own:
            found.append(f"line {node.lineno}: .{node.attr} is an op's private state")
        word = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
        if word in classes:
            found.append(f"line {node.lineno}: {word} is an op's class")
        if isinstance(node, ast.alias) and node.name.split(".")[-1] in classes:
            found.append(f"line {node.lineno}: imports {node.name}, an op's class")
    return found


def test_the_op_names_are_collected_from_the_engines() -> None:
    names = op_names()
    # a sample that must be there, or the check below checks nothing
    assert {"tanh", "relu", "exp", "log", "sigmoid", "+", "*", "**2", "sum"} <= names
    assert {"matmul", "batchnorm", "reshape", "add", "mean", "linear"} <= names
    assert {"BatchNormOp", "BatchNormFunction", "MatMul"} <= op_class_names()


def test_the_check_finds_what_it_forbids() -> None:
    """The checker on code written the forbidden ways: each way is found."""
    bad = (
        'if node._op == "batchnorm": pass\n'
        'TABLE = {"tanh": "1 - out²", "**": "b·a^(b-1)"}\n'
        "xs = node._ctx.xhat\n"
        'fn = getattr(node, "_fn", None)\n'
        "from minigrad.tensor.ops import MatMul\n"
        'ok = f"{name} = sum of {n}"  # an f-string\'s text is prose, not a literal name\n'
        'path = "/".join(scope)  # a separator\n'
        "k = self._index  # a viz class's own state is its own business\n"
        "i = node._index\n"
    )
    found = offences(bad, op_names(), op_class_names())
    assert any("'batchnorm' is an op's name" in f for f in found)
    assert any("'tanh'" in f for f in found) and any("'**'" in f for f in found)
    assert any(".xhat" in f for f in found) and any("._ctx" in f for f in found)
    assert any("'_fn'" in f for f in found) and any("MatMul" in f for f in found)
    assert not any(f.startswith(("line 6:", "line 7:", "line 8:")) for f in found), found
    assert any(f.startswith("line 9:") and "._index" in f for f in found)


@pytest.mark.parametrize("path", viz_modules(), ids=lambda p: str(p.relative_to(VIZ)))
def test_viz_names_no_op_and_opens_no_private_context(path: Path) -> None:
    found = offences(path.read_text(encoding="utf-8"), op_names(), op_class_names())
    assert not found, f"minigrad/viz/{path.relative_to(VIZ)} must only read nodes:\n" + "\n".join(
        found
    )

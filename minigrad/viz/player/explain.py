"""One step of the backward pass in words: the chain rule at one node, with numbers.

The op that made the node says how its backward reads (``backward_formula(node)``,
defined beside the op's forward and backward in the engine): a line per input and the
number or array behind every symbol in them. A step shows each input's line, what that
input received in the recorded pass, and a ``where`` list with the numbers put in:

    a.grad += out.grad · (1 − out²)
      → a is x1: x1.grad += 0.41997
    where out = 0.76159, out.grad = 1

An op that states no formula (a user's ``Function`` without one) gets a plain line: the
chain rule in its general form with the recorded numbers. Nothing here knows any op.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from minigrad.autograd import Formula, backward_formula
from minigrad.viz.player.nodes import (
    Walk,
    data,
    is_op_node,
    is_output_of_op,
    is_tensor,
    received,
)
from minigrad.viz.player.text import factor, num, text

__all__ = ["explain"]

# "a.grad += ..." or "A.grad = ...": the symbol a formula line gives its gradient to
_TARGET = re.compile(r"\s*(.+?)\.grad\s*\+?=")


def explain(step: Any, walk: Walk) -> tuple[str, list[str]]:
    """The step's title and its lines (the chain rule with numbers)."""
    node = step.node
    if is_output_of_op(node):
        return _output_of_op(step, walk)
    formula = backward_formula(node)
    if formula is not None:
        return _title(step, walk), formula_lines(step, walk, formula)
    if is_op_node(node):
        return _title(step, walk), _plain_op_node(step, walk)
    if is_tensor(node):
        return _title(step, walk), _plain_tensor(step, walk)
    return _title(step, walk), _plain_value(step, walk)


def _title(step: Any, walk: Walk) -> str:
    node = step.node
    name, parents = walk.name(node), walk.parents(node)
    if is_op_node(node):
        dy = np.asarray(step.grad_out, dtype=np.float64)
        fused = " (fused" if node.fused else " (one op"
        return (
            f"{node._op}{fused}, one backward for all {dy.size} outputs): "
            f"dy = {text(dy)} goes to {len(parents)} inputs"
        )
    if is_tensor(node):
        return (
            f"{name} = {node._op}({', '.join(parents)}) {data(node).shape or ''}: "
            f"push {name}.grad to its inputs"
        )
    g = num(step.grad_out)
    return f"{name} = {node._op}({', '.join(parents)}): push {name}.grad = {g} to its inputs"


def formula_lines(step: Any, walk: Walk, formula: Formula) -> list[str]:
    """The op's own lines, input by input, each followed by what the input received,
    then the numbers behind the symbols."""
    lines = []
    for parent, delta, positions in received(step):
        pname = walk.name(parent)
        stated = [formula.lines[i] for i in positions if i < len(formula.lines)]
        lines.extend(stated)
        if delta is None:
            lines.append(f"  → {pname} needs no gradient (a constant)")
            continue
        target = _TARGET.match(stated[0]) if stated else None
        symbol = target.group(1).strip() if target else pname
        alias = f"{symbol} is {pname}: " if symbol != pname else ""
        lines.append(f"  → {alias}{pname}.grad += {text(delta)}")
    if formula.values:
        lines.append("where " + ", ".join(f"{k} = {text(v)}" for k, v in formula.values.items()))
    return lines


def _output_of_op(step: Any, walk: Walk) -> tuple[str, list[str]]:
    """An output of a multi-output op hands its gradient to the op node."""
    node = step.node
    name, op_node = walk.name(node), node._prev[0]
    i = node.output_index
    title = f"{name} is output {i} of {op_node._op}: it hands {name}.grad to the op"
    return title, [f"{walk.name(op_node)}.grad[{i}] += {name}.grad = {num(step.grad_out)}"]


# ---------------------------------------------------------------- no formula: plain lines


def _plain_value(step: Any, walk: Walk) -> list[str]:
    """(local derivative) x out.grad per use, with the numbers the op computed."""
    node, g = step.node, step.grad_out
    name, parents, local = walk.name(node), walk.parents(node), node.local_grads
    lines = []
    for _, delta, positions in received(step):
        p = parents[positions[0]]
        terms = " + ".join(f"(∂{name}/∂{p}) × {name}.grad" for _ in positions)
        numbers = " + ".join(f"{factor(local[i])} × {factor(g)}" for i in positions)
        lines.append(f"{p}.grad += {terms} = {numbers} = {num(delta)}")
    return lines


def _plain_op_node(step: Any, walk: Walk) -> list[str]:
    parents, op = walk.parents(step.node), step.node._op
    return [
        f"{parents[pos[0]]}.grad += {op}.backward(dy){pos} = {num(delta)}"
        for _, delta, pos in received(step)
    ]


def _plain_tensor(step: Any, walk: Walk) -> list[str]:
    """The vector-Jacobian product for each input, as arrays."""
    node = step.node
    name, parents = walk.name(node), walk.parents(node)
    lines = [f"{name}.grad = {text(step.grad_out)}"]
    for _, delta, positions in received(step):
        p = parents[positions[0]]
        if delta is None:
            lines.append(f"{p} needs no gradient (a constant)")
            continue
        tags = [f"#{i}" if len(positions) > 1 else "" for i in positions]
        terms = " + ".join(f"(∂{name}/∂{p}{t})ᵀ · {name}.grad" for t in tags)
        where = ", ".join(map(str, positions))
        lines.append(f"{p}.grad += {terms} [{node._op} backward, input {where}] = {text(delta)}")
    return lines

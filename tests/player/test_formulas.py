"""The player explains each step with the op's own formula (``backward_formula(node)``).

Two groups:

* **the player's side** (``test_player_*``): given any ``Formula`` an op states, the step
  shows its lines, what each input received and a ``where`` list with the numbers put in
  (small arrays in full, larger ones summarized); an op that states none gets a plain
  line. These swap in formulas with ``monkeypatch`` and hold with or without the engines'
  formulas.
* **the engines' side** (``test_op_*``): the built-in ops of both engines and a user's
  ``ScalarFunction`` / ``Function`` state their formulas, and the steps show them. These
  need the engines' ``backward_formula``; the player's branch has a stub that returns
  None, so there they fail (by design: nothing is skipped).

The hook a user's op states its formula with is assumed to be a static method
``formula(ctx, grad) -> Formula`` beside ``backward`` (``USER_HOOK`` below); the issue
leaves its name to the engines.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from player_helpers import tensor_batchnorm, torch_batchnorm_example_grads

import minigrad as mg
from minigrad.autograd import Formula, backward_formula
from minigrad.scalar.function import ScalarFunction
from minigrad.tensor.function import Function
from minigrad.viz.player import EXAMPLES, backprop_steps
from minigrad.viz.player import explain as explain_module
from minigrad.viz.player.text import SMALL_ARRAY, num, text

USER_HOOK = "formula"


def all_lines(data: dict[str, Any]) -> list[str]:
    return [line for s in data["steps"] for line in s["lines"]]


def step_of(data: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [s for s in data["steps"] if data["nodes"][s["node"]]["name"] == name]
    return step


def where_of(step: dict[str, Any]) -> str:
    (where,) = [line for line in step["lines"] if line.startswith("where ")]
    return where


# ---------------------------------------------------------------- the player's side


def test_player_shows_a_stated_formula_with_its_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    x = mg.Value(1.0, "x1")
    t = x.tanh()
    t.label = "t"
    loss = t * 2.0
    loss.label = "L"

    def formula(node: Any) -> Formula | None:
        if node is t:
            return Formula(
                ("a.grad += out.grad · (1 − out²)",),
                {"out": node.data, "out.grad": node.grad, "a": node._prev[0].data},
            )
        return None

    monkeypatch.setattr(explain_module, "backward_formula", formula)
    step = step_of(backprop_steps(loss), "t")
    local = 1 - math.tanh(1.0) ** 2
    assert step["lines"] == [
        "a.grad += out.grad · (1 − out²)",
        f"  → a is x1: x1.grad += {num(2 * local)}",
        f"where out = {num(math.tanh(1.0))}, out.grad = 2, a = 1",
    ]


def test_player_shows_small_arrays_in_full_and_summarizes_large_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = mg.Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)
    large = mg.Tensor(np.arange(SMALL_ARRAY + 1.0), requires_grad=True)
    small.label, large.label = "s", "g"
    loss = (small * 2.0).sum() + (large * 3.0).sum()

    def formula(node: Any) -> Formula | None:
        if len(node._prev) == 2 and any(node._prev[0] is t for t in (small, large)):
            a = node._prev[0].data
            return Formula(("a.grad += out.grad · b", "b: a constant"), {"a": a, "b": 2.0})
        return None

    monkeypatch.setattr(explain_module, "backward_formula", formula)
    lines = all_lines(backprop_steps(loss))
    assert "where a = [[1, -2], [0.5, 3]], b = 2" in lines
    summary = next(line for line in lines if line.startswith("where a = (13,)"))
    assert summary == f"where a = {text(large.data)}, b = 2" and "mean 6" in summary
    assert "  → a is s: s.grad += [[2, 2], [2, 2]]" in lines
    assert "  → n1 needs no gradient (a constant)" in lines  # the constant 2.0, unlabelled


def test_player_falls_back_to_plain_lines_without_a_formula(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(explain_module, "backward_formula", lambda node: None)
    data = backprop_steps(EXAMPLES["expr"][0]())
    lines = all_lines(data)
    assert "d.grad += (∂g/∂d) × g.grad = (-2) × 1 = -2" in lines
    assert not any(line.startswith("where ") for line in lines)
    fused = backprop_steps(EXAMPLES["bn-fused"][0]())
    assert any(
        line.startswith("x[0].grad += batchnorm.backward(dy)[0] = ") for line in all_lines(fused)
    )


# ---------------------------------------------------------------- the engines' side


def test_op_every_built_in_op_states_a_formula_the_steps_show() -> None:
    """Both engines, every example: each op's lines (one per input) are in its step."""
    graphs = [build() for build, _ in EXAMPLES.values()]
    graphs += [tensor_mlp_loss()[0], tensor_batchnorm("fused")[0]]
    for root in graphs:
        data = backprop_steps(root)
        order = mg.topological_order(root)
        for step in data["steps"]:
            node = order[step["node"]]
            if len(node._prev) == 1 and not hasattr(node._prev[0], "data"):
                continue  # an output handing its gradient to its multi-output op
            formula = backward_formula(node)
            assert formula is not None, f"{node._op} states no formula"
            assert len(formula.lines) == len(node._prev), node._op
            for line in formula.lines:
                assert line in step["lines"], (node._op, line)
            for value in formula.values.values():
                assert isinstance(value, float | int | np.ndarray), (node._op, value)
            if formula.values:
                assert where_of(step).startswith("where ")


def test_op_tanh_states_its_local_derivative() -> None:
    x = mg.Value(1.0, "x1")
    loss = x.tanh()
    loss.label = "t"
    step = step_of(backprop_steps(loss), "t")
    assert "a.grad += out.grad · (1 - out²)" in step["lines"]
    assert f"out = {num(math.tanh(1.0))}" in where_of(step)
    assert "out.grad = 1" in where_of(step)


def tensor_mlp_loss() -> tuple[mg.Tensor, dict[str, mg.Tensor]]:
    """x @ W + b (a broadcast add), tanh, summed over an axis, then summed."""
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.normal(size=(3, 2)))
    W = mg.Tensor(rng.normal(size=(2, 2)), requires_grad=True)
    b = mg.Tensor(np.array([0.1, -0.2]), requires_grad=True)
    x.label, W.label, b.label = "x", "W", "b"
    z = x @ W
    z.label = "z"
    h = z + b
    h.label = "h"
    s = h.tanh().sum(axis=1)
    s.label = "s"
    loss = s.sum()
    loss.label = "L"
    return loss, {"x": x, "W": W, "b": b}


def test_op_matmul_broadcast_add_and_sum_state_their_vjps() -> None:
    loss, leaves = tensor_mlp_loss()
    data = backprop_steps(loss)
    matmul = step_of(data, "z")
    assert "A.grad += out.grad @ Bᵀ" in matmul["lines"]
    assert "B.grad += Aᵀ @ out.grad" in matmul["lines"]
    assert text(leaves["W"].data) in where_of(matmul)  # a small array, in full
    add = step_of(data, "h")
    received = f"b.grad += {text(leaves['b'].grad)}"
    k = next(i for i, line in enumerate(add["lines"]) if line.endswith(received))
    b_line = add["lines"][k - 1]  # the op's line for b, above what b received
    assert "sum" in b_line.lower() or "Σ" in b_line  # b was broadcast over the rows: summed
    total = step_of(data, "s")
    assert any("broadcast" in line for line in total["lines"][:1])


def test_op_fused_batchnorm_states_its_formula_with_its_numbers_scalar() -> None:
    data = backprop_steps(EXAMPLES["bn-fused"][0]())
    (fused,) = [s for s in data["steps"] if data["nodes"][s["node"]]["kind"] == "op"]
    want = torch_batchnorm_example_grads()
    where = where_of(fused)
    # dbeta = Σdy and dgamma = Σ(dy·x̂) are the formula's two sums: their numbers are put in
    assert num(want["beta"]) in where and num(want["gamma"]) in where
    assert "1.5" in where  # gamma


def test_op_fused_batchnorm_states_its_formula_with_its_numbers_tensor() -> None:
    loss, leaves, weights = tensor_batchnorm("fused")
    data = backprop_steps(loss)
    step = step_of(data, "y")
    tx = torch.tensor(leaves["x"].data, requires_grad=True)
    tg = torch.tensor(leaves["gamma"].data, requires_grad=True)
    tb = torch.tensor(leaves["beta"].data, requires_grad=True)
    y = torch.nn.functional.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5)
    (y * torch.tensor(weights)).sum().backward()
    where = where_of(step)
    # per channel: Σdy is dbeta, Σ(dy·x̂) is dgamma (arrays of 2, shown in full)
    assert text(tb.grad.numpy()) in where and text(tg.grad.numpy()) in where


# ---------------------------------------------------------------- a user's ops


class Cube(ScalarFunction):
    """y = x³ for each input, one op (a user's multi-output op with its formula)."""

    name = "cube"

    @staticmethod
    def forward(ctx: Any, *xs: float) -> list[float]:
        ctx.xs = xs
        return [x**3 for x in xs]

    @staticmethod
    def backward(ctx: Any, grads: np.ndarray) -> list[float]:
        return [3 * x**2 * g for x, g in zip(ctx.xs, grads, strict=True)]

    @staticmethod
    def formula(ctx: Any, grads: np.ndarray) -> Formula:
        lines = tuple(f"x{i}.grad += dy{i} · 3·x{i}²" for i in range(len(ctx.xs)))
        values = {f"x{i}": x for i, x in enumerate(ctx.xs)}
        values.update({f"dy{i}": float(g) for i, g in enumerate(grads)})
        return Formula(lines, values)


class Square(Function):
    """y = x² elementwise (a user's tensor op with its formula)."""

    name = "square"

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[np.ndarray]:
        (x,) = ctx.saved_arrays
        return (2 * x * grad,)

    @staticmethod
    def formula(ctx: Any, grad: np.ndarray) -> Formula:
        (x,) = ctx.saved_arrays
        return Formula(("x.grad += out.grad · 2x",), {"x": x, "out.grad": grad})


def test_op_a_users_scalar_function_states_its_formula() -> None:
    assert hasattr(Cube, USER_HOOK)
    a, b = mg.Value(2.0, "a"), mg.Value(-1.0, "b")
    ya, yb = Cube.apply(a, b)
    loss = ya + yb * 3.0
    loss.label = "L"
    data = backprop_steps(loss)
    (op,) = [s for s in data["steps"] if data["nodes"][s["node"]]["kind"] == "op"]
    assert "x0.grad += dy0 · 3·x0²" in op["lines"] and "x1.grad += dy1 · 3·x1²" in op["lines"]
    assert "  → x0 is a: a.grad += 12" in op["lines"]  # 3 · 2² · 1
    assert where_of(op) == "where x0 = 2, x1 = -1, dy0 = 1, dy1 = 3"


def test_op_a_users_function_states_its_formula() -> None:
    assert hasattr(Square, USER_HOOK)
    x = mg.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    x.label = "x"
    y = Square.apply(x)
    y.label = "y"
    data = backprop_steps(y.sum())
    step = step_of(data, "y")
    assert step["lines"][:2] == ["x.grad += out.grad · 2x", "  → x.grad += [2, -4, 6]"]
    assert where_of(step) == "where x = [1, -2, 3], out.grad = [1, 1, 1]"

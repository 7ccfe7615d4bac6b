"""``minigrad.grad`` and ``backward(create_graph=True)``: PyTorch's semantics, in both
engines, and clear errors raised before any ``.grad`` changes."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.scalar.function import ScalarFunction
from minigrad.tensor.function import Function


def test_grad_returns_gradients_and_touches_no_grad_in_either_engine() -> None:
    a, b = mg.Value(2.0), mg.Value(-3.0)
    a.grad = 5.0  # an earlier gradient: must survive
    ga, gb = mg.grad(a * b + a, [a, b])
    assert (ga.data, gb.data) == (-2.0, 2.0)
    assert (a.grad, b.grad) == (5.0, 0.0)
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    (gx,) = mg.grad(y, x)
    np.testing.assert_array_equal(gx.data, [2.0, 4.0])
    assert x.grad is None and y.grad is None
    assert mg.autograd.grad is mg.grad


def test_create_graph_gives_nodes_that_differentiate_again_to_any_order() -> None:
    x = mg.Value(0.5)
    g = (x * x * x).tanh()
    derivatives = []
    for _ in range(4):
        (g,) = mg.grad(g, x, create_graph=True)
        derivatives.append(g.data)
    t = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    h = (t * t * t).tanh()
    for k in range(4):
        (h,) = torch.autograd.grad(h, t, create_graph=True)
        assert derivatives[k] == pytest.approx(h.item(), rel=1e-10)


def test_backward_create_graph_puts_graphs_in_grad_in_both_engines() -> None:
    x = mg.Value(0.3)
    (x * x * x).backward(create_graph=True)
    assert isinstance(x.grad, mg.Value) and x.grad.data == pytest.approx(3 * 0.09)
    second = x.grad
    x.grad = 0.0
    second.backward()
    assert x.grad == pytest.approx(6 * 0.3)

    w = mg.tensor(np.array([0.5, -1.0]), requires_grad=True)
    (w**3).sum().backward(create_graph=True)
    assert isinstance(w.grad, mg.Tensor) and w.grad.requires_grad
    first = w.grad
    w.grad = None
    first.sum().backward()
    np.testing.assert_allclose(w.grad, 6 * np.array([0.5, -1.0]))


def test_grad_outputs_and_non_scalar_outputs() -> None:
    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        mg.grad(y, x)
    (g,) = mg.grad(y, x, grad_outputs=mg.tensor(np.array([1.0, 0.0, 2.0])))
    np.testing.assert_array_equal(g.data, [2.0, 0.0, 12.0])
    with pytest.raises(ValueError, match="grad has shape"):
        mg.grad(y, x, grad_outputs=np.ones(2))
    with pytest.raises(ValueError, match="2 grad_outputs for 1 outputs"):
        mg.grad(y, x, grad_outputs=[np.ones(3), np.ones(3)])


def test_unused_inputs_are_named_unless_allowed() -> None:
    a, b = mg.Value(1.0, "a"), mg.Value(2.0, "b")
    with pytest.raises(RuntimeError, match=r"input 1 \(Value 'b'\) was not used"):
        mg.grad(a * 3.0, [a, b])
    ga, gb = mg.grad(a * 3.0, [a, b], allow_unused=True)
    assert ga.data == 3.0 and gb is None
    x = mg.tensor([1.0], requires_grad=True)
    z = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"input 1 .* was not used"):
        mg.grad((x * 2).sum(), [x, z])


def test_mixing_engines_and_wrong_types_are_refused() -> None:
    v = mg.Value(1.0)
    t = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="mix engines"):
        mg.grad(v * 2.0, [t])
    with pytest.raises(TypeError, match=r"inputs\[0\] is a float"):
        mg.grad(v * 2.0, [1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.grad((t * 2).sum(), [mg.tensor([1.0])])


def test_create_graph_through_a_freed_graph_is_refused_before_anything_changes() -> None:
    x = mg.tensor(np.array([0.5, 1.5]), requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    before = x.grad.copy()
    with pytest.raises(RuntimeError, match="second time"):
        mg.grad(y, x, create_graph=True)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward(create_graph=True)
    np.testing.assert_array_equal(x.grad, before)


class CubeTensor(Function):
    """A user's op with a NumPy backward: right once, refused twice."""

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return a**3

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray]:
        (a,) = ctx.saved_arrays
        return (3 * np.square(a) * g,)


class CubeTwice(CubeTensor):
    """The same op declared differentiable: its backward uses operators only."""

    differentiable_backward = True

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any]:
        (a,) = ctx.saved_arrays
        return (3 * a * a * g,)


class CubeScalar(ScalarFunction):
    @staticmethod
    def forward(ctx: Any, a: float) -> list[float]:
        ctx.a = a
        return [a**3]

    @staticmethod
    def backward(ctx: Any, grads: np.ndarray) -> list[float]:
        return [3 * ctx.a**2 * grads[0]]


def test_a_user_op_with_a_numpy_backward_is_right_once_and_refused_twice() -> None:
    x = mg.tensor(np.array([0.5, 2.0]), requires_grad=True)
    x.grad = np.array([7.0, 7.0])
    (g,) = mg.grad(CubeTensor.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * np.array([0.25, 4.0]))  # the first derivative: right
    with pytest.raises(RuntimeError, match=r"cubetensor backward: .* cannot be differentiated"):
        mg.grad(g.sum(), x)
    with pytest.raises(RuntimeError, match="cubetensor backward"):
        g.sum().backward()
    np.testing.assert_array_equal(x.grad, [7.0, 7.0])  # refused before anything was written

    v = mg.Value(0.5)
    (gv,) = mg.grad(CubeScalar.apply(v)[0], v, create_graph=True)
    assert gv.data == pytest.approx(0.75)
    with pytest.raises(RuntimeError, match=r"CubeScalar backward: .* cannot be differentiated"):
        mg.grad(gv, v)
    assert v.grad == 0.0


def test_a_user_op_declared_differentiable_differentiates_twice() -> None:
    x = mg.tensor(np.array([0.5, 2.0]), requires_grad=True)
    (g,) = mg.grad(CubeTwice.apply(x).sum(), x, create_graph=True)
    (h,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * np.array([0.5, 2.0]))
    report = mg.gradgradcheck(
        lambda t: CubeTwice.apply(t), [mg.tensor(np.array([0.3, -1.2]), requires_grad=True)]
    )
    assert report.max_abs_error < 1e-6


def test_a_hessian_vector_product_of_an_mlp_matches_torch() -> None:
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    model = mg.nn.Sequential(mg.nn.Linear(3, 5), mg.nn.Tanh(), mg.nn.Linear(5, 2))
    model = model.double() if hasattr(model, "double") else model
    params = list(model.parameters())
    for p in params:
        p.data = p.data.astype(np.float64)
    tp = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    vs = [rng.normal(size=p.shape) for p in params]

    out = model(mg.tensor(x))
    loss = mg.nn.functional.nll_loss(out.log_softmax(axis=1), t)
    gs = mg.grad(loss, params, create_graph=True)
    hv = mg.grad(sum((g * v).sum() for g, v in zip(gs, vs)), params)

    h = torch.tanh(torch.tensor(x) @ tp[0].T + tp[1]) @ tp[2].T + tp[3]
    tl = torch.nn.functional.nll_loss(h.log_softmax(dim=1), torch.tensor(t))
    tg = torch.autograd.grad(tl, tp, create_graph=True)
    thv = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(tg, vs)), tp)
    for mine, theirs in zip(hv, thv, strict=True):
        np.testing.assert_allclose(mine.data, theirs.numpy(), rtol=1e-9, atol=1e-12)


def test_the_graph_of_a_gradient_boxes_what_backward_built() -> None:
    x = mg.Value(0.7, "x")
    y = (x * x).tanh()
    y.label = "y"
    (g,) = mg.grad(y, x, create_graph=True)
    g.label = "dy/dx"
    scopes = {n._scope for n in mg.topological_order(g) if n._scope}
    assert any(s and s[-1].startswith("backward of tanh") for s in scopes)
    assert any(s and s[-1].startswith("backward of *") for s in scopes)
    source = mg.draw_graph(g).source
    assert "backward of tanh" in source and "cluster" in source


def test_the_player_plays_the_second_backward() -> None:
    from minigrad.viz.player import backprop_steps

    x = mg.Value(0.7, "x")
    (g,) = mg.grad((x * x * x).tanh(), x, create_graph=True)
    data = backprop_steps(g)
    assert data["steps"], "the second backward has steps"
    # the player runs backward on its own copy of the pass; its final x.grad is d2y/dx2
    t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.tanh(t**3), t, create_graph=True)
    (th,) = torch.autograd.grad(tg, t)
    x_index = next(i for i, n in enumerate(data["nodes"]) if n["name"] == "x")
    finals = [u["grad"] for s in data["steps"] for u in s["updates"] if u["node"] == x_index]
    assert finals[-1] == pytest.approx(th.item(), rel=1e-9)


def test_value_repr_with_a_graph_gradient_and_deepcopy_of_a_leaf() -> None:
    x = mg.Value(0.3, "x")
    (x * x).backward(create_graph=True)
    assert "grad=Value(" in repr(x)
    y = copy.deepcopy(mg.Value(1.0))
    assert y.data == 1.0

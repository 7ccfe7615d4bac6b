"""The engine around the ops: backward semantics, graph release, grad mode, dtypes,
constructors, errors (message and nothing changed), anomaly mode, the extension point.
"""

from __future__ import annotations

import re
import weakref

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.tensor.function import Function, unbroadcast


def leaf(*shape, seed=0):
    return mg.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# ---------------------------------------------------------------- backward semantics


def test_leaves_accumulate_and_intermediates_are_recomputed_each_pass():
    x = leaf(3)
    y = x * x
    loss = y.sum()
    loss.backward(retain_graph=True)
    first_x, first_y = x.grad.copy(), y.grad.copy()
    np.testing.assert_allclose(first_x, 2 * x.data)
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first_x)  # the leaf accumulated
    np.testing.assert_allclose(y.grad, first_y)  # the intermediate was reset, not doubled


def test_a_tensor_used_twice_gets_both_contributions():
    x = leaf(2, 2)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)


def test_gradients_match_torch_on_a_graph_with_shared_subexpressions():
    data = np.random.default_rng(3).standard_normal((4, 3))
    x = mg.Tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    h, th = x.tanh(), t.tanh()
    (h @ h.T * h.sum(0).exp().mean() - h.softmax(0)[1:].var()).sum().backward()
    (th @ th.T * th.sum(0).exp().mean() - th.softmax(0)[1:].var()).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10)


def test_backward_with_explicit_grad_is_a_vector_jacobian_product():
    x = leaf(3)
    w = np.array([1.0, -2.0, 0.5])
    (x * 3).backward(w)
    np.testing.assert_allclose(x.grad, 3 * w)


def test_one_element_non_scalar_output_may_omit_grad():
    x = leaf(1, 1)
    (x * 2).backward()
    np.testing.assert_allclose(x.grad, [[2.0]])


def test_leaf_gradients_never_share_memory_with_other_gradients():
    a, b = leaf(3), leaf(3, seed=1)
    seed = np.ones(3)
    y = a + b
    y.backward(seed)
    assert not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, y.grad) and not np.shares_memory(a.grad, seed)
    a.grad *= 10  # an optimizer may do this
    np.testing.assert_array_equal(b.grad, 1.0)
    np.testing.assert_array_equal(seed, 1.0)


def test_constants_are_kept_in_prev_but_get_no_gradient():
    x = leaf(2)
    c = mg.tensor([1.0, 2.0], dtype=np.float64)
    y = x * c + 1.0
    assert y.requires_grad and len(y._prev) == 2
    assert y._prev[0]._prev == (x, c)
    y.sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad, c.data)


def test_result_requires_grad_only_if_an_input_does():
    a = mg.ones(2)
    assert not (a * 2).requires_grad and (a * 2)._prev == ()
    assert (a * mg.ones(2, requires_grad=True)).requires_grad


def test_deep_chain_needs_no_recursion():
    x = leaf(1)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**5000])


def test_node_protocol_fields():
    x = leaf(2)
    x.label = "x"
    with mg.name_scope("block"), mg.name_scope("inner"):
        y = x.exp()
    assert y._op == "exp" and y._prev == (x,) and y._scope == ("block", "inner")
    assert isinstance(y._ctx, Function) and y._ctx.name == "exp"
    assert y._ctx.saved_arrays[0] is y.data
    assert x._op == "" and x._prev == () and x.label == "x"
    assert mg.topological_order(y) == [x, y]


def test_record_backward_sees_every_tensor_op():
    x = leaf(2)
    y = (x * 2).sum()
    with mg.record_backward() as steps:
        y.backward()
    assert [s.node._op for s in steps] == ["sum", "mul"]
    np.testing.assert_allclose(steps[1].contributions[0][1], 2.0)


# ---------------------------------------------------------------- releasing the graph


def test_saved_arrays_are_released_after_backward():
    x = leaf(1000)
    y = (x.exp() * x).sum()
    ctxs = [node._ctx for node in mg.topological_order(y) if node._ctx is not None]
    assert [c.name for c in ctxs] == ["exp", "mul", "sum"]
    assert ctxs[0].saved_arrays and ctxs[1].saved_arrays
    y.backward()
    assert all(c.saved_arrays is None and c.freed for c in ctxs)


def test_released_saved_array_is_freed_when_nothing_else_holds_it():
    x = leaf(1000)
    loss = (x**3).sum()  # pow saves its input x; x's data stays alive as the leaf
    inner = mg.Tensor(np.random.default_rng(0).standard_normal(1000), requires_grad=True)
    y = inner.tanh()  # tanh saves its output, which is also y.data
    ref = weakref.ref(y.data)
    loss2 = (y.sum() * 2).sum()
    y.data = y.data.copy()  # only the ctx holds the original output now
    assert ref() is not None
    loss2.backward()
    assert ref() is None  # released by the ctx, so freed
    loss.backward()


def test_second_backward_through_freed_graph_raises_and_changes_nothing():
    x = leaf(3)
    y = (x.exp() * 2).sum()
    y.backward()
    before = x.grad.copy()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad, before)


def test_retain_graph_keeps_saved_arrays_for_a_second_pass():
    x = leaf(3)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    assert y._prev[0]._ctx.saved_arrays is not None
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * np.exp(x.data))


# ---------------------------------------------------------------- grad mode


def test_no_grad_builds_no_graph_and_enable_grad_restores_it():
    x = leaf(2)
    with mg.no_grad():
        y = x * 2 + 1
        with mg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y._prev == () and y._ctx is None
    np.testing.assert_allclose(y.data, x.data * 2 + 1)
    assert z.requires_grad and z._prev[0] is x


def test_no_grad_as_decorator():
    @mg.no_grad()
    def predict(x):
        return x.relu()

    assert not predict(leaf(3)).requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = leaf(2)
    d = (x * 2).detach()
    assert not d.requires_grad and d._prev == ()
    x2 = x.detach()
    assert x2.data is x.data


# ---------------------------------------------------------------- dtypes and constructors


def test_default_dtypes_follow_pytorch():
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor(2.5).dtype == np.float32
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.tensor([True]).dtype == np.bool_
    assert mg.Tensor(np.zeros(2)).dtype == np.float64  # an array keeps its dtype
    assert mg.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert mg.zeros(2, 3).dtype == np.float32 and mg.zeros(2, 3).shape == (2, 3)
    assert mg.ones((4,), dtype=np.float64).dtype == np.float64
    assert mg.arange(5).dtype == np.int64 and mg.arange(0.0, 1.0, 0.25).dtype == np.float32
    np.testing.assert_array_equal(mg.arange(2, 8, 2).data, [2, 4, 6])


def test_python_numbers_do_not_upcast_float32():
    x = mg.ones(3, requires_grad=True)
    for y in (x * 2.5, 2.5 * x, x + 1, x / 3.0, x - 1e300 * 0, x**2, 2.0**x):
        assert y.dtype == np.float32


def test_tensor_copies_but_Tensor_shares():
    a = np.ones(3, dtype=np.float32)
    assert mg.Tensor(a).data is a
    copied = mg.tensor(a)
    a[0] = 5
    assert copied.data[0] == 1


def test_random_constructors_take_a_generator_for_reproducibility():
    a = mg.randn(3, 4, rng=np.random.default_rng(7))
    b = mg.randn(3, 4, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32 and a.shape == (3, 4)
    r = mg.rand(1000, dtype=np.float64, rng=np.random.default_rng(0))
    assert r.dtype == np.float64 and r.data.min() >= 0 and r.data.max() < 1
    assert mg.randn(2, requires_grad=True).requires_grad


def test_like_constructors():
    x = mg.ones(2, 3, dtype=np.float64)
    assert mg.zeros_like(x).shape == (2, 3) and mg.zeros_like(x).dtype == np.float64
    np.testing.assert_array_equal(mg.ones_like(x).data, 1)
    assert (
        mg.randn_like(x).dtype == np.float64
        and mg.rand_like(x, dtype=np.float32).dtype == np.float32
    )
    assert mg.zeros_like(x, requires_grad=True).requires_grad


def test_dtype_conversions():
    x = mg.tensor([1.5, -2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and y._op == "cast" and x.float() is x
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [3.0, -4.0])
    accuracy = (mg.tensor([1, 2, 3]) == mg.tensor([1, 0, 3])).float().mean()
    assert accuracy.dtype == np.float32 and np.isclose(accuracy.item(), 2 / 3)
    assert x.long().dtype == np.int64 and not x.long().requires_grad
    with pytest.raises(TypeError, match="astype: a tensor that requires grad cannot become int32"):
        x.astype(np.int32)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match=r"requires_grad.*int64"):
        mg.tensor([1, 2], requires_grad=True)
    labels = mg.tensor([0, 1])
    with pytest.raises(TypeError, match="floating-point"):
        labels.requires_grad_()
    assert not labels.requires_grad


def test_integer_tensors_work_as_data():
    labels = mg.tensor([0, 2, 1])
    scores = mg.randn(3, 3, requires_grad=True)
    picked = scores[mg.arange(3), labels]
    picked.sum().backward()
    expected = np.zeros((3, 3), dtype=np.float32)
    expected[[0, 1, 2], [0, 2, 1]] = 1
    np.testing.assert_array_equal(scores.grad, expected)


def test_small_api():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.size == 4 and len(x) == 2
    assert x.sum().item() == 10.0 and isinstance(x.sum().item(), float)
    assert x.numpy() is x.data
    assert x.is_leaf and not (x * 1).is_leaf
    assert (x * 1).grad_fn.name == "mul"
    with pytest.raises(ValueError, match=r"item: tensor of shape \(2, 2\) has 4 elements"):
        x.item()
    np.testing.assert_array_equal(
        mg.argmax(x, axis=1).data if hasattr(mg, "argmax") else x.argmax(1).data, [1, 1]
    )
    assert x.argmax().item() == 3 and x.argmin(dim=0).tolist() == [0, 0]


def test_comparisons_give_bool_tensors_outside_the_graph():
    x = leaf(4)
    for mask in (x > 0, x < 0, x >= 0, x <= 0, x == x, x != 1.0):
        assert mask.dtype == np.bool_ and not mask.requires_grad and mask._prev == ()
    np.testing.assert_array_equal((x > 0).data, x.data > 0)
    assert x in {x}  # identity hashing still works


def test_repr_looks_like_pytorch():
    assert repr(mg.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    y = mg.tensor([1.0, 2.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2., 4.], grad_fn=<mul>)"
    assert "dtype=float64" in repr(mg.zeros(2, dtype=np.float64))
    assert repr(mg.tensor([1, 2])) == "tensor([1, 2])"


def test_minigrad_tensor_is_the_constructor_and_the_package():
    import minigrad.tensor.ops as ops  # the subpackage stays importable

    assert mg.tensor([1.0]).dtype == np.float32
    assert ops.Add.name == "add"
    assert mg.Tensor is mg.tensor.Tensor


# ---------------------------------------------------------------- errors: clear; nothing changes


def assert_untouched(x, data):
    np.testing.assert_array_equal(x.data, data)
    assert x.grad is None


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda a, b: a + b, ValueError, "add: shapes (3, 4) and (5,) cannot be broadcast"),
        (lambda a, b: a * b, ValueError, "mul: shapes (3, 4) and (5,) cannot be broadcast"),
        (
            lambda a, b: mg.maximum(a, b),
            ValueError,
            "maximum: shapes (3, 4) and (5,) cannot be broadcast",
        ),
    ],
)
def test_broadcast_failure_names_op_and_shapes(make, error, message):
    a, b = leaf(3, 4), leaf(5)
    data = a.data.copy()
    with pytest.raises(error, match=re.escape(message)):
        make(a, b)
    assert_untouched(a, data)


def test_matmul_inner_dimension_mismatch():
    a, b = leaf(3, 4), leaf(5, 2)
    with pytest.raises(
        ValueError, match=re.escape("matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 differ")
    ):
        a @ b
    with pytest.raises(
        ValueError, match=re.escape("matmul: (4,) @ (5, 2): inner dimensions 4 and 5 differ")
    ):
        leaf(4) @ b
    with pytest.raises(ValueError, match=r"matmul: \(\) @ \(5, 2\)"):
        mg.Tensor(np.float64(1.0)) @ b
    with pytest.raises(
        ValueError, match=r"matmul: shapes \(2, 3, 4\) and \(3, 4, 5\) cannot be broadcast"
    ):
        leaf(2, 3, 4) @ leaf(3, 4, 5)
    assert_untouched(a, a.data)


def test_reshape_to_a_different_size():
    x = leaf(3, 4)
    with pytest.raises(
        ValueError, match=re.escape("reshape: cannot reshape (3, 4) (12 elements) into (5,)")
    ):
        x.reshape(5)
    with pytest.raises(
        ValueError, match=re.escape("view: cannot reshape (3, 4) (12 elements) into (5, -1)")
    ):
        x.view(5, -1)
    assert_untouched(x, x.data.copy())
    np.testing.assert_allclose(x.reshape(2, 6).data.ravel(), x.data.ravel())  # still usable


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.sum(axis=2),
        lambda x: x.mean(dim=-3),
        lambda x: x.max(axis=5),
        lambda x: x.var(axis=(0, 2)),
        lambda x: x.softmax(2),
        lambda x: x.log_softmax(-3),
        lambda x: x.logsumexp(9),
        lambda x: x.transpose(0, 2),
        lambda x: x.unsqueeze(3),
        lambda x: x.squeeze(2),
        lambda x: mg.cat([x, x], axis=2),
        lambda x: mg.stack([x, x], 4),
        lambda x: x.argmax(2),
    ],
    ids=[
        "sum",
        "mean",
        "max",
        "var",
        "softmax",
        "log_softmax",
        "logsumexp",
        "transpose",
        "unsqueeze",
        "squeeze",
        "cat",
        "stack",
        "argmax",
    ],
)
def test_out_of_range_axis_names_the_op_and_shape(op):
    x = leaf(3, 4)
    with pytest.raises(IndexError, match=r"out of range.*(\(3, 4\)|3-d)"):
        op(x)
    assert_untouched(x, x.data)


def test_other_bad_input():
    x = leaf(3, 4)
    with pytest.raises(IndexError, match=r"index: .*out of bounds.*\(3, 4\)"):
        x[5]
    with pytest.raises(
        ValueError, match=re.escape("cat: shapes (3, 4) and (3, 5) differ outside axis 0")
    ):
        mg.cat([x, leaf(3, 5)])
    with pytest.raises(
        ValueError,
        match=re.escape("stack: every tensor needs the same shape, got (3, 4) and (4, 3)"),
    ):
        mg.stack([x, leaf(4, 3)])
    with pytest.raises(ValueError, match="permute: dims"):
        x.permute(0, 0)
    with pytest.raises(TypeError, match="unsupported operand"):
        x + "a"
    with pytest.raises(TypeError, match="axis or dim, not both"):
        x.sum(axis=0, dim=1)
    assert_untouched(x, x.data)


def test_non_scalar_backward_without_grad():
    x = leaf(3, 2)
    y = x * 2
    with pytest.raises(
        RuntimeError,
        match=re.escape(
            "backward: grad can be implicitly created only for scalar outputs, got shape (3, 2)"
        ),
    ):
        y.backward()
    assert x.grad is None and y.grad is None
    y.backward(np.ones((3, 2)))  # the graph was not freed by the failed call
    np.testing.assert_allclose(x.grad, 2.0)


def test_wrong_shape_grad_names_both_shapes():
    x = leaf(3, 2)
    y = x * 2
    with pytest.raises(
        ValueError,
        match=re.escape("backward: grad has shape (2, 3) but the tensor has shape (3, 2)"),
    ):
        y.backward(np.ones((2, 3)))
    assert x.grad is None


def test_backward_on_a_tensor_without_graph():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.ones(1).backward()


# ---------------------------------------------------------------- anomaly mode and gradcheck


def test_detect_anomaly_names_the_op_and_input_shapes():
    x = mg.tensor([[1.0, -1.0]], requires_grad=True)
    with mg.detect_anomaly():
        with pytest.raises(
            mg.AnomalyError,
            match=re.escape("log: forward produced NaN from inputs of shapes ((1, 2))"),
        ):
            x.log()
        with (
            pytest.raises(mg.AnomalyError, match=r"div: forward produced inf"),
            np.errstate(all="ignore"),
        ):
            x / mg.zeros(2)
        (x * 2).sum().backward()  # a clean graph passes
    x.log()  # outside, NaN is allowed, as in NumPy


def test_detect_anomaly_catches_a_non_finite_gradient():
    x = mg.tensor([0.0, 1.0], dtype=np.float64, requires_grad=True)
    y = x.sqrt().sum()  # finite forward, infinite gradient at 0
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match="sqrt backward"):
        y.backward()


def test_gradcheck_works_on_tensors_and_catches_a_wrong_backward():
    class WrongSquare(Function):
        name = "wrong_square"

        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_arrays
            return (g * a,)  # should be 2 a

    x = leaf(3)
    mg.gradcheck(lambda x: (x * x).sum(), [x])
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda x: WrongSquare.apply(x), [x])
    with pytest.raises(TypeError, match="float64"):
        mg.gradcheck(lambda x: x * x, [mg.ones(2, requires_grad=True)])


# ---------------------------------------------------------------- the extension point


class ScaledSquare(Function):
    """out = s * a**2, with a hand-written backward, marked fused."""

    name = "scaled_square"
    fused = True

    @staticmethod
    def forward(ctx, a, scale=1.0):
        ctx.scale = scale
        ctx.save_for_backward(a)
        return scale * a * a

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_arrays
        return (g * 2 * ctx.scale * a,)


def test_a_user_function_joins_the_graph():
    x = leaf(2, 3)
    y = ScaledSquare.apply(x, scale=3.0)
    assert y._op == "scaled_square" and y._ctx.fused and y._prev == (x,)
    mg.gradcheck(lambda x: ScaledSquare.apply(x, scale=3.0), [x])


def test_an_op_without_a_name_is_called_by_its_class():
    class Double(Function):
        @staticmethod
        def forward(ctx, a):
            return 2 * a

        @staticmethod
        def backward(ctx, g):
            return (2 * g,)

    assert Double.apply(leaf(2))._op == "double"


def test_the_engine_unbroadcasts_what_a_backward_returns():
    class AddRow(Function):
        name = "add_row"

        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g, g  # the broadcast shape for both: the engine sums b's back

    a, b = leaf(4, 3), leaf(3)
    AddRow.apply(a, b).sum().backward()
    np.testing.assert_allclose(b.grad, [4.0, 4.0, 4.0])


def test_unbroadcast():
    g = np.ones((2, 3, 4))
    assert unbroadcast(g, (2, 3, 4)) is g
    np.testing.assert_array_equal(unbroadcast(g, (4,)), np.full(4, 6.0))
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(unbroadcast(g, ()), 24.0)
    np.testing.assert_array_equal(unbroadcast(g, (1, 1, 1)), np.full((1, 1, 1), 24.0))
    with pytest.raises(ValueError, match="does not fit"):
        unbroadcast(g, (5,))


def test_arrays_on_the_left_call_the_reflected_ops():
    x = leaf(3)
    a = np.array([1.0, 2.0, 3.0])
    y = a * x + a - x / a
    assert isinstance(y, mg.Tensor) and y.requires_grad
    z = np.ones((2, 3)) @ x
    assert isinstance(z, mg.Tensor) and z._op == "matmul"
    (y.sum() + z.sum()).backward()
    np.testing.assert_allclose(x.grad, a - 1 / a + 2)


def test_a_backward_returning_the_wrong_number_or_shape_of_gradients_is_caught():
    class TwoGrads(Function):
        name = "two_grads"

        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    class WrongShape(TwoGrads):
        name = "wrong_shape"

        @staticmethod
        def backward(ctx, g):
            return (g[:1],)

    with pytest.raises(RuntimeError, match="two_grads backward: returned 2 gradients for 1 inputs"):
        TwoGrads.apply(leaf(3)).sum().backward()
    with pytest.raises(RuntimeError, match=r"wrong_shape backward: gradient of shape \(1,\)"):
        WrongShape.apply(leaf(3)).sum().backward()

"""Every differentiable op: gradients against central differences (float64, ``gradcheck``)
and forward values and gradients against PyTorch, on shapes that exercise broadcasting.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes
from tensor_cases import BINARY, MULTI, REDUCTIONS, REDUCTIONS_2D, SHAPE_234, UNARY, values

import minigrad as mg

SETTINGS = settings(max_examples=15, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)


def check_against_torch_and_differences(mg_fn, torch_fn, arrays: list[np.ndarray]) -> None:
    """Forward and gradients of ``sum(w * f(inputs))`` vs PyTorch, and gradcheck."""
    xs = [mg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = mg_fn(*xs)
    expected = torch_fn(*ts)
    assert out.dtype == np.float64
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)

    w = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(w)
    (expected * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        assert x.grad.shape == x.shape and x.grad.dtype == np.float64
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)

    fresh = [mg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    mg.gradcheck(mg_fn, fresh)


@pytest.mark.parametrize("name, mg_fn, torch_fn, domain", BINARY, ids=[c[0] for c in BINARY])
@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    seed=SEEDS,
)
def test_binary_op_with_broadcasting(name, mg_fn, torch_fn, domain, shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (values(s, domain, rng) for s in shapes.input_shapes)
    if name == "pow":  # exponents of either sign, bases positive
        b = rng.standard_normal(shapes.input_shapes[1])
    check_against_torch_and_differences(mg_fn, torch_fn, [a, b])


@pytest.mark.parametrize("name, mg_fn, torch_fn, domain", UNARY, ids=[c[0] for c in UNARY])
@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), seed=SEEDS)
def test_unary_op(name, mg_fn, torch_fn, domain, shape, seed):
    check_against_torch_and_differences(
        mg_fn, torch_fn, [values(shape, domain, np.random.default_rng(seed))]
    )


@pytest.mark.parametrize("name, mg_fn, torch_fn", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), seed=SEEDS)
def test_reduction(name, mg_fn, torch_fn, shape, seed):
    if name.startswith("var"):
        shape = tuple(max(n, 3) for n in shape)  # N - correction must stay positive
    check_against_torch_and_differences(
        mg_fn, torch_fn, [values(shape, "any", np.random.default_rng(seed))]
    )


@pytest.mark.parametrize("name, mg_fn, torch_fn", REDUCTIONS_2D, ids=[c[0] for c in REDUCTIONS_2D])
@SETTINGS
@given(shape=array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=3), seed=SEEDS)
def test_reduction_over_several_axes(name, mg_fn, torch_fn, shape, seed):
    check_against_torch_and_differences(
        mg_fn, torch_fn, [values(shape, "any", np.random.default_rng(seed))]
    )


@pytest.mark.parametrize("name, mg_fn, torch_fn", SHAPE_234, ids=[c[0] for c in SHAPE_234])
def test_shape_op(name, mg_fn, torch_fn):
    check_against_torch_and_differences(
        mg_fn, torch_fn, [values((2, 3, 4), "any", np.random.default_rng(0))]
    )


@pytest.mark.parametrize("name, mg_fn, torch_fn, shapes", MULTI, ids=[c[0] for c in MULTI])
def test_op_with_several_inputs(name, mg_fn, torch_fn, shapes):
    rng = np.random.default_rng(0)
    check_against_torch_and_differences(mg_fn, torch_fn, [values(s, "any", rng) for s in shapes])


@SETTINGS
@given(
    batch=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
    sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    vector=st.sampled_from(["none", "left", "right", "both"]),
    seed=SEEDS,
)
def test_matmul_with_broadcast_batch_dims_and_1d_operands(batch, sizes, vector, seed):
    m, k, n = sizes
    a_shape = (k,) if vector in ("left", "both") else (*batch.input_shapes[0], m, k)
    b_shape = (k,) if vector in ("right", "both") else (*batch.input_shapes[1], k, n)
    rng = np.random.default_rng(seed)
    check_against_torch_and_differences(
        lambda a, b: a @ b,
        lambda a, b: a @ b,
        [rng.standard_normal(a_shape), rng.standard_normal(b_shape)],
    )


# ---------------------------------------------------------------- ties and kinks, as PyTorch


def grads_of(fn, data):
    x = mg.tensor(data, dtype=np.float64, requires_grad=True)
    fn(x).sum().backward()
    t = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    return x.grad, t


TIES = [1.0, 3.0, 3.0], [2.0, 2.0, 0.0]


def test_full_max_and_min_split_the_gradient_among_ties_like_torch():
    for ours, theirs in [
        (lambda x: x.max(), lambda t: t.max()),
        (lambda x: x.min(), lambda t: t.min()),
    ]:
        grad, t = grads_of(ours, TIES)
        theirs(t).backward()
        np.testing.assert_array_equal(grad, t.grad.numpy())
    grad, _ = grads_of(lambda x: x.max(), TIES)
    np.testing.assert_array_equal(grad, [[0, 0.5, 0.5], [0, 0, 0]])


def test_max_along_one_axis_sends_the_gradient_to_the_first_tie_like_torch():
    grad, t = grads_of(lambda x: x.max(dim=1), TIES)
    t.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(grad, t.grad.numpy())
    np.testing.assert_array_equal(grad, [[0, 1, 0], [1, 0, 0]])
    grad, t = grads_of(lambda x: x.min(axis=0, keepdims=True), TIES)
    t.min(dim=0, keepdim=True).values.sum().backward()
    np.testing.assert_array_equal(grad, t.grad.numpy())


def test_max_over_a_tuple_of_axes_splits_ties_like_amax():
    grad, t = grads_of(lambda x: x.max(axis=(1,)), TIES)
    t.amax(dim=(1,)).sum().backward()
    np.testing.assert_array_equal(grad, t.grad.numpy())


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda x: x.relu(), torch.relu),
        (lambda x: x.abs(), torch.abs),
        (lambda x: x.clip(0.0, 1.0), lambda t: t.clamp(0.0, 1.0)),
        (
            lambda x: mg.maximum(x, mg.zeros(3, dtype=np.float64)),
            lambda t: torch.maximum(t, torch.zeros(3, dtype=torch.float64)),
        ),
        (
            lambda x: mg.minimum(x, mg.zeros(3, dtype=np.float64)),
            lambda t: torch.minimum(t, torch.zeros(3, dtype=torch.float64)),
        ),
        (lambda x: x**0.5, lambda t: t**0.5),
    ],
    ids=["relu", "abs", "clip", "maximum", "minimum", "sqrt_at_0"],
)
def test_gradient_at_kinks_matches_torch(ours, theirs):
    grad, t = grads_of(ours, [-1.0, 0.0, 1.0])
    theirs(t).sum().backward()
    np.testing.assert_array_equal(grad, t.grad.numpy())


def test_pow_of_zero_base_has_zero_exponent_gradient_like_torch():
    a = mg.tensor([0.0, 1.0, 2.0], dtype=np.float64, requires_grad=True)
    b = mg.tensor([2.0, 0.5, 3.0], dtype=np.float64, requires_grad=True)
    (a**b).sum().backward()
    ta = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    (ta**tb).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy())
    np.testing.assert_allclose(b.grad, tb.grad.numpy())
    assert np.isfinite(b.grad).all()


# ---------------------------------------------------------------- numerical stability


def test_logsumexp_softmax_and_log_softmax_are_stable_for_huge_inputs():
    data = np.array([[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e4]])
    x = mg.Tensor(data, requires_grad=True)
    t = torch.tensor(data)
    np.testing.assert_allclose(x.logsumexp(axis=1).data, t.logsumexp(1).numpy())
    np.testing.assert_allclose(x.softmax(-1).data, t.softmax(-1).numpy())
    np.testing.assert_allclose(x.log_softmax(-1).data, t.log_softmax(-1).numpy())
    x.log_softmax(-1).sum().backward()
    assert np.isfinite(x.grad).all()


def test_sigmoid_is_stable_at_both_ends():
    x = mg.Tensor(np.array([-800.0, -40.0, 0.0, 40.0, 800.0]), requires_grad=True)
    out = x.sigmoid()
    np.testing.assert_allclose(out.data, torch.sigmoid(torch.tensor(x.data)).numpy(), rtol=1e-15)
    out.sum().backward()
    assert np.isfinite(x.grad).all()


# ---------------------------------------------------------------- float32 stays float32

FLOAT32_CASES = [(c[0], c[1], 1, c[3]) for c in UNARY] + [(c[0], c[1], 2, c[3]) for c in BINARY]


@pytest.mark.parametrize("name, fn, n, domain", FLOAT32_CASES, ids=[c[0] for c in FLOAT32_CASES])
def test_float32_inputs_give_float32_outputs_and_gradients(name, fn, n, domain):
    rng = np.random.default_rng(0)
    xs = [
        mg.Tensor(values((3, 2), domain, rng).astype(np.float32), requires_grad=True)
        for _ in range(n)
    ]
    out = fn(*xs)
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(x.grad.dtype == np.float32 for x in xs)


@pytest.mark.parametrize(
    "fn",
    [r[1] for r in REDUCTIONS + REDUCTIONS_2D] + [r[1] for r in SHAPE_234],
    ids=[r[0] for r in REDUCTIONS + REDUCTIONS_2D + SHAPE_234],
)
def test_float32_reductions_and_shape_ops_stay_float32(fn):
    x = mg.Tensor(
        values((2, 3, 4), "any", np.random.default_rng(0)).astype(np.float32), requires_grad=True
    )
    out = fn(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_matmul_float32():
    a = mg.randn(3, 4, requires_grad=True)
    b = mg.randn(4, 2, requires_grad=True)
    out = a @ b
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == b.grad.dtype == np.float32


def test_mixing_float32_and_float64_promotes_like_numpy_and_grads_keep_each_dtype():
    a = mg.ones(3, requires_grad=True)
    b = mg.ones(3, dtype=np.float64, requires_grad=True)
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64

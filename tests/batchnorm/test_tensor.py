"""BatchNorm in the tensor engine: composite and fused agree, match central differences
and torch.nn.BatchNorm1d, and reject bad input before any state changes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import Tensor, gradcheck
from minigrad.autograd import topological_order
from minigrad.batchnorm.tensor import (
    BatchNorm1d,
    BatchNormFunction,
    batch_norm,
    batch_norm_composite,
    batch_norm_fused,
)
from minigrad.check import compare_grads

SHAPES = [(4, 3), (5, 2, 3)]


def data(seed, shape, scale=1.0, offset=0.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (offset + scale * rng.standard_normal(shape)).astype(dtype)
    g = (1.0 + 0.5 * rng.standard_normal(c)).astype(dtype)
    b = (0.5 * rng.standard_normal(c)).astype(dtype)
    return x, g, b


def leaves(*arrays):
    return [Tensor(a, requires_grad=True, dtype=a.dtype) for a in arrays]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_composite_and_fused_agree_to_float64_rounding(shape, affine):
    x, g, b = data(1, shape)
    inputs = leaves(x, g, b) if affine else leaves(x)
    result = compare_grads(batch_norm_composite, batch_norm_fused, inputs)
    assert result.max_output_diff < 1e-12
    assert max(result.max_abs_diffs) < 1e-12
    y = result.outputs[1]
    axes = (0,) if len(shape) == 2 else (0, 2)
    expected_mean = b if affine else np.zeros(shape[1])
    np.testing.assert_allclose(y.mean(axis=axes), expected_mean, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("impl", [batch_norm_composite, batch_norm_fused])
def test_gradcheck_training(shape, impl):
    x, g, b = data(2, shape)
    report = gradcheck(impl, leaves(x, g, b), atol=1e-7, rtol=1e-5)
    assert report.max_abs_error < 1e-7


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("impl", ["composite", "fused"])
def test_gradcheck_eval_with_running_statistics(shape, impl):
    x, g, b = data(3, shape)
    rm, rv = np.array([0.3, -0.2] + [0.1] * (shape[1] - 2)), np.linspace(0.5, 2.0, shape[1])

    def f(xt, gt, bt):
        return batch_norm(xt, rm, rv, gt, bt, training=False, impl=impl)

    assert gradcheck(f, leaves(x, g, b), atol=1e-7, rtol=1e-5).max_abs_error < 1e-7


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("impl", ["composite", "fused"])
def test_functional_matches_torch(shape, dtype, training, impl):
    x, g, b = data(4, shape, dtype=dtype, scale=2.0, offset=1.0)
    rng = np.random.default_rng(5)
    dy = rng.standard_normal(shape).astype(dtype)
    rm = (0.1 * rng.standard_normal(shape[1])).astype(dtype)
    rv = (1.0 + rng.random(shape[1])).astype(dtype)
    ours_rm, ours_rv = Tensor(rm.copy(), dtype=dtype), Tensor(rv.copy(), dtype=dtype)
    xs, gs, bs = leaves(x, g, b)
    y = batch_norm(xs, ours_rm, ours_rv, gs, bs, training=training, momentum=0.3, impl=impl)
    y.backward(dy)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    yt = torch.nn.functional.batch_norm(xt, trm, trv, gt, bt, training=training, momentum=0.3)
    yt.backward(torch.tensor(dy))
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    assert y.dtype == dtype and xs.grad.dtype == dtype
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **tol)
    for ours, theirs in ((xs, xt), (gs, gt), (bs, bt)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), **tol)
    np.testing.assert_allclose(ours_rm.data, trm.numpy(), **tol)
    np.testing.assert_allclose(ours_rv.data, trv.numpy(), **tol)


def copy_params(ours, theirs):
    if ours.weight is not None:
        g, b = data(6, (1, ours.num_features), dtype=ours.weight.dtype)[1:]
        ours.weight.data[...] = g
        ours.bias.data[...] = b
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(g))
            theirs.bias.copy_(torch.from_numpy(b))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"affine": False}, {"track_running_stats": False}, {"momentum": None}],
)
@pytest.mark.parametrize("impl", ["composite", "fused"])
def test_module_matches_torch_over_steps_then_eval(shape, dtype, kwargs, impl):
    c = shape[1]
    ours = BatchNorm1d(c, impl=impl, dtype=dtype, **kwargs)
    theirs = torch.nn.BatchNorm1d(
        c, dtype=torch.float64 if dtype == np.float64 else torch.float32, **kwargs
    )
    copy_params(ours, theirs)
    tol = {"rtol": 1e-5, "atol": 2e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    for step in range(3):
        x, _, _ = data(10 + step, shape, scale=1.0 + step, offset=step - 1.0, dtype=dtype)
        dy = np.random.default_rng(step).standard_normal(shape).astype(dtype)
        xs = Tensor(x, requires_grad=True, dtype=dtype)
        y = ours(xs)
        y.backward(dy)
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        yt.backward(torch.tensor(dy))
        np.testing.assert_allclose(y.data, yt.detach().numpy(), **tol)
        np.testing.assert_allclose(xs.grad, xt.grad.numpy(), **tol)
    if ours.weight is not None:
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **tol)
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), **tol)
    if ours.track_running_stats:
        np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), **tol)
        np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), **tol)
        assert int(ours.num_batches_tracked.data) == int(theirs.num_batches_tracked) == 3
    else:
        assert ours.running_mean is None and ours.running_var is None
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.eval(), theirs.eval()
    x = data(20, shape, dtype=dtype)[0]
    np.testing.assert_allclose(
        ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), **tol
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_composite_and_fused_modules_agree_on_running_stats_and_eval(shape, momentum):
    a = BatchNorm1d(shape[1], impl="composite", momentum=momentum, dtype=np.float64)
    b = BatchNorm1d(shape[1], impl="fused", momentum=momentum, dtype=np.float64)
    for step in range(4):
        x = data(step, shape, scale=3.0, offset=2.0)[0]
        a(Tensor(x)), b(Tensor(x))
    assert np.abs(a.running_mean.data - b.running_mean.data).max() < 1e-12
    assert np.abs(a.running_var.data - b.running_var.data).max() < 1e-12
    a.eval(), b.eval()
    x = data(9, shape)[0]
    xa, xb = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    ya, yb = a(xa), b(xb)
    assert np.abs(ya.data - yb.data).max() < 1e-12
    dy = np.random.default_rng(1).standard_normal(shape)
    ya.backward(dy), yb.backward(dy)
    assert np.abs(xa.grad - xb.grad).max() < 1e-12
    assert np.abs(a.weight.grad - b.weight.grad).max() < 1e-12


def test_scalar_engine_matches_tensor_engine():
    from minigrad import Value
    from minigrad.batchnorm.scalar import BatchNorm1d as ScalarBatchNorm1d

    x = data(7, (5, 3), scale=2.0)[0]
    tensor_bn = BatchNorm1d(3, dtype=np.float64, momentum=None)
    for impl in ("composite", "fused"):
        scalar_bn = ScalarBatchNorm1d(3, impl=impl, momentum=None)
        rows = [[Value(float(v)) for v in row] for row in x]
        ys = scalar_bn(rows)
        xt = Tensor(x, requires_grad=True)
        yt = tensor_bn(xt)
        dy = np.random.default_rng(3).standard_normal(x.shape)
        yt.backward(dy)
        from minigrad.check import _backward_from

        _backward_from(ys, dy)
        np.testing.assert_allclose([[v.data for v in r] for r in ys], yt.data, atol=1e-12)
        np.testing.assert_allclose([[v.grad for v in r] for r in rows], xt.grad, atol=1e-12)
        np.testing.assert_allclose(
            [p.grad for p in scalar_bn.weight], tensor_bn.weight.grad, atol=1e-12
        )
        tensor_bn.weight.grad = tensor_bn.bias.grad = None
        tensor_bn.reset_running_stats()
        tensor_bn(Tensor(x))
        np.testing.assert_allclose(scalar_bn.running_mean, tensor_bn.running_mean.data, atol=1e-12)
        np.testing.assert_allclose(scalar_bn.running_var, tensor_bn.running_var.data, atol=1e-12)
        tensor_bn.reset_running_stats()


def test_graphs_fused_is_one_op_composite_is_scoped_steps():
    x, g, b = leaves(*data(8, (4, 3)))
    fused = batch_norm_fused(x, g, b)
    assert fused._op == BatchNormFunction.name == "batchnorm" and BatchNormFunction.fused
    assert set(fused._prev) == {x, g, b}
    composite = batch_norm_composite(x, g, b)
    nodes = topological_order(composite)
    scopes = {n._scope for n in nodes}
    steps = ("mean", "variance", "normalize", "scale_shift")
    assert {("batchnorm", s) for s in steps} <= scopes
    assert sum(1 for n in nodes if n._prev) > 5


def test_constant_feature_trains_finite():
    for impl in ("composite", "fused"):
        bn = BatchNorm1d(2, impl=impl, dtype=np.float64)
        x = np.stack([np.full(6, 3.0), np.arange(6.0)], axis=1)
        xt = Tensor(x, requires_grad=True)
        y = bn(xt)
        y.backward(np.random.default_rng(0).standard_normal(x.shape))
        assert np.isfinite(y.data).all() and np.isfinite(xt.grad).all()
        assert np.isfinite(bn.weight.grad).all() and np.isfinite(bn.running_var.data).all()
        np.testing.assert_array_equal(y.data[:, 0], 0.0)


def state(bn):
    return (
        bn.running_mean.data.copy(),
        bn.running_var.data.copy(),
        int(bn.num_batches_tracked.data),
    )


@pytest.mark.parametrize("impl", ["composite", "fused"])
def test_bad_input_raises_before_any_state_changes(impl):
    bn = BatchNorm1d(3, impl=impl)
    bn(Tensor(data(1, (4, 3), dtype=np.float32)[0]))
    before = state(bn)
    cases = [
        (
            np.zeros((1, 3), np.float32),
            ValueError,
            r"Expected more than 1 value per channel when training, got input size \(1, 3\)",
        ),
        (np.zeros((1, 3, 1), np.float32), ValueError, "more than 1 value per channel"),
        (np.zeros((4, 2), np.float32), ValueError, r"expected 3 features.*\(4, 2\)"),
        (np.zeros((2, 3, 4, 5), np.float32), ValueError, r"expected 2D .* \(got 4D input"),
        (np.zeros(3, np.float32), ValueError, r"got 1D input"),
        (np.zeros((4, 3), np.float64), TypeError, "input dtype float64 does not match"),
    ]
    for x, error, message in cases:
        with pytest.raises(error, match=message):
            bn(Tensor(x, dtype=x.dtype))
        after = state(bn)
        np.testing.assert_array_equal(after[0], before[0])
        np.testing.assert_array_equal(after[1], before[1])
        assert after[2] == before[2]
    bn.eval()
    assert bn(Tensor(np.ones((1, 3), np.float32))).shape == (1, 3)  # fine with running stats
    with pytest.raises(ValueError, match="eps must be > 0"):
        BatchNorm1d(3, eps=-1e-5)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        BatchNorm1d(3, momentum=-0.1)
    with pytest.raises(ValueError, match="impl must be"):
        BatchNorm1d(3, impl="other")
    with pytest.raises(ValueError, match="running_mean must be defined in evaluation mode"):
        batch_norm(Tensor(np.ones((2, 3))), None, None, training=False)
    with pytest.raises(ValueError, match="running_mean should contain 3 elements"):
        batch_norm(Tensor(np.ones((2, 3))), np.zeros(4), np.ones(4), training=True)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 6),
    c=st.integers(1, 3),
    length=st.integers(0, 3),
    scale=st.sampled_from([1e-6, 1e-3, 1.0, 1e3]),
    offset=st.sampled_from([0.0, 1.0, -1e6, 1e6]),
    constant=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_property_composite_equals_fused_and_torch(n, c, length, scale, offset, constant, seed):
    shape = (n, c, length) if length else (n, c)
    x, g, b = data(seed, shape, scale=scale, offset=offset)
    if constant:
        x[:, 0] = offset
    upstream = np.random.default_rng(seed + 1).standard_normal(shape)
    result = compare_grads(
        batch_norm_composite, batch_norm_fused, leaves(x, g, b), upstream=upstream
    )
    cond = max(1.0, abs(offset) / scale)  # x - mean keeps only the digits below the offset
    dx_scale = max(1.0, float(np.abs(result.grads[0][1]).max()))
    assert result.max_output_diff <= 1e-12 * cond
    assert result.max_abs_diffs[0] <= 1e-12 * cond * dx_scale
    assert max(result.max_abs_diffs[1:]) <= 1e-12 * cond * x.size
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
    yt = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True)
    yt.backward(torch.tensor(upstream))
    np.testing.assert_allclose(result.outputs[1], yt.detach().numpy(), atol=1e-9 * cond)
    np.testing.assert_allclose(result.grads[1][1], gt.grad.numpy(), atol=1e-9 * cond * x.size)


@pytest.mark.parametrize("shape", [(2100, 128), (1100, 4, 64), (40000, 7)])
def test_fused_kernels_over_several_cache_blocks_match_torch(shape):
    from minigrad.batchnorm.math import row_blocks

    x, g, b = data(11, shape, scale=2.0, offset=0.5)
    assert len(row_blocks(x)) > 1  # the blocked loops, and a short last block, run
    dy = np.random.default_rng(12).standard_normal(shape)
    xs, gs, bs = leaves(x, g, b)
    y = batch_norm_fused(xs, gs, bs)
    y.backward(dy)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
    yt = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    for ours, theirs in ((xs, xt), (gs, gt), (bs, bt)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-11)


def test_state_dict_loads_into_torch_and_double_converts_buffers():
    ours = BatchNorm1d(3)
    for step in range(2):
        ours(Tensor(data(30 + step, (6, 3), dtype=np.float32)[0]))
    ours.weight.data[...] = [0.5, 1.5, -1.0]
    theirs = torch.nn.BatchNorm1d(3)
    theirs.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in ours.state_dict().items()}
    )
    assert int(theirs.num_batches_tracked) == 2
    ours.eval(), theirs.eval()
    x = data(40, (4, 3), dtype=np.float32)[0]
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(Tensor(x)).data, expected, rtol=1e-6, atol=1e-6)
    ours.double()
    assert ours.running_mean.dtype == np.float64 and ours.num_batches_tracked.dtype == np.int64
    y = ours(Tensor(x.astype(np.float64)))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("impl", ["composite", "fused"])
@pytest.mark.parametrize("which", ["weight", "bias"])
def test_functional_with_only_weight_or_only_bias_matches_torch(impl, which):
    x, g, _ = data(13, (5, 3, 2))
    dy = np.random.default_rng(14).standard_normal(x.shape)
    xs, ps = leaves(x, g)
    y = batch_norm(xs, None, None, training=True, impl=impl, **{which: ps})
    y.backward(dy)
    xt, pt = (torch.tensor(a, requires_grad=True) for a in (x, g))
    yt = torch.nn.functional.batch_norm(xt, None, None, training=True, **{which: pt})
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(xs.grad, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ps.grad, pt.grad.numpy(), atol=1e-12)

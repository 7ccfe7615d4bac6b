"""BatchNorm in the scalar engine: composite and fused agree, match central differences
and PyTorch, keep running statistics like PyTorch, and reject bad input untouched."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import Value, gradcheck, value_sum
from minigrad.autograd import topological_order
from minigrad.batchnorm.scalar import (
    BatchNorm1d,
    BatchNormOp,
    batch_norm_composite,
    batch_norm_fused,
)
from minigrad.check import compare_grads
from minigrad.scalar.function import _OpNode

IMPLS = {"composite": batch_norm_composite, "fused": batch_norm_fused}


def leaves(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray):
    rows = [[Value(float(v)) for v in row] for row in x]
    return rows, [Value(float(v)) for v in gamma], [Value(float(v)) for v in beta]


def by_columns(normalize, eps=1e-5):
    def f(rows, gammas, betas):
        c = len(gammas)
        cols = [normalize([r[j] for r in rows], gammas[j], betas[j], eps, j) for j in range(c)]
        return [[cols[j][i] for j in range(c)] for i in range(len(rows))]

    return f


def batch(seed: int, n: int, c: int, scale: float = 1.0, offset: float = 0.0):
    rng = np.random.default_rng(seed)
    x = offset + scale * rng.standard_normal((n, c))
    return x, 1.0 + 0.5 * rng.standard_normal(c), 0.5 * rng.standard_normal(c)


@pytest.mark.parametrize("n,c", [(2, 1), (4, 2), (7, 3)])
def test_composite_and_fused_agree_to_float64_rounding(n, c):
    x, g, b = batch(n * 10 + c, n, c)
    result = compare_grads(
        by_columns(batch_norm_composite), by_columns(batch_norm_fused), leaves(x, g, b)
    )
    assert result.max_output_diff < 1e-12
    for diff in result.max_abs_diffs:
        assert diff < 1e-12
    # and the outputs are actually normalized: mean beta, std |gamma| per feature
    y = result.outputs[1]
    np.testing.assert_allclose(y.mean(axis=0), b, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), np.abs(g) * np.sqrt(x.var(0) / (x.var(0) + 1e-5)))


@pytest.mark.parametrize("impl", ["composite", "fused"])
def test_gradcheck(impl):
    n, c = 5, 2
    x, g, b = batch(3, n, c)
    weights = np.random.default_rng(4).standard_normal((n, c))
    normalize = IMPLS[impl]

    def loss(*flat):
        xs, gs, bs = flat[: n * c], flat[n * c : n * c + c], flat[n * c + c :]
        total = []
        for j in range(c):
            col = normalize([xs[i * c + j] for i in range(n)], gs[j], bs[j], 1e-3, j)
            total += [y * float(weights[i, j]) for i, y in enumerate(col)]
        return value_sum(total)

    inputs = [Value(float(v)) for v in x.ravel()] + [Value(float(v)) for v in (*g, *b)]
    report = gradcheck(loss, inputs, atol=1e-7, rtol=1e-5)
    assert report.max_abs_error < 1e-7


def test_matches_torch_functional_forward_and_backward():
    x, g, b = batch(5, 6, 3)
    upstream = np.random.default_rng(6).standard_normal(x.shape)
    rows, gs, bs = leaves(x, g, b)
    result = compare_grads(
        by_columns(batch_norm_composite),
        by_columns(batch_norm_fused),
        [rows, gs, bs],
        upstream=upstream,
    )
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, g, b))
    yt = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-5)
    yt.backward(torch.tensor(upstream))
    for which in (0, 1):
        np.testing.assert_allclose(result.outputs[which], yt.detach().numpy(), atol=1e-12)
        for pair, ref in zip(result.grads, (xt.grad, gt.grad, bt.grad), strict=True):
            np.testing.assert_allclose(pair[which], ref.numpy(), atol=1e-12)


def test_fused_is_one_op_per_feature_with_n_outputs():
    x, g, b = batch(7, 4, 2)
    rows, gs, bs = leaves(x, g, b)
    out = by_columns(batch_norm_fused)(rows, gs, bs)
    flat = [v for row in out for v in row]
    ops = [n for n in topological_order(flat) if isinstance(n, _OpNode)]
    assert len(ops) == 2 and all(op._op == BatchNormOp.name for op in ops)
    assert all(len(op.grad) == 4 and len(op._prev) == 4 + 2 for op in ops)  # x's, gamma, beta
    composite = by_columns(batch_norm_composite)(rows, gs, bs)
    scopes = {n._scope for n in topological_order([v for row in composite for v in row])}
    assert {("batchnorm", s) for s in ("mean", "variance", "normalize", "scale_shift")} <= scopes


def torch_bn(c, **kwargs):
    return torch.nn.BatchNorm1d(c, dtype=torch.float64, **kwargs)


@pytest.mark.parametrize("impl", ["composite", "fused"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False}, {"momentum": 0.5}],
)
def test_module_matches_torch_over_steps_train_and_eval(impl, kwargs):
    c = 3
    ours, theirs = BatchNorm1d(c, impl=impl, **kwargs), torch_bn(c, **kwargs)
    if ours.weight is not None:  # both start from the same non-trivial gamma, beta
        g, b = batch(8, 1, c)[1:]
        for j in range(c):
            ours.weight[j].data, ours.bias[j].data = float(g[j]), float(b[j])
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(g))
            theirs.bias.copy_(torch.tensor(b))
    for step in range(4):
        x = batch(20 + step, 5, c, scale=2.0, offset=step)[0]
        upstream = np.random.default_rng(step).standard_normal(x.shape)
        rows = [[Value(float(v)) for v in row] for row in x]
        out = ours(rows)
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        np.testing.assert_allclose([[v.data for v in r] for r in out], yt.detach(), atol=1e-12)
        yt.backward(torch.tensor(upstream))
        loss = value_sum(
            v * float(u)
            for r, ur in zip(out, upstream, strict=True)
            for v, u in zip(r, ur, strict=True)
        )
        ours.zero_grad()
        loss.backward()
        np.testing.assert_allclose([[v.grad for v in r] for r in rows], xt.grad, atol=1e-12)
        if ours.weight is not None:
            np.testing.assert_allclose(
                [p.grad for p in ours.weight], theirs.weight.grad, atol=1e-12
            )
            np.testing.assert_allclose([p.grad for p in ours.bias], theirs.bias.grad, atol=1e-12)
            theirs.weight.grad = theirs.bias.grad = None
    if ours.track_running_stats:
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean, atol=1e-12)
        np.testing.assert_allclose(ours.running_var, theirs.running_var, atol=1e-12)
        assert ours.num_batches_tracked == int(theirs.num_batches_tracked) == 4
    else:
        assert ours.running_mean is None and ours.running_var is None
    ours.eval(), theirs.eval()
    x = batch(99, 3, c)[0]
    out = ours([[float(v) for v in row] for row in x])
    np.testing.assert_allclose(
        [[v.data for v in r] for r in out], theirs(torch.tensor(x)).detach(), atol=1e-12
    )


def test_composite_and_fused_modules_agree_on_running_stats_and_eval():
    a, b = (
        BatchNorm1d(2, impl="composite", momentum=None),
        BatchNorm1d(2, impl="fused", momentum=None),
    )
    for step in range(3):
        x = batch(step, 4, 2, offset=3.0)[0].tolist()
        a(x), b(x)
    assert np.max(np.abs(np.subtract(a.running_mean, b.running_mean))) < 1e-12
    assert np.max(np.abs(np.subtract(a.running_var, b.running_var))) < 1e-12
    a.eval(), b.eval()
    x = batch(9, 2, 2)[0].tolist()
    ya, yb = ([[v.data for v in r] for r in m(x)] for m in (a, b))
    np.testing.assert_allclose(ya, yb, atol=1e-12)


def test_constant_feature_trains_finite():
    for impl in IMPLS:
        bn = BatchNorm1d(2, impl=impl)
        rows = [[Value(5.0), Value(float(i))] for i in range(4)]
        out = bn(rows)
        loss = value_sum(v * (i + 1.0) for i, r in enumerate(out) for v in r)
        loss.backward()
        values = [v.data for r in out for v in r] + [v.grad for r in rows for v in r]
        assert all(math.isfinite(v) for v in values)
        assert all(r[0].data == 0.0 for r in out)  # xhat = 0, beta = 0
        assert all(math.isfinite(v) for v in bn.running_var)


def test_bad_input_raises_before_any_state_changes():
    bn = BatchNorm1d(3)
    good = batch(1, 4, 3)[0].tolist()
    bn(good)
    before = (list(bn.running_mean), list(bn.running_var), bn.num_batches_tracked)
    with pytest.raises(
        ValueError,
        match=r"Expected more than 1 value per channel when training, "
        r"got input size \(1, 3\)",
    ):
        bn([good[0]])
    with pytest.raises(ValueError, match=r"expected 3 features.*row 1 has 2"):
        bn([good[0], good[1][:2]])
    with pytest.raises(ValueError, match="2D input"):
        bn([1.0, 2.0])
    with pytest.raises(TypeError, match="row 0 entry 1"):
        bn([[1.0, "a", 2.0], good[1]])
    assert (bn.running_mean, bn.running_var, bn.num_batches_tracked) == before
    bn.eval()
    assert len(bn([good[0]])) == 1  # a batch of one is fine with running statistics
    with pytest.raises(ValueError, match="eps must be > 0, got 0"):
        BatchNorm1d(3, eps=0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\] or None, got 1.5"):
        BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="impl must be 'fused' or 'composite'"):
        BatchNorm1d(3, impl="magic")


def test_parameters_train_eval_and_repr():
    bn = BatchNorm1d(2)
    assert len(bn.parameters()) == 4 and bn.training
    assert bn.eval() is bn and not bn.training
    assert bn.train().training
    assert BatchNorm1d(2, affine=False).parameters() == []
    assert "impl='fused'" in repr(bn)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 6),
    c=st.integers(1, 3),
    scale=st.sampled_from([1e-6, 1e-3, 1.0, 1e3]),
    offset=st.sampled_from([0.0, 1.0, -1e6, 1e6]),
    constant=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_property_composite_equals_fused_and_torch(n, c, scale, offset, constant, seed):
    x, g, b = batch(seed, n, c, scale=scale, offset=offset)
    if constant:
        x[:, 0] = offset
    upstream = np.random.default_rng(seed + 1).standard_normal(x.shape)
    result = compare_grads(
        by_columns(batch_norm_composite),
        by_columns(batch_norm_fused),
        leaves(x, g, b),
        upstream=upstream,
    )
    # x - mean loses the digits of |x| below its spread: the conditioning of the input
    cond = max(1.0, abs(offset) / scale)
    assert result.max_output_diff <= 1e-12 * cond
    dx_scale = max(1.0, float(np.abs(result.grads[0][1]).max()))
    assert result.max_abs_diffs[0] <= 1e-12 * cond * dx_scale
    assert max(result.max_abs_diffs[1:]) <= 1e-12 * cond * n
    all_numbers = np.concatenate([result.outputs[1].ravel(), *(p[1].ravel() for p in result.grads)])
    assert np.isfinite(all_numbers).all()


def test_scalar_mlp_with_batchnorm_between_layers_trains():
    from minigrad.scalar.nn import MLP
    from minigrad.scalar.nn import BatchNorm1d as Reexported

    assert Reexported is BatchNorm1d
    rows = [[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0], [2.0, 1.0], [-0.5, -0.5], [1.5, -1.0]]
    targets = [1.0, -1.0, -1.0, 1.0, -1.0, 1.0]
    model = MLP(2, [6, 1], seed=0, norm=lambda c: BatchNorm1d(c, impl="fused"))
    bn = next(layer for layer in model.layers if isinstance(layer, BatchNorm1d))
    assert all(p in model.parameters() for p in bn.parameters())
    losses = []
    for _ in range(15):
        scores = model.forward_batch(rows)
        loss = value_sum((1 - t * s).relu() for t, s in zip(targets, scores, strict=True))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
        losses.append(loss.data)
    assert losses[-1] < losses[0]
    assert bn.num_batches_tracked == 15
    model.eval()
    assert math.isfinite(model(rows[0]).data)  # eval: one example, running statistics

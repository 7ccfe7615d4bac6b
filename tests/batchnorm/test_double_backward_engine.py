"""The fused BatchNorm differentiates twice through its hand-derived double backward:
against autodiff through the composite, PyTorch and central differences, in training
and eval mode; ``compare_batchnorm(order=2)`` and ``bn-compare --order 2``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.batchnorm import compare_batchnorm
from minigrad.batchnorm.command import main as bn_compare
from minigrad.batchnorm.tensor import BatchNorm1d, batch_norm_composite, batch_norm_fused


def second_order(f, arrays, v, us):
    leaves = [mg.tensor(a.copy(), requires_grad=True) for a in arrays]
    gs = mg.grad(f(*leaves), leaves, grad_outputs=mg.tensor(v), create_graph=True)
    h = sum((g * u).sum() for g, u in zip(gs, us, strict=True))
    return [
        np.zeros_like(a) if r is None else r.data
        for r, a in zip(mg.grad(h, leaves, allow_unused=True), arrays, strict=True)
    ]


def torch_second_order(f, arrays, v, us):
    leaves = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    gs = torch.autograd.grad(f(*leaves), leaves, torch.tensor(v), create_graph=True)
    h = sum((g * torch.tensor(u)).sum() for g, u in zip(gs, us, strict=True))
    out = torch.autograd.grad(h, leaves, allow_unused=True)
    return [np.zeros_like(a) if r is None else r.numpy() for r, a in zip(out, arrays, strict=True)]


@pytest.mark.parametrize("shape", [(6, 3), (4, 2, 5)])
def test_training_double_backward_fused_equals_composite_and_torch(shape) -> None:
    rng = np.random.default_rng(1)
    c = shape[1]
    arrays = [rng.normal(size=shape), 1 + 0.5 * rng.normal(size=c), rng.normal(size=c)]
    v = rng.normal(size=shape)
    us = [rng.normal(size=a.shape) for a in arrays]
    fused = second_order(lambda x, g, b: batch_norm_fused(x, g, b), arrays, v, us)
    composite = second_order(lambda x, g, b: batch_norm_composite(x, g, b), arrays, v, us)
    reference = torch_second_order(
        lambda x, g, b: torch.nn.functional.batch_norm(x, None, None, g, b, training=True),
        arrays,
        v,
        us,
    )
    for f, comp, ref in zip(fused, composite, reference, strict=True):
        np.testing.assert_allclose(f, comp, atol=1e-12)
        np.testing.assert_allclose(f, ref, atol=1e-12)


def test_training_double_backward_matches_central_differences() -> None:
    rng = np.random.default_rng(2)
    x = mg.tensor(rng.normal(size=(5, 2)), requires_grad=True)
    g = mg.tensor(1 + 0.3 * rng.normal(size=2), requires_grad=True)
    b = mg.tensor(rng.normal(size=2), requires_grad=True)
    report = mg.gradgradcheck(lambda x, g, b: batch_norm_fused(x, g, b), [x, g, b])
    assert report.max_abs_error < 1e-7


def test_eval_mode_double_backward_matches_torch() -> None:
    rng = np.random.default_rng(3)
    xa = rng.normal(size=(6, 3))
    bn = BatchNorm1d(3, dtype=np.float64)
    for name in ("weight", "bias"):
        getattr(bn, name).data = rng.normal(size=3)
    bn.running_mean.data[...] = rng.normal(size=3)
    bn.running_var.data[...] = 0.5 + rng.random(3)
    bn.eval()
    tbn = torch.nn.BatchNorm1d(3).double().eval()
    with torch.no_grad():
        tbn.weight[:] = torch.tensor(bn.weight.data)
        tbn.bias[:] = torch.tensor(bn.bias.data)
        tbn.running_mean[:] = torch.tensor(bn.running_mean.data)
        tbn.running_var[:] = torch.tensor(bn.running_var.data)
    v, u = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    x = mg.tensor(xa.copy(), requires_grad=True)
    (gx,) = mg.grad(bn(x), x, grad_outputs=mg.tensor(v), create_graph=True)
    params = [bn.weight, x]
    second = mg.grad((gx * u).sum(), params, allow_unused=True)
    tx = torch.tensor(xa.copy(), requires_grad=True)
    (tgx,) = torch.autograd.grad(tbn(tx), tx, torch.tensor(v), create_graph=True)
    tsecond = torch.autograd.grad(
        (tgx * torch.tensor(u)).sum(), [tbn.weight, tx], allow_unused=True
    )
    for mine, theirs, like in zip(second, tsecond, (bn.weight.data, xa), strict=True):
        want = np.zeros_like(like) if theirs is None else theirs.detach().numpy()
        got = np.zeros_like(like) if mine is None else mine.data
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_the_double_backward_is_one_op_in_the_graph() -> None:
    rng = np.random.default_rng(4)
    x = mg.tensor(rng.normal(size=(4, 2)), requires_grad=True)
    (gx,) = mg.grad(batch_norm_fused(x).sum() ** 2, x, create_graph=True)
    ops = [n._op for n in mg.topological_order(gx) if n._prev]
    assert ops.count("batchnorm_backward") == 1


def test_compare_batchnorm_order_2_agrees_three_ways() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    result = compare_batchnorm(x, order=2)
    assert result.max_difference < 1e-12
    for which in (0, 1):
        assert max(result.grads.max_numerical_diffs(which)) < 1e-7
    assert result.torch_grads is not None
    for (_, fused), ref in zip(result.grads.grads, result.torch_grads, strict=True):
        np.testing.assert_allclose(fused, ref, atol=1e-12)
    text = str(result)
    assert "double backward" in text and "max |fused - pytorch|" in text


def test_compare_batchnorm_order_2_refuses_bad_input() -> None:
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="order must be 1 or 2, got 3"):
        compare_batchnorm(x, order=3)
    with pytest.raises(ValueError, match="order=2 needs engine='tensor'"):
        compare_batchnorm(x, engine="scalar", order=2)


def test_bn_compare_order_2_prints_the_table(capsys) -> None:
    assert (
        bn_compare(["--engine", "tensor", "--order", "2", "--batch", "3", "--features", "2"]) == 0
    )
    out = capsys.readouterr().out
    assert "d2x[0,0]" in out and "max |fused - numerical|" in out
    with pytest.raises(SystemExit):
        bn_compare(["--engine", "scalar", "--order", "2"])

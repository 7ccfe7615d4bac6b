"""Losses against PyTorch (float64, forward and backward) and central differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from minigrad import Tensor, gradcheck, nn
from minigrad.nn import functional as F

TF = torch.nn.functional
TOL = {"rtol": 1e-12, "atol": 1e-12}


def rand(shape, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def labels(shape, classes, seed=0):
    return np.random.default_rng(seed).integers(0, classes, size=shape)


def both(ours_fn, theirs_fn, inputs, upstream_seed=9):
    """Run a loss in both libraries on the same float64 arrays; compare value and grads."""
    ours_in = [Tensor(a, requires_grad=True) for a in inputs]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in inputs]
    y, yt = ours_fn(*ours_in), theirs_fn(*theirs_in)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **TOL)
    dy = rand(y.shape, upstream_seed)
    y.backward(dy)
    yt.backward(torch.from_numpy(np.asarray(dy)))
    for a, b in zip(ours_in, theirs_in, strict=True):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), **TOL)


# ---------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    ("shape", "target_shape"), [((6, 4), (6,)), ((3, 5, 2), (3, 2)), ((5,), ())]
)
def test_cross_entropy_matches_pytorch(reduction, shape, target_shape):
    classes = shape[1] if len(shape) > 1 else shape[0]
    t = labels(target_shape, classes, 1)
    both(
        lambda z: F.cross_entropy(z, t, reduction=reduction),
        lambda z: TF.cross_entropy(z, torch.from_numpy(np.asarray(t)), reduction=reduction),
        [rand(shape, 2, scale=3.0)],
    )


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_with_class_probabilities_matches_pytorch(reduction):
    p = np.random.default_rng(3).dirichlet(np.ones(4), size=6)
    both(
        lambda z, p: F.cross_entropy(z, p, reduction=reduction),
        lambda z, p: TF.cross_entropy(z, p, reduction=reduction),
        [rand((6, 4), 4), p],
    )


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [-5000.0, 5000.0, 4999.0]])
    t = np.array([0, 2])
    both(lambda z: F.cross_entropy(z, t), lambda z: TF.cross_entropy(z, torch.from_numpy(t)), [z])
    loss = F.cross_entropy(Tensor(z), t, reduction="none")
    assert np.isfinite(loss.data).all()
    np.testing.assert_allclose(loss.data, [0.0, 1 + np.log1p(np.exp(-1))], atol=1e-12)


def test_cross_entropy_equals_nll_of_log_softmax_and_nll_matches_pytorch():
    z, t = rand((7, 3), 5), labels(7, 3, 6)
    a = F.cross_entropy(Tensor(z), t)
    b = F.nll_loss(F.log_softmax(Tensor(z), dim=1), t)
    np.testing.assert_allclose(a.data, b.data, **TOL)
    for reduction in ("mean", "sum", "none"):
        both(
            lambda lp, r=reduction: F.nll_loss(lp, t, reduction=r),
            lambda lp, r=reduction: TF.nll_loss(lp, torch.from_numpy(t), reduction=r),
            [rand((7, 3), 7)],
        )


def test_cross_entropy_accepts_targets_as_tensors_and_lists_and_keeps_float32():
    z = Tensor(rand((3, 4), 8).astype(np.float32), requires_grad=True)
    a = F.cross_entropy(z, [0, 3, 1])
    b = F.cross_entropy(z, Tensor(np.array([0, 3, 1])))
    assert a.dtype == np.float32 and a.shape == ()
    np.testing.assert_allclose(a.data, b.data)
    a.backward()
    assert z.grad.dtype == np.float32


def test_cross_entropy_target_out_of_range_names_value_and_classes():
    z = Tensor(rand((4, 3)))
    with pytest.raises(
        IndexError, match=r"cross_entropy: target 3 is out of range for 3 classes \(valid: 0 to 2\)"
    ):
        F.cross_entropy(z, [0, 1, 3, 2])
    with pytest.raises(IndexError, match="target -1 is out of range for 3 classes"):
        F.cross_entropy(z, [0, -1, 1, 2])
    with pytest.raises(ValueError, match=r"target shape \(3,\) does not fit input shape \(4, 3\)"):
        F.cross_entropy(z, [0, 1, 2])
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(z, [0, 1, 2, 0], reduction="avg")
    with pytest.raises(TypeError, match="cross_entropy: input must be a Tensor"):
        F.cross_entropy(rand((4, 3)), [0, 1, 2, 0])


# ---------------------------------------------------------------- binary cross-entropy, mse


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_pytorch_including_target_gradient(reduction):
    y = np.random.default_rng(1).uniform(size=(5, 3))
    both(
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction),
        lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction=reduction),
        [rand((5, 3), 2, scale=4.0), y],
    )


def test_bce_with_logits_is_stable_for_huge_logits():
    x = np.array([800.0, -800.0, 50.0, -50.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(Tensor(x), y, reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 50.0, 50.0], atol=1e-12)
    both(
        lambda x: F.binary_cross_entropy_with_logits(x, y),
        lambda x: TF.binary_cross_entropy_with_logits(x, torch.from_numpy(y)),
        [x],
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_matches_pytorch(reduction):
    both(
        lambda a, b: F.mse_loss(a, b, reduction=reduction),
        lambda a, b: TF.mse_loss(a, b, reduction=reduction),
        [rand((4, 3), 1), rand((4, 3), 2)],
    )


def test_elementwise_losses_refuse_mismatched_shapes_and_dtypes():
    x = Tensor(rand((8, 1)))
    with pytest.raises(
        ValueError, match=r"mse_loss: target shape \(8,\) differs from input shape \(8, 1\)"
    ):
        F.mse_loss(x, np.zeros(8))
    with pytest.raises(TypeError, match="input dtype float64 does not match target dtype float32"):
        F.binary_cross_entropy_with_logits(x, Tensor(np.zeros((8, 1), dtype=np.float32)))


# ---------------------------------------------------------------- gradcheck (central differences)


def test_losses_pass_gradcheck():
    z = Tensor(rand((4, 3), 1), requires_grad=True)
    t = labels(4, 3, 2)
    p = Tensor(np.random.default_rng(3).dirichlet(np.ones(3), size=4), requires_grad=True)
    gradcheck(lambda z: F.cross_entropy(z, t), [z])
    gradcheck(lambda z: F.cross_entropy(z, t, reduction="none"), [z])
    gradcheck(lambda z, p: F.cross_entropy(z, p, reduction="sum"), [z, p])
    gradcheck(lambda z: F.nll_loss(F.log_softmax(z, dim=1), t), [z])
    a = Tensor(rand((3, 2), 4), requires_grad=True)
    b = Tensor(np.random.default_rng(5).uniform(size=(3, 2)), requires_grad=True)
    gradcheck(lambda a, b: F.mse_loss(a, b), [a, b])
    gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"), [a, b])


# ---------------------------------------------------------------- modules


def test_loss_modules_call_the_functions():
    z, t = Tensor(rand((5, 3), 1)), labels(5, 3, 2)
    np.testing.assert_allclose(nn.CrossEntropyLoss()(z, t).data, F.cross_entropy(z, t).data)
    np.testing.assert_allclose(
        nn.CrossEntropyLoss(reduction="sum")(z, t).data, F.cross_entropy(z, t, reduction="sum").data
    )
    np.testing.assert_allclose(nn.NLLLoss()(z, t).data, F.nll_loss(z, t).data)
    y = rand((5, 3), 3)
    np.testing.assert_allclose(nn.MSELoss()(z, y).data, F.mse_loss(z, y).data)
    y01 = (y > 0).astype(np.float64)
    np.testing.assert_allclose(
        nn.BCEWithLogitsLoss(reduction="none")(z, y01).data,
        F.binary_cross_entropy_with_logits(z, y01, reduction="none").data,
    )
    assert repr(nn.CrossEntropyLoss()) == repr(torch.nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    with pytest.raises(ValueError, match="MSELoss: reduction must be"):
        nn.MSELoss(reduction="max")


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint8, np.int64])
def test_cross_entropy_range_check_works_for_every_integer_width(dtype):
    z = Tensor(rand((3, 4)))
    ok = np.array([0, 3, 1], dtype=dtype)
    np.testing.assert_allclose(F.cross_entropy(z, ok).data, F.cross_entropy(z, [0, 3, 1]).data)
    with pytest.raises(IndexError, match="target 4 is out of range for 4 classes"):
        F.cross_entropy(z, np.array([0, 4, 1], dtype=dtype))
    if np.dtype(dtype).kind == "i":
        with pytest.raises(IndexError, match="target -2 is out of range for 4 classes"):
            F.cross_entropy(z, np.array([0, -2, 1], dtype=dtype))

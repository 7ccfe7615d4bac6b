"""Layers against PyTorch in float64 (same parameters via state_dict) and central differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers_nn import to_torch

from minigrad import Tensor, gradcheck, nn
from minigrad.nn import functional as F


def rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- Linear


def test_linear_shapes_dtype_and_pytorch_initialization():
    layer = nn.Linear(50, 30, rng=0)
    assert layer.weight.shape == (30, 50) and layer.bias.shape == (30,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    bound = 1 / math.sqrt(50)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
    # U(-b, b): mean 0, variance b^2 / 3 (1500 draws: loose but failing for a wrong bound)
    assert abs(layer.weight.data.mean()) < 0.1 * bound
    assert abs(layer.weight.data.var() / (bound**2 / 3) - 1) < 0.1
    same = nn.Linear(50, 30, rng=0)
    np.testing.assert_array_equal(same.weight.data, layer.weight.data)
    assert not np.array_equal(nn.Linear(50, 30, rng=1).weight.data, layer.weight.data)
    assert nn.Linear(2, 3, dtype=np.float64).weight.dtype == np.float64
    assert nn.Linear(2, 3, bias=False).bias is None
    assert [n for n, _ in nn.Linear(2, 3, bias=False).named_parameters()] == ["weight"]


@pytest.mark.parametrize("shape", [(8, 5), (2, 3, 5), (5,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_and_backward_match_pytorch(shape, bias):
    ours = nn.Linear(5, 4, bias=bias, dtype=np.float64, rng=0)
    theirs = torch.nn.Linear(5, 4, bias=bias, dtype=torch.float64)
    to_torch(ours, theirs)
    x_np, dy = rand(shape, 1), rand((*shape[:-1], 4), 2)
    x, xt = Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, yt = ours(x), theirs(xt)
    y.backward(dy)
    yt.backward(torch.from_numpy(dy))
    tol = {"rtol": 1e-12, "atol": 1e-12}
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **tol)
    if bias:
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), **tol)


def test_linear_float32_stays_float32_and_matches_pytorch():
    ours, theirs = nn.Linear(6, 3, rng=0), torch.nn.Linear(6, 3)
    to_torch(ours, theirs)
    x = rand((4, 6), dtype=np.float32)
    y = ours(Tensor(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(
        y.data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    y.sum().backward()
    assert ours.weight.grad.dtype == np.float32 and ours.bias.grad.dtype == np.float32


def test_linear_gradcheck():
    w = Tensor(rand((3, 4), 0), requires_grad=True)
    b = Tensor(rand(3, 1), requires_grad=True)
    x = Tensor(rand((2, 5, 4), 2), requires_grad=True)
    gradcheck(lambda x, w, b: F.linear(x, w, b), [x, w, b])
    gradcheck(lambda x, w: F.linear(x, w), [x, w])


def test_linear_bad_inputs_name_the_shapes():
    layer = nn.Linear(2, 5)
    with pytest.raises(ValueError) as info:
        layer(Tensor(np.zeros((8, 3), dtype=np.float32)))
    assert str(info.value).startswith(
        "Linear: input has 3 features, expected 2 (input shape (8, 3)"
    )
    with pytest.raises(TypeError, match="Linear: input must be a Tensor, got ndarray"):
        layer(np.zeros((8, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="in_features must be a non-negative int"):
        nn.Linear(-1, 2)
    with pytest.raises(ValueError, match=r"bias shape \(4,\) does not match weight shape \(5, 2\)"):
        F.linear(Tensor(np.zeros((1, 2))), Tensor(np.zeros((5, 2))), Tensor(np.zeros(4)))


def test_linear_does_not_touch_a_leaf_input_and_accumulates():
    layer = nn.Linear(3, 2, dtype=np.float64, rng=0)
    x_np = rand((4, 3))
    x = Tensor(x_np.copy(), requires_grad=True)
    layer(x).sum().backward()
    first = layer.weight.grad.copy()
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, 2 * first)
    np.testing.assert_array_equal(x.data, x_np)


# ---------------------------------------------------------------- activations, Flatten, Identity


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.Tanh(), torch.nn.Tanh()),
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Identity(), torch.nn.Identity()),
        (nn.Flatten(), torch.nn.Flatten()),
        (nn.Flatten(0, 1), torch.nn.Flatten(0, 1)),
        (nn.Flatten(-2), torch.nn.Flatten(-2)),
    ],
)
def test_elementwise_and_shape_layers_match_pytorch(ours, theirs):
    x_np = rand((4, 3, 2, 5), 3)
    dy_shape = tuple(theirs(torch.from_numpy(x_np)).shape)
    dy = rand(dy_shape, 4)
    x, xt = Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, yt = ours(x), theirs(xt)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    (y * Tensor(dy)).sum().backward()
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_flatten_bad_dims():
    with pytest.raises(
        ValueError, match=r"Flatten: start_dim=2, end_dim=1 do not fit input shape \(3, 4, 5\)"
    ):
        nn.Flatten(2, 1)(Tensor(np.zeros((3, 4, 5))))


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_functional_activations_match_pytorch(name):
    x_np = rand((3, 4), 5)
    ours = getattr(F, name)(Tensor(x_np)).data
    theirs = getattr(torch.nn.functional, name)(torch.from_numpy(x_np)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_functional_softmax_and_log_softmax_match_pytorch(dim):
    x_np = 30 * rand((3, 4), 6)
    for name in ("softmax", "log_softmax"):
        ours = getattr(F, name)(Tensor(x_np), dim=dim).data
        theirs = getattr(torch.nn.functional, name)(torch.from_numpy(x_np), dim=dim).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- Dropout


def test_dropout_is_inverted_and_reproducible_from_a_seed():
    x_np = np.ones((200, 50))
    layer = nn.Dropout(0.3, rng=7)
    x = Tensor(x_np, requires_grad=True)
    y = layer(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.02  # 10,000 draws: std of the mean 0.0046
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    y.backward(np.full(y.shape, 2.0))
    np.testing.assert_allclose(x.grad, np.where(kept, 2 / 0.7, 0.0))
    again = nn.Dropout(0.3, rng=7)(Tensor(x_np))
    np.testing.assert_array_equal(again.data, y.data)
    different = layer(Tensor(x_np))  # the module's generator moves on
    assert not np.array_equal(different.data, y.data)


def test_dropout_in_eval_mode_and_edge_probabilities():
    x = Tensor(rand((4, 5)))
    layer = nn.Dropout(0.5, rng=0).eval()
    assert layer(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert np.all(nn.Dropout(1.0)(x).data == 0)
    assert F.dropout(x, 0.5, training=False) is x
    assert nn.Dropout(0.25).extra_repr() == "p=0.25"
    for bad in (-0.1, 1.5, "0.5", True):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            nn.Dropout(bad)


def test_dropout_keeps_float32():
    y = nn.Dropout(0.5, rng=0)(Tensor(np.ones((3, 3), dtype=np.float32)))
    assert y.dtype == np.float32

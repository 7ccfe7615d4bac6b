"""Every primitive op of both engines differentiates twice, and agrees with central
differences (``gradgradcheck``) and with PyTorch's double backward; third-order spot checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad import nn

RNG = np.random.default_rng(0)


def arr(*shape: int, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    return RNG.uniform(low, high, size=shape)


# Each case: name, function on minigrad tensors, the same on torch tensors, input arrays.
# Inputs avoid kinks (relu at 0, ties for max, clip bounds) where a second derivative is
# not defined and central differences would straddle the kink.
TENSOR_CASES: list[tuple[str, Callable[..., Any], Callable[..., Any], list[np.ndarray]]] = [
    ("add broadcast", lambda a, b: (a + b) ** 2, lambda a, b: (a + b) ** 2, [arr(3, 4), arr(4)]),
    ("sub", lambda a, b: (a - b) ** 3, lambda a, b: (a - b) ** 3, [arr(3, 4), arr(3, 1)]),
    ("mul", lambda a, b: a * b * a, lambda a, b: a * b * a, [arr(2, 3), arr(2, 3)]),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [arr(2, 3), arr(2, 3, low=0.5, high=2)]),
    ("neg", lambda a: -(a**2), lambda a: -(a**2), [arr(4)]),
    ("pow scalar", lambda a: a**3.5, lambda a: a**3.5, [arr(5, low=0.5, high=2)]),
    (
        "pow tensor",
        lambda a, b: a**b,
        lambda a, b: a**b,
        [arr(4, low=0.5, high=2), arr(4, low=-1, high=2)],
    ),
    ("matmul 2d", lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2, [arr(3, 4), arr(4, 2)]),
    (
        "matmul batched",
        lambda a, b: (a @ b) ** 2,
        lambda a, b: (a @ b) ** 2,
        [arr(2, 3, 4), arr(4)],
    ),
    ("matmul vec", lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2, [arr(4), arr(4, 3)]),
    ("exp", lambda a: a.exp(), lambda a: a.exp(), [arr(5)]),
    ("log", lambda a: a.log(), lambda a: a.log(), [arr(5, low=0.5, high=2)]),
    ("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), [arr(5, low=0.5, high=2)]),
    ("tanh", lambda a: a.tanh(), lambda a: a.tanh(), [arr(2, 3)]),
    ("sigmoid", lambda a: a.sigmoid(), lambda a: a.sigmoid(), [arr(2, 3, low=-3, high=3)]),
    (
        "relu",
        lambda a: a.relu() * a,
        lambda a: a.relu() * a,
        [arr(6, low=0.1) * RNG.choice([-1, 1], 6)],
    ),
    (
        "abs",
        lambda a: a.abs() * a,
        lambda a: a.abs() * a,
        [arr(6, low=0.1) * RNG.choice([-1, 1], 6)],
    ),
    (
        "clip",
        lambda a: a.clip(-0.5, 0.5) * a,
        lambda a: a.clamp(-0.5, 0.5) * a,
        [np.array([-0.9, -0.2, 0.3, 0.8])],
    ),
    (
        "maximum",
        lambda a, b: mg.maximum(a, b) * a,
        lambda a, b: torch.maximum(a, b) * a,
        [arr(5), arr(5)],
    ),
    (
        "minimum",
        lambda a, b: mg.minimum(a, b) * b,
        lambda a, b: torch.minimum(a, b) * b,
        [arr(5), arr(5)],
    ),
    (
        "where",
        lambda a, b: mg.where(np.array([True, False, True]), a * a, b * b * b),
        lambda a, b: torch.where(torch.tensor([True, False, True]), a * a, b * b * b),
        [arr(3), arr(3)],
    ),
    ("sum axis", lambda a: a.sum(axis=1) ** 2, lambda a: a.sum(dim=1) ** 2, [arr(3, 4)]),
    ("sum all", lambda a: (a * a).sum() ** 2, lambda a: (a * a).sum() ** 2, [arr(3, 4)]),
    (
        "mean keepdims",
        lambda a: a.mean(axis=0, keepdims=True) ** 2 * a,
        lambda a: a.mean(dim=0, keepdim=True) ** 2 * a,
        [arr(3, 4)],
    ),
    ("var", lambda a: a.var(axis=0), lambda a: a.var(dim=0), [arr(5, 3)]),
    ("max axis", lambda a: a.max(axis=1) ** 2, lambda a: a.max(dim=1).values ** 2, [arr(3, 4)]),
    ("min all", lambda a: a.min() ** 3, lambda a: a.min() ** 3, [arr(3, 4)]),
    ("logsumexp", lambda a: a.logsumexp(axis=1), lambda a: a.logsumexp(dim=1), [arr(3, 4)]),
    ("softmax", lambda a: a.softmax(axis=1), lambda a: a.softmax(dim=1), [arr(3, 4)]),
    ("log_softmax", lambda a: a.log_softmax(axis=0), lambda a: a.log_softmax(dim=0), [arr(3, 4)]),
    ("reshape", lambda a: a.reshape(4, 3) ** 2, lambda a: a.reshape(4, 3) ** 2, [arr(3, 4)]),
    (
        "permute",
        lambda a: a.permute(2, 0, 1) ** 2,
        lambda a: a.permute(2, 0, 1) ** 2,
        [arr(2, 3, 4)],
    ),
    ("transpose", lambda a: a.T @ a, lambda a: a.T @ a, [arr(3, 2)]),
    ("index slice", lambda a: a[1:, ::2] ** 2, lambda a: a[1:, ::2] ** 2, [arr(3, 4)]),
    (
        "index repeats",
        lambda a: a[np.array([0, 2, 0])] ** 3,
        lambda a: a[torch.tensor([0, 2, 0])] ** 3,
        [arr(3, 2)],
    ),
    (
        "cat",
        lambda a, b: mg.cat([a * a, b], axis=1) ** 2,
        lambda a, b: torch.cat([a * a, b], dim=1) ** 2,
        [arr(2, 3), arr(2, 2)],
    ),
    (
        "stack",
        lambda a, b: mg.stack([a, b * a], axis=1) ** 2,
        lambda a, b: torch.stack([a, b * a], dim=1) ** 2,
        [arr(2, 3), arr(2, 3)],
    ),
    (
        "linear",
        lambda x, w, b: nn.functional.linear(x, w, b).tanh(),
        lambda x, w, b: torch.nn.functional.linear(x, w, b).tanh(),
        [arr(4, 3), arr(2, 3), arr(2)],
    ),
]


@pytest.mark.parametrize("case", TENSOR_CASES, ids=[c[0] for c in TENSOR_CASES])
def test_tensor_op_second_derivative_matches_central_differences(case: Any) -> None:
    _, f, _, arrays = case
    inputs = [mg.tensor(a.copy(), requires_grad=True) for a in arrays]
    report = mg.gradgradcheck(f, inputs, atol=1e-5, rtol=1e-4)
    assert report.max_abs_error < 1e-5


@pytest.mark.parametrize("case", TENSOR_CASES, ids=[c[0] for c in TENSOR_CASES])
def test_tensor_op_second_derivative_matches_torch(case: Any) -> None:
    _, f, f_torch, arrays = case
    rng = np.random.default_rng(1)
    xs = [mg.tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    y, yt = f(*xs), f_torch(*ts)
    v = rng.standard_normal(y.shape)
    g = mg.grad(y, xs, grad_outputs=mg.tensor(v), create_graph=True, allow_unused=True)
    gt = torch.autograd.grad(
        yt, ts, grad_outputs=torch.tensor(v), create_graph=True, allow_unused=True
    )
    us = [rng.standard_normal(a.shape) for a in arrays]
    s = sum((gi * u).sum() for gi, u in zip(g, us, strict=True) if gi is not None)
    st = sum((gi * torch.tensor(u)).sum() for gi, u in zip(gt, us, strict=True) if gi is not None)
    h = mg.grad(s, xs, allow_unused=True)
    ht = torch.autograd.grad(st, ts, allow_unused=True) if st.requires_grad else [None] * len(ts)
    for mine, theirs in zip(h, ht, strict=True):
        want = np.zeros_like(arrays[0]) if theirs is None else theirs.numpy()
        got = np.zeros_like(want) if mine is None else mine.data
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


def test_cast_differentiates_twice_in_float32_like_torch() -> None:
    a = arr(4)
    x, t = mg.tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)
    (g,) = mg.grad((x.float() ** 3).double().sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad((t.float() ** 3).double().sum(), t, create_graph=True)
    (h,) = mg.grad(g.sum(), x)
    (ht,) = torch.autograd.grad(gt.sum(), t)
    assert h.dtype == np.float64
    np.testing.assert_allclose(h.data, ht.numpy(), rtol=1e-6)


SCALAR_CASES: list[tuple[str, Callable[..., Any], Callable[..., Any], list[float]]] = [
    ("add mul", lambda a, b: (a + b) * a * b, lambda a, b: (a + b) * a * b, [0.7, -1.3]),
    ("sub", lambda a, b: (a - b) * (a - b) * a, lambda a, b: (a - b) * (a - b) * a, [0.7, -1.3]),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [0.7, 1.9]),
    ("neg", lambda a: -(a * a * a), lambda a: -(a * a * a), [0.4]),
    ("pow number", lambda a: a**3.5, lambda a: a**3.5, [1.3]),
    ("pow values", lambda a, b: a**b, lambda a, b: a**b, [1.3, 0.6]),
    ("rpow", lambda a: 2.0**a, lambda a: 2.0**a, [0.8]),
    ("relu", lambda a: a.relu() * a * a, lambda a: a.relu() * a * a, [0.8]),
    ("tanh", lambda a: a.tanh(), lambda a: a.tanh(), [0.3]),
    ("sigmoid", lambda a: a.sigmoid(), lambda a: a.sigmoid(), [0.3]),
    ("exp", lambda a: (a * a).exp(), lambda a: (a * a).exp(), [0.3]),
    ("log", lambda a: (a * a).log(), lambda a: (a * a).log(), [0.3]),
    (
        "value_sum",
        lambda a, b: mg.value_sum([a * a, a * b, b]) ** 2,
        lambda a, b: (a * a + a * b + b) ** 2,
        [0.3, 0.9],
    ),
]


@pytest.mark.parametrize("case", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_scalar_op_second_derivative_matches_central_differences_and_torch(case: Any) -> None:
    _, f, f_torch, numbers = case
    report = mg.gradgradcheck(f, [mg.Value(x) for x in numbers])
    assert report.max_abs_error < 1e-6
    xs = [mg.Value(x) for x in numbers]
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in numbers]
    g = mg.grad(f(*xs), xs, create_graph=True)
    gt = torch.autograd.grad(f_torch(*ts), ts, create_graph=True)
    for i in range(len(xs)):  # the Hessian, row by row
        row = mg.grad(g[i], xs, allow_unused=True)
        row_t = torch.autograd.grad(gt[i], ts, allow_unused=True, retain_graph=True)
        for mine, theirs in zip(row, row_t, strict=True):
            want = 0.0 if theirs is None else theirs.item()
            got = 0.0 if mine is None else mine.data
            assert got == pytest.approx(want, rel=1e-10, abs=1e-12)


def test_third_order_spot_checks_against_torch() -> None:
    # scalar engine: d³/dx³ of tanh(x²) · x
    x = mg.Value(0.45)
    t = torch.tensor(0.45, dtype=torch.float64, requires_grad=True)
    (g1,) = mg.grad((x * x).tanh() * x, x, create_graph=True)
    (g2,) = mg.grad(g1, x, create_graph=True)
    (g3,) = mg.grad(g2, x)
    (t1,) = torch.autograd.grad((t * t).tanh() * t, t, create_graph=True)
    (t2,) = torch.autograd.grad(t1, t, create_graph=True)
    (t3,) = torch.autograd.grad(t2, t)
    assert g3.data == pytest.approx(t3.item(), rel=1e-10)
    # tensor engine: third derivative of a small MLP's loss along a direction
    rng = np.random.default_rng(3)
    xa, wa = rng.normal(size=(5, 3)), rng.normal(size=(3, 2))
    w = mg.tensor(wa.copy(), requires_grad=True)
    wt = torch.tensor(wa.copy(), requires_grad=True)
    d = rng.normal(size=wa.shape)
    loss = (mg.tensor(xa) @ w).sigmoid().log_softmax(axis=1).sum()
    loss_t = (torch.tensor(xa) @ wt).sigmoid().log_softmax(dim=1).sum()
    mine, theirs = loss, loss_t
    for _ in range(3):  # directional derivatives, three times
        (gm,) = mg.grad(mine, w, create_graph=True)
        (gt,) = torch.autograd.grad(theirs, wt, create_graph=True)
        mine, theirs = (gm * d).sum(), (gt * torch.tensor(d)).sum()
        assert mine.item() == pytest.approx(theirs.item(), rel=1e-9)


@pytest.mark.parametrize(
    ("shape", "target_kind", "reduction"),
    [((5, 3), "indices", "mean"), ((4, 3, 2), "indices", "sum"), ((5, 3), "probs", "none")],
)
def test_cross_entropy_differentiates_twice_like_torch(shape, target_kind, reduction) -> None:
    """The fused loss's backward is rebuilt from ops under create_graph, so a Hessian-vector
    product through F.cross_entropy works, as in PyTorch."""
    rng = np.random.default_rng(5)
    za = rng.normal(size=shape)
    if target_kind == "indices":
        target = rng.integers(0, shape[1], size=(shape[0], *shape[2:]))
        mine_t, torch_t = target, torch.tensor(target)
    else:
        probs = rng.dirichlet(np.ones(shape[1]), size=shape[0])
        mine_t, torch_t = mg.tensor(probs), torch.tensor(probs)
    report = mg.gradgradcheck(
        lambda z: nn.functional.cross_entropy(z, mine_t, reduction=reduction),
        [mg.tensor(za.copy(), requires_grad=True)],
    )
    assert report.max_abs_error < 1e-6
    z = mg.tensor(za.copy(), requires_grad=True)
    zt = torch.tensor(za.copy(), requires_grad=True)
    loss = nn.functional.cross_entropy(z, mine_t, reduction=reduction)
    loss_t = torch.nn.functional.cross_entropy(zt, torch_t, reduction=reduction)
    v = rng.normal(size=loss.shape)
    (g,) = mg.grad(loss, z, grad_outputs=mg.tensor(v) if v.shape else None, create_graph=True)
    (gt,) = torch.autograd.grad(loss_t, zt, torch.tensor(v) if v.shape else None, create_graph=True)
    u = rng.normal(size=shape)
    (h,) = mg.grad((g * u).sum(), z)
    (ht,) = torch.autograd.grad((gt * torch.tensor(u)).sum(), zt)
    np.testing.assert_allclose(h.data, ht.numpy(), rtol=1e-9, atol=1e-12)

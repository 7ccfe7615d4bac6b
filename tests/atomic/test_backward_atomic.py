"""backward, both engines, with and without anomaly mode: a pass that raises leaves
every leaf's ``.grad`` as it was (None, or the gradient of earlier passes).

Hypothesis builds a loss from a few branches, one of them bad, in any position, so the
bad op's backward runs before or after the good ones have something to hand their
leaves. The bad branches: a local derivative that is inf or NaN under anomaly mode, a
custom op whose backward returns the wrong number or shapes of gradients or raises,
and bad ``backward(grad)`` arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from state_snapshot import assert_atomic

import minigrad as mg
from minigrad import Tensor
from minigrad.autograd import AnomalyError
from minigrad.scalar.function import ScalarFunction
from minigrad.scalar.value import Value, value_sum
from minigrad.tensor.function import Function

# ---------------------------------------------------------------- tensor engine


class WrongCount(Function):
    """Identity whose backward returns one gradient too many."""

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        return a.copy()

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, ...]:
        return g, g


class WrongShape(Function):
    """Product of two inputs whose backward gives the second a gradient of the wrong shape."""

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, ...]:
        return g, np.ones((7, 7))


class Raises(Function):
    """Identity whose backward raises (a user's bug)."""

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        return a.copy()

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, ...]:
        raise ZeroDivisionError("a bug in a user's backward")


TENSOR_BAD = ["sqrt_at_zero", "nan_times_zero", "wrong_count", "wrong_shape", "raises"]


def tensor_leaves(n: int, with_grads: bool) -> list[Tensor]:
    leaves = [
        Tensor(np.linspace(0.5, 1.5, 3) + i, requires_grad=True, label=f"x{i}") for i in range(n)
    ]
    if with_grads:
        for x in leaves:
            x.grad = np.full(3, 0.125)  # from an earlier pass: must survive
    return leaves


def tensor_branch(kind: str, x: Tensor, other: Tensor) -> Tensor:
    zero_at_0 = Tensor(np.array([0.0, 1.0, 1.0]))
    if kind == "good":
        return (x * x).sum()
    if kind == "sqrt_at_zero":  # forward sqrt(0) = 0, backward 1 / (2 sqrt(0)) = inf
        return (x * zero_at_0).sqrt().sum()
    if kind == "nan_times_zero":  # inf local derivative times a zero gradient: NaN
        return ((x * zero_at_0).sqrt() * 0.0).sum()
    if kind == "wrong_count":
        return WrongCount.apply(x).sum()
    if kind == "wrong_shape":
        return WrongShape.apply(x, other).sum()
    return Raises.apply(x).sum()


@pytest.mark.parametrize("kind", TENSOR_BAD)
@settings(max_examples=8, deadline=None)
@given(
    n_leaves=st.integers(2, 4),
    bad_at=st.integers(0, 3),
    with_grads=st.booleans(),
    anomaly=st.booleans(),
)
def test_tensor_backward_that_raises_writes_no_leaf(kind, n_leaves, bad_at, with_grads, anomaly):
    leaves = tensor_leaves(n_leaves, with_grads)
    bad_at %= n_leaves
    with mg.detect_anomaly() if anomaly else _nothing():
        branches = [
            tensor_branch(kind if i == bad_at else "good", x, leaves[(i + 1) % n_leaves])
            for i, x in enumerate(leaves)
        ]
        loss = branches[0]
        for b in branches[1:]:
            loss = loss + b
        expected: Any = Exception
        if kind in ("sqrt_at_zero", "nan_times_zero"):
            if not anomaly:
                return  # no error without anomaly mode: inf and NaN are results
            expected = AnomalyError
        with np.errstate(all="ignore"):
            assert_atomic(loss.backward, leaves, raises=expected)


BAD_SEEDS = {
    "wrong_shape": lambda: np.ones((2, 2)),
    "complex": lambda: np.ones((2, 3)) * 1j,
    "object": lambda: np.ones((2, 3)).astype(object),
    "string": lambda: np.full((2, 3), "1.0"),
    "ragged": lambda: [[1.0, 2.0, 3.0], [4.0]],
    "tensor_wrong_shape": lambda: Tensor(np.ones(6)),
    "none_list": lambda: [None] * 6,
}


@pytest.mark.parametrize("anomaly", [False, True])
@pytest.mark.parametrize("seed", sorted(BAD_SEEDS))
def test_tensor_backward_refuses_a_bad_grad_argument_first(seed, anomaly):
    leaves = tensor_leaves(2, with_grads=True)
    out = leaves[0].reshape(1, 3) * leaves[1].reshape(1, 3) + Tensor(np.zeros((2, 3)))
    with mg.detect_anomaly() if anomaly else _nothing():
        info = assert_atomic(lambda: out.backward(BAD_SEEDS[seed]()), leaves)
    assert "backward" in str(info.value), info.value


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_tensor_backward_with_a_non_finite_grad_under_anomaly(bad):
    leaves = tensor_leaves(2, with_grads=True)
    out = leaves[0] * leaves[1]
    with mg.detect_anomaly():
        assert_atomic(lambda: out.backward(np.array([1.0, bad, 1.0])), leaves)


def test_a_second_backward_through_a_freed_graph_writes_nothing():
    leaves = tensor_leaves(2, with_grads=False)
    loss = (leaves[0] * leaves[1]).sum()
    loss.backward()
    assert_atomic(loss.backward, leaves, raises=RuntimeError, match="second time")


# ---------------------------------------------------------------- scalar engine


class ScalarWrongCount(ScalarFunction):
    @staticmethod
    def forward(ctx: Any, a: float, b: float) -> list[float]:
        return [a + b]

    @staticmethod
    def backward(ctx: Any, grads: np.ndarray) -> list[float]:
        return [grads[0]]  # one gradient for two inputs


class ScalarRaises(ScalarFunction):
    @staticmethod
    def forward(ctx: Any, a: float) -> list[float]:
        return [a]

    @staticmethod
    def backward(ctx: Any, grads: np.ndarray) -> list[float]:
        raise ZeroDivisionError("a bug in a user's backward")


# No "nan_times_zero" here: the scalar engine skips a node whose gradient is exactly 0,
# so an inf local derivative times a zero gradient adds 0, not NaN (docs/DESIGN.md).
SCALAR_BAD = ["sqrt_at_zero", "wrong_count", "raises"]


def scalar_branch(kind: str, x: Value, other: Value) -> Value:
    if kind == "good":
        return x * x
    if kind == "sqrt_at_zero":
        return (x * 0.0) ** 0.5
    if kind == "wrong_count":
        return ScalarWrongCount.apply(x, other)[0]
    return ScalarRaises.apply(x)[0]


@pytest.mark.parametrize("kind", SCALAR_BAD)
@settings(max_examples=8, deadline=None)
@given(
    n_leaves=st.integers(2, 4),
    bad_at=st.integers(0, 3),
    with_grads=st.booleans(),
    anomaly=st.booleans(),
)
def test_scalar_backward_that_raises_writes_no_leaf(kind, n_leaves, bad_at, with_grads, anomaly):
    leaves = [Value(0.5 + i, label=f"x{i}") for i in range(n_leaves)]
    if with_grads:
        for v in leaves:
            v.grad = 0.125
    bad_at %= n_leaves
    with mg.detect_anomaly() if anomaly else _nothing():
        branches = [
            scalar_branch(kind if i == bad_at else "good", x, leaves[(i + 1) % n_leaves])
            for i, x in enumerate(leaves)
        ]
        loss = value_sum(branches)
        expected: Any = Exception
        if kind == "sqrt_at_zero":
            if not anomaly:
                return
            expected = AnomalyError
        assert_atomic(loss.backward, leaves, raises=expected)


@pytest.mark.parametrize("anomaly", [False, True])
# (None is not here: like PyTorch's, ``backward(None)`` is the default seed, 1)
@pytest.mark.parametrize("seed", ["1.0", 1j, [1.0], float("nan"), np.array([1.0, 2.0])])
def test_scalar_backward_refuses_a_bad_grad_argument_first(seed, anomaly):
    leaves = [Value(2.0), Value(3.0)]
    for v in leaves:
        v.grad = 0.125
    out = leaves[0] * leaves[1]
    if isinstance(seed, float) and not anomaly:
        return  # a NaN seed is a number: refused only under anomaly mode
    with mg.detect_anomaly() if anomaly else _nothing():
        assert_atomic(
            lambda: out.backward(seed), leaves, raises=(TypeError, ValueError, AnomalyError)
        )


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

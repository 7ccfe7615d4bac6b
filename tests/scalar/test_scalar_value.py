"""The scalar ``Value``: every op against central differences and PyTorch, and bad input."""

from __future__ import annotations

import gc
import math
import sys

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import AnomalyError, Value, gradcheck

FAST = settings(max_examples=25, deadline=None)


def real(lo: float = -3.0, hi: float = 3.0) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from(x: float, points: tuple[float, ...], margin: float = 1e-3) -> bool:
    return all(abs(x - p) > margin for p in points)


# ---------------------------------------------------------------- ops vs central differences

UNARY = {
    "neg": (lambda a: -a, real()),
    "relu": (lambda a: a.relu(), real().filter(lambda x: away_from(x, (0.0,)))),
    "tanh": (lambda a: a.tanh(), real()),
    "sigmoid": (lambda a: a.sigmoid(), real(-20, 20)),
    "exp": (lambda a: a.exp(), real()),
    "log": (lambda a: a.log(), real(0.05, 10)),
    "square": (lambda a: a**2, real()),
    "cube": (lambda a: a**3, real()),
    "sqrt": (lambda a: a**0.5, real(0.05, 10)),
    "inverse": (lambda a: a**-1.5, real(0.1, 10)),
    "rtruediv": (lambda a: 2.0 / a, real(0.1, 5)),
    "rsub": (lambda a: 1 - a, real()),
    "rpow": (lambda a: 2.5**a, real()),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_op_matches_central_differences(name):
    fn, domain = UNARY[name]

    @FAST
    @given(domain)
    def check(x):
        gradcheck(fn, [Value(x)])

    check()


BINARY = {
    "add": (lambda a, b: a + b, real(), real()),
    "sub": (lambda a, b: a - b, real(), real()),
    "mul": (lambda a, b: a * b, real(), real()),
    "div": (lambda a, b: a / b, real(), real(0.1, 3)),
    "div_negative": (lambda a, b: a / b, real(), real(-3, -0.1)),
    "pow_value": (lambda a, b: a**b, real(0.1, 3), real(-2, 2)),
    "value_sum": (lambda a, b: mg.value_sum([a, b, a * b, 3.0]), real(), real()),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_op_matches_central_differences(name):
    fn, left, right = BINARY[name]

    @FAST
    @given(left, right)
    def check(x, y):
        gradcheck(fn, [Value(x), Value(y)])

    check()


@FAST
@given(real(-2, 2), real(-2, 2), real(0.5, 2))
def test_a_composite_expression_matches_central_differences(x, y, z):
    def f(a, b, c):
        return ((a * b).tanh() + (c.log() - a) ** 2 / c + (b - c).sigmoid() * a.exp()).relu() + a

    gradcheck(f, [Value(x), Value(y), Value(z)])


def test_pow_value_at_zero_base_has_a_flat_exponent_gradient():
    a, b = Value(0.0), Value(2.0)
    (a**b).backward()
    assert a.grad == 0.0 and b.grad == 0.0


def test_sqrt_at_zero_has_an_infinite_gradient_like_pytorch():
    a = Value(0.0)
    (a**0.5).backward()
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (t**0.5).backward()
    assert a.grad == t.grad.item() == math.inf


def test_overflow_gives_inf_like_numpy():
    assert Value(1000.0).exp().data == math.inf
    assert (Value(1e200) ** 2).data == math.inf
    assert (Value(-1e200) ** 3).data == -math.inf
    assert Value(float("nan")).exp().data != Value(float("nan")).exp().data  # NaN stays NaN
    assert math.isnan(Value(float("nan")).relu().data)


def test_division_by_a_tiny_number_keeps_a_finite_local_derivative():
    a, b = Value(1e-200), Value(1e-170)
    (a / b).backward()
    assert b.grad == pytest.approx(-1e-200 / 1e-170 / 1e-170)
    assert math.isfinite(b.grad)


# ---------------------------------------------------------------- against PyTorch

EXPRESSIONS = [
    lambda a, b, c: a * b + c,
    lambda a, b, c: (a - b) / c,
    lambda a, b, c: (a * b).tanh() * c.exp(),
    lambda a, b, c: (a + b + c).sigmoid() * (a - c),
    lambda a, b, c: (c.log() + a**2) * b,
    lambda a, b, c: (a * a * a + b.relu()) / (1 + c**2),
    lambda a, b, c: 2.0 / (c + 3.0) - a * 0.5 + b,
    lambda a, b, c: c**a + b**2,
    lambda a, b, c: (a.exp() + b.exp()).log() - c,
    lambda a, b, c: (a * b - c).relu() * (a - b * c).tanh(),
    lambda a, b, c: -((a - b) ** 2) * c.sigmoid(),
    lambda a, b, c: ((a * b * c).tanh() + 1.0) ** 3 / (c * c + b * b + 0.1),
    lambda a, b, c: (b * c).exp() ** 0.5 * a.sigmoid() + (a + b) * (a + b),
]


@pytest.mark.parametrize("index", range(len(EXPRESSIONS)))
@pytest.mark.parametrize("point", [(0.7, -1.3, 2.1), (-0.4, 0.9, 0.35), (1.9, 0.2, 1.2)])
def test_expression_matches_pytorch_float64(index, point):
    expr = EXPRESSIONS[index]
    ours = [Value(x) for x in point]
    out = expr(*ours)
    out.backward()
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    ref = expr(*theirs)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    for v, t in zip(ours, theirs, strict=True):
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-10, abs=1e-12)


# ---------------------------------------------------------------- graph semantics


def test_reused_node_accumulates():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0


def test_diamond_graph_sums_both_paths():
    x = Value(2.0)
    left, right = x * 3.0, x.exp()
    y = left * right  # dy/dx = 3 e^x + 3x e^x
    y.backward()
    assert x.grad == pytest.approx(3 * math.exp(2) + 6 * math.exp(2), rel=1e-14)


def test_node_used_many_times():
    x = Value(0.5)
    y = mg.value_sum([x * float(k) for k in range(100)]) + x * x
    y.backward()
    assert x.grad == pytest.approx(sum(range(100)) + 1.0)


def test_second_backward_doubles_leaf_grads_and_not_intermediates():
    a, b = Value(1.5), Value(-2.0)
    h = a * b
    y = h.tanh() + h * a
    y.backward()
    first = (a.grad, b.grad, h.grad)
    y.backward()
    assert (a.grad, b.grad) == pytest.approx((2 * first[0], 2 * first[1]), rel=1e-15)
    assert h.grad == first[2]  # intermediates are recomputed from zero each pass
    mg.zero_grad([a, b])
    assert a.grad == 0.0 and b.grad == 0.0


def test_zero_gradient_pushes_nothing_even_through_an_infinite_local_derivative():
    a, b = Value(0.0), Value(-1.0)
    root = (a**0.5) * b.relu()  # relu is off: the sqrt node's gradient is exactly 0
    root.backward()
    assert a.grad == 0.0  # IEEE (and PyTorch) would make 0 * inf = nan here; documented
    assert b.grad == 0.0 and root._prev[0].grad == 0.0


def test_backward_seed_scales_gradients():
    a = Value(2.0)
    (a * a).backward(3.0)
    assert a.grad == 12.0


def test_million_node_chain_backward_without_recursion():
    # Python's cycle collector would rescan the million live nodes again and again while
    # they are built (they hold no cycles; it would find nothing). This test is about
    # depth, so the collector is paused; benchmarks/scalar.py times it with GC on.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x0 = Value(1.0)
        x = x0
        for _ in range(250_000):  # 4 nodes per step (two ops, two constants): 1,000,001 nodes
            x = x * 1.0000001 + 0.5
        assert len(mg.topological_order(x)) == 1_000_001
        assert sys.getrecursionlimit() < 100_000  # no one raised it for us
        x.backward()
        assert x0.grad == pytest.approx(1.0000001**250_000, rel=1e-9)
        del x, x0
    finally:
        if was_enabled:
            gc.enable()


def test_value_keeps_micrograd_api_and_slots():
    v = Value(2.0, label="v")
    assert (v.data, v.grad, v.label) == (2.0, 0.0, "v")
    assert not hasattr(v, "__dict__")
    assert repr(v) == "Value('v', data=2, grad=0)"
    assert Value(3).data == 3.0 and isinstance(Value(3).data, float)
    leaf = Value(1.0)
    assert leaf._prev == () and leaf._op == ""
    out = leaf * 2
    assert out._op == "*" and out._prev[0] is leaf


# ---------------------------------------------------------------- bad input


def test_log_of_non_positive_raises():
    for x in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"log: input must be positive, got"):
            Value(x).log()


def test_division_by_zero_raises_naming_op():
    with pytest.raises(ZeroDivisionError, match=r"/: division by zero"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError, match=r"/: division by zero"):
        1.0 / Value(0.0)


def test_zero_to_a_negative_power_raises():
    with pytest.raises(ZeroDivisionError, match=r"0.0 \*\* -1"):
        Value(0.0) ** -1
    with pytest.raises(ZeroDivisionError):
        Value(0.0) ** Value(-0.5)


def test_negative_base_to_non_integer_power_raises():
    with pytest.raises(ValueError, match=r"negative base -2.0 to the non-integer power 0.5"):
        Value(-2.0) ** 0.5
    assert (Value(-2.0) ** 3).data == -8.0  # an integer power is fine
    with pytest.raises(ValueError, match="needs a > 0"):
        Value(-2.0) ** Value(2.0)  # d/db would need ln(-2)


@pytest.mark.parametrize("bad", ["a", None, [1.0], True])
def test_non_number_operand_raises_type_error_naming_both_types(bad):
    name = type(bad).__name__
    with pytest.raises(TypeError, match=rf"unsupported operand types Value and {name}"):
        Value(1.0) + bad
    with pytest.raises(TypeError, match=rf"Value and {name}"):
        bad * Value(1.0)


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], True, 1 + 2j])
def test_constructor_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match=r"Value: expected a real number"):
        Value(bad)


def test_constructor_accepts_nan_and_inf_outside_anomaly_mode():
    assert math.isnan(Value(float("nan")).data)
    assert Value(float("inf")).data == math.inf


def test_anomaly_mode_rejects_non_finite_data():
    with mg.detect_anomaly(), pytest.raises(AnomalyError, match=r"Value: data is nan"):
        Value(float("nan"))


def test_failed_op_builds_nothing():
    a = Value(0.0)
    with pytest.raises(ValueError):
        a.log()
    with pytest.raises(TypeError):
        a + "x"
    assert a.grad == 0.0 and a._prev == ()


def test_numpy_scalars_are_numbers():
    import numpy as np

    v = Value(np.float32(1.5)) * np.float64(2.0) + np.int64(1)
    assert v.data == 4.0


@FAST
@given(real(), real())
def test_ops_with_numbers_on_either_side_equal_value_ops(x, y):
    assume(abs(y) > 1e-3)
    a = Value(x)
    assert (a + y).data == (a + Value(y)).data == (y + a).data
    assert (a * y).data == (y * a).data
    assert (a - y).data == -(y - a).data
    assert (a / y).data == x / y and (y / Value(y)).data == 1.0

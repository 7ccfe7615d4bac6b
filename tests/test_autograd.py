"""The shared graph core (``minigrad.autograd``), exercised through the scalar engine."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import AnomalyError, ScalarFunction, Value, gradcheck
from minigrad.autograd import current_scope, run_backward, topological_order

# ---------------------------------------------------------------- topological order


def test_order_puts_every_node_after_its_parents_and_is_deterministic():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert len(order) == 5 and len({id(n) for n in order}) == 5
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node._prev:
            assert position[id(parent)] < position[id(node)]
    assert [n.label or n._op for n in order] == ["a", "b", "*", "+", "*"]
    assert [id(n) for n in topological_order(e)] == [id(n) for n in order]


def test_order_of_several_roots_visits_shared_nodes_once():
    a = Value(1.0)
    b, c = a * 2, a * 3
    order = topological_order([b, c, b])
    assert len(order) == 5  # a, two constants, b, c
    assert order[0] is a


def test_run_backward_skips_leaves_and_visits_in_reverse_order():
    visited = []

    class Node:
        def __init__(self, name, prev=()):
            self.name, self._prev, self.grad = name, prev, 0.0

        def _backward(self):
            visited.append(self.name)

    leaf = Node("leaf")
    mid = Node("mid", (leaf,))
    top = Node("top", (mid, leaf))
    run_backward(topological_order(top))
    assert visited == ["top", "mid"]


# ---------------------------------------------------------------- grad mode


def test_no_grad_builds_no_graph():
    a = Value(2.0)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        b = (a * 3).relu() + 1
    assert mg.is_grad_enabled()
    assert b.data == 7.0 and b._prev == () and b._op == ""
    b.backward()
    assert a.grad == 0.0


def test_enable_grad_inside_no_grad():
    a = Value(2.0)
    with mg.no_grad():
        with mg.enable_grad():
            b = a * a
        c = a * a
    assert b._prev == (a, a) and c._prev == ()
    b.backward()
    assert a.grad == 4.0


def test_grad_mode_decorators_and_restoring_after_errors():
    @mg.no_grad()
    def predict(x):
        assert not mg.is_grad_enabled()
        return x * 2

    @mg.enable_grad()
    def train_step(x):
        return x * 2

    a = Value(1.0)
    assert predict(a)._prev == ()
    with mg.no_grad():
        step = train_step(a)
        assert step._prev[0] is a and len(step._prev) == 2
        assert predict(a)._prev == ()  # nested use of the same decorated function
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    with pytest.raises(ZeroDivisionError), mg.no_grad():
        _ = a / 0
    assert mg.is_grad_enabled()
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
    with mg.set_grad_enabled(True):
        assert mg.is_grad_enabled()


def test_grad_mode_is_thread_local():
    inside, seen = threading.Event(), {}
    release = threading.Event()

    a = Value(1.0)

    def other_thread():
        inside.wait(5)
        product = a * a  # the thread's first look at the modes is from inside an op
        seen["graph"] = product._prev == (a, a) and product._scope == ()
        seen["enabled"] = mg.is_grad_enabled()
        seen["scope"] = current_scope()
        release.set()

    t = threading.Thread(target=other_thread)
    t.start()
    with mg.no_grad(), mg.name_scope("here"):
        inside.set()
        release.wait(5)
        assert not mg.is_grad_enabled()
    t.join(5)
    assert seen == {"enabled": True, "scope": (), "graph": True}


# ---------------------------------------------------------------- name scopes


def test_name_scope_tags_the_nodes_made_inside_nested_too():
    a = Value(1.0)
    with mg.name_scope("layer"):
        b = a * 2
        with mg.name_scope("inner") as path:
            c = b + 1
        d = c.relu()
    e = d * d
    assert path == ("layer", "inner")
    assert a._scope == () and e._scope == ()
    assert b._scope == ("layer",) and d._scope == ("layer",)
    assert c._scope == ("layer", "inner")
    assert c._prev[1]._scope == ("layer", "inner")  # the constant 1 was made inside too
    assert current_scope() == ()


def test_name_scope_rejects_empty_names_and_restores_on_error():
    with pytest.raises(ValueError, match="non-empty string"), mg.name_scope(""):
        pass
    with pytest.raises(RuntimeError), mg.name_scope("s"):
        raise RuntimeError
    assert current_scope() == ()


# ---------------------------------------------------------------- anomaly mode


def test_anomaly_mode_forward_names_the_op():
    a = Value(1e300)
    b = a * 1e10  # overflows to inf: allowed outside anomaly mode
    assert b.data == math.inf
    with mg.detect_anomaly():
        assert mg.autograd.anomaly_enabled()
        c = a + 1.0  # finite: fine
        with pytest.raises(
            AnomalyError, match=r"^\*: forward produced inf from inputs \(1e\+300, "
        ):
            _ = c * 1e10
        with pytest.raises(AnomalyError, match=r"^exp: forward produced inf"):
            Value(1000.0).exp()
        with pytest.raises(
            AnomalyError, match=r"^-: forward produced nan from inputs \(inf, inf\)"
        ):
            _ = b - b
        with pytest.raises(AnomalyError, match=r"^constant: forward produced nan"):
            _ = c + math.nan
    assert not mg.autograd.anomaly_enabled()


def test_anomaly_mode_backward_names_the_op_whose_backward_made_inf():
    x = Value(0.0)
    with mg.detect_anomaly():
        root = x**0.5 * 3.0  # d sqrt(x)/dx is inf at 0; the forward is fine
        with pytest.raises(
            AnomalyError, match=r"^\*\*0.5 backward: gradient for input 0 is not finite"
        ):
            root.backward()
    # outside anomaly mode the same backward just produces inf
    x.grad = 0.0
    (x**0.5 * 3.0).backward()
    assert x.grad == math.inf


# ---------------------------------------------------------------- record_backward


def test_record_backward_records_each_step_in_order():
    a, b = Value(2.0, "a"), Value(3.0, "b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    with mg.record_backward() as steps:
        d.backward()
    assert [s.node.label for s in steps] == ["d", "c"]
    first, second = steps
    assert first.grad_out == 1.0
    assert [(p.label, g) for p, g in first.contributions] == [("c", 1.0), ("a", 1.0)]
    assert [(p.label, g) for p, g in second.contributions] == [("a", 3.0), ("b", 2.0)]
    assert a.grad == 4.0 and b.grad == 2.0
    with mg.record_backward() as more:
        pass
    assert more == []


# ---------------------------------------------------------------- ScalarFunction


class PolarToCartesian(ScalarFunction):
    """(r, theta) -> (r cos theta, r sin theta), with its Jacobian written by hand."""

    name = "polar"

    @staticmethod
    def forward(ctx, r, theta):
        ctx.r, ctx.c, ctx.s = r, math.cos(theta), math.sin(theta)
        return [r * ctx.c, r * ctx.s]

    @staticmethod
    def backward(ctx, grads):
        gx, gy = grads
        return [gx * ctx.c + gy * ctx.s, -gx * ctx.r * ctx.s + gy * ctx.r * ctx.c]


def test_scalar_function_gradchecks_and_is_one_node():
    def f(r, theta):
        x, y = PolarToCartesian.apply(r, theta)
        return x * x.tanh() + y * 3.0 + x * y

    gradcheck(f, [Value(1.3), Value(0.7)])
    x, y = PolarToCartesian.apply(Value(2.0), Value(0.0))
    assert x._prev[0] is y._prev[0]  # both outputs hang off the same op node
    op = x._prev[0]
    assert op._op == "polar" and len(op._prev) == 2
    order = topological_order([x, y])
    assert sum(1 for n in order if n is op) == 1


def test_scalar_function_under_no_grad_and_wrong_backward_arity():
    with mg.no_grad():
        x, y = PolarToCartesian.apply(2.0, 0.0)
    assert x._prev == () and (x.data, y.data) == (2.0, 0.0)

    class Broken(PolarToCartesian):
        @staticmethod
        def backward(ctx, grads):
            return [0.0]

    x, _ = Broken.apply(Value(1.0), Value(0.0))
    with pytest.raises(RuntimeError, match="returned 1 gradients for 2 inputs"):
        x.backward()


def test_scalar_function_grad_is_the_vector_of_output_gradients():
    x, y = PolarToCartesian.apply(Value(1.0), Value(0.5))
    (x * 2.0 + y * 5.0).backward()
    assert np.array_equal(x._prev[0].grad, [2.0, 5.0])

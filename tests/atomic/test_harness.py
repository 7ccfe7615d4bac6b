"""The harness itself can fail: each kind of state a failing call might change is seen."""

from __future__ import annotations

import numpy as np
import pytest
from state_snapshot import assert_atomic, changes, snapshot

from minigrad import Tensor, nn, optim
from minigrad.batchnorm.scalar import BatchNorm1d as ScalarBatchNorm1d


def model_and_optimizer():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3), nn.Dropout(0.5, rng=0))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt


def raise_after(change):
    def call():
        change()
        raise ValueError("too late: something changed first")

    return call


CHANGES = {
    "a parameter's data": lambda m, o: m[0].weight.data.__setitem__((0, 0), 5.0),
    "a gradient appears": lambda m, o: setattr(m[0].bias, "grad", np.zeros(3, np.float32)),
    "a buffer": lambda m, o: m[1].running_mean.data.__iadd__(1.0),
    "num_batches_tracked": lambda m, o: m[1].num_batches_tracked.data.__iadd__(1),
    "a training flag": lambda m, o: m[2].train(False),
    "a module setting": lambda m, o: setattr(m[1], "momentum", 0.2),
    "an optimizer setting": lambda m, o: o.param_groups[0].__setitem__("lr", 0.2),
    "optimizer state": lambda m, o: o.state.setdefault(m[0].bias, {"momentum_buffer": 1}),
    "a random generator": lambda m, o: m[2].rng.random(),
    "a dtype": lambda m, o: setattr(m[0].bias, "data", m[0].bias.data.astype(np.float64)),
    "writability": lambda m, o: setattr(m[0].bias.data.flags, "writeable", False),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_the_harness_sees_a_change_before_a_raise(what):
    model, opt = model_and_optimizer()
    with pytest.raises(AssertionError, match=r"but changed \d+ piece"):
        assert_atomic(raise_after(lambda: CHANGES[what](model, opt)), model, opt)


def test_the_sign_of_a_zero_counts():
    t = Tensor(np.array([0.0]))
    before = snapshot(t)
    t.data[0] = -0.0  # == 0.0, but a different number (1 / -0.0 is -inf)
    assert changes(before, snapshot(t)) == ["#0"]


def test_nan_equals_nan_and_nothing_else_differs():
    t = Tensor(np.array([np.nan, 1.0]), requires_grad=True)
    t.grad = np.array([np.nan, np.nan])
    assert changes(snapshot(t), snapshot(t)) == []


def test_the_harness_sees_scalar_running_statistics():
    bn = ScalarBatchNorm1d(1)
    before = snapshot(bn)
    bn([[1.0], [2.0]])
    assert {"#0.running_mean[0]", "#0.running_var[0]", "#0:settings"} <= set(
        changes(before, snapshot(bn))
    )


def test_a_call_that_does_not_raise_fails_the_harness():
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        assert_atomic(lambda: None, Tensor(np.zeros(1)))

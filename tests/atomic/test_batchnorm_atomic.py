"""BatchNorm, both engines, both implementations, module and functional: a call that
raises (anomaly mode, settings changed after construction, read-only buffers, bad
input) leaves weights, running statistics and ``num_batches_tracked`` as they were."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from state_snapshot import assert_atomic

import minigrad as mg
from minigrad import Tensor, nn
from minigrad.autograd import AnomalyError
from minigrad.batchnorm.scalar import BatchNorm1d as ScalarBatchNorm1d
from minigrad.nn import functional as F

IMPLS = ["fused", "composite"]


def trained_module(impl: str, dtype=np.float64, c: int = 3) -> nn.BatchNorm1d:
    bn = nn.BatchNorm1d(c, impl=impl, dtype=dtype)
    bn(Tensor(np.random.default_rng(0).standard_normal((5, c)).astype(dtype)))  # one batch seen
    return bn


def poisoned(shape: tuple[int, ...], where: int, poison: str, dtype=np.float64) -> np.ndarray:
    """A batch with one NaN or inf, or a column whose variance overflows."""
    x = np.random.default_rng(where).standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    if poison == "huge":  # finite values; (x - mean)^2 overflows: var, hence running_var, inf
        big = np.finfo(dtype).max / 2
        x[:, where % shape[1]] = big
        x[0, where % shape[1]] = -big
    else:
        flat[where % flat.size] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[poison]
    return x


@settings(max_examples=30, deadline=None)
@given(
    impl=st.sampled_from(IMPLS),
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=st.sampled_from([(4, 3), (3, 3, 2)]),
    where=st.integers(0, 100),
    poison=st.sampled_from(["nan", "inf", "-inf", "huge"]),
    momentum=st.sampled_from([0.1, None, 1.0]),
)
def test_anomaly_in_the_forward_updates_no_running_statistic(
    impl, dtype, shape, where, poison, momentum
):
    bn = trained_module(impl, dtype)
    bn.momentum = momentum
    x = Tensor(poisoned(shape, where, poison, dtype))
    with mg.detect_anomaly(), np.errstate(all="ignore"):
        assert_atomic(lambda: bn(x), bn, raises=AnomalyError)


@settings(max_examples=20, deadline=None)
@given(
    impl=st.sampled_from(IMPLS),
    where=st.integers(0, 100),
    poison=st.sampled_from(["nan", "inf", "huge"]),
)
def test_functional_batch_norm_under_anomaly_leaves_the_buffers(impl, where, poison):
    rm, rv = np.zeros(3), np.ones(3)
    w, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.zeros(3), requires_grad=True)
    x = Tensor(poisoned((4, 3), where, poison))
    with mg.detect_anomaly(), np.errstate(all="ignore"):
        assert_atomic(
            lambda: F.batch_norm(x, rm, rv, w, b, training=True, impl=impl),
            [rm, rv, w, b],
            raises=AnomalyError,
        )


BAD_SETTINGS = [
    ("momentum", 5.0, "momentum must be in"),
    ("momentum", -0.1, "momentum must be in"),
    ("momentum", float("nan"), "momentum must be in"),
    ("momentum", "0.1", "momentum must be a number"),
    ("eps", 0, "eps must be > 0"),
    ("eps", -1e-5, "eps must be > 0"),
    ("eps", float("nan"), "eps must be > 0"),
    ("eps", None, "eps must be a number"),
    ("impl", "cuda", "impl must be"),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("name", "value", "message"), BAD_SETTINGS)
def test_settings_changed_after_construction_are_checked_first(impl, name, value, message):
    bn = trained_module(impl)
    setattr(bn, name, value)
    x = Tensor(np.random.default_rng(1).standard_normal((4, 3)))
    assert_atomic(
        lambda: bn(x), bn, raises=(ValueError, TypeError), match="^BatchNorm1d: " + message
    )


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("name", "value", "message"), BAD_SETTINGS)
def test_scalar_settings_changed_after_construction_are_checked_first(impl, name, value, message):
    bn = ScalarBatchNorm1d(2, impl=impl)
    bn([[1.0, 2.0], [3.0, 5.0]])
    setattr(bn, name, value)
    assert_atomic(
        lambda: bn([[1.0, 2.0], [0.0, 1.0], [2.0, 2.0]]),
        bn,
        raises=(ValueError, TypeError),
        match="^BatchNorm1d: " + message,
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_track_running_stats_switched_on_later_is_refused(impl):
    bn = nn.BatchNorm1d(3, impl=impl, track_running_stats=False)
    bn.track_running_stats = True
    assert_atomic(
        lambda: bn(Tensor(np.ones((4, 3), dtype=np.float32))), bn, match="BatchNorm1d: track"
    )


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("frozen", ["running_mean", "running_var"])
def test_read_only_running_buffers_are_refused_before_the_mean_moves(impl, frozen):
    rm, rv = np.zeros(3), np.ones(3)
    {"running_mean": rm, "running_var": rv}[frozen].flags.writeable = False
    x = Tensor(np.random.default_rng(2).standard_normal((4, 3)))
    assert_atomic(
        lambda: F.batch_norm(x, rm, rv, training=True, impl=impl),
        [rm, rv],
        raises=ValueError,
        match=f"^batch_norm: {frozen} .* is read-only",
    )
    bn = trained_module(impl)
    getattr(bn, frozen).data.flags.writeable = False
    assert_atomic(lambda: bn(x), bn, raises=ValueError, match=f"^BatchNorm1d: {frozen}")


@pytest.mark.parametrize("impl", IMPLS)
@settings(max_examples=15, deadline=None)
@given(
    where=st.integers(0, 100),
    poison=st.sampled_from(["nan", "inf", "huge"]),
    track=st.booleans(),
)
def test_scalar_batchnorm_under_anomaly_changes_nothing(impl, where, poison, track):
    # a variance that overflows makes 1/sigma = 0 and a finite output: only the running
    # variance (when tracked) would become inf, so without running statistics nothing raises
    assume(poison != "huge" or track)
    bn = ScalarBatchNorm1d(2, impl=impl, track_running_stats=track)
    bn([[1.0, 2.0], [3.0, 5.0]])
    x = poisoned((3, 2), where, poison).tolist()
    with mg.detect_anomaly():
        assert_atomic(lambda: bn(x), bn, raises=(AnomalyError, OverflowError))


@settings(max_examples=25, deadline=None)
@given(
    impl=st.sampled_from(IMPLS),
    bad=st.sampled_from(
        ["batch_of_one", "wrong_features", "wrong_dtype", "1d", "4d", "not_a_tensor", "int"]
    ),
)
def test_a_bad_input_changes_nothing_in_a_model_in_training(impl, bad):
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=np.float64, rng=0),
        nn.BatchNorm1d(4, impl=impl, dtype=np.float64),
        nn.Dropout(0.2, rng=0),
        nn.ReLU(),
        nn.Linear(4, 2, dtype=np.float64, rng=1),
        nn.BatchNorm1d(2, impl=impl, dtype=np.float64),
    )
    model(Tensor(np.random.default_rng(0).standard_normal((6, 3))))
    x = {
        "batch_of_one": Tensor(np.ones((1, 3))),
        "wrong_features": Tensor(np.ones((5, 4))),
        "wrong_dtype": Tensor(np.ones((5, 3), dtype=np.float32)),
        "1d": Tensor(np.ones(3)),
        "4d": Tensor(np.ones((2, 3, 1, 1))),
        "not_a_tensor": "x",
        "int": Tensor(np.ones((5, 3), dtype=np.int64)),
    }[bad]
    assert_atomic(lambda: model(x), model)


@settings(max_examples=15, deadline=None)
@given(
    impl=st.sampled_from(IMPLS),
    where=st.integers(0, 100),
    poison=st.sampled_from(["nan", "inf"]),
)
def test_a_model_in_training_under_anomaly_changes_nothing(impl, where, poison):
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=np.float64, rng=0),
        nn.BatchNorm1d(4, impl=impl, dtype=np.float64),
        nn.Tanh(),
        nn.Linear(4, 2, dtype=np.float64, rng=1),
        nn.BatchNorm1d(2, impl=impl, dtype=np.float64),
    )
    model(Tensor(np.random.default_rng(0).standard_normal((6, 3))))
    x = Tensor(poisoned((5, 3), where, poison))
    with mg.detect_anomaly():
        assert_atomic(lambda: model(x), model, raises=AnomalyError)

"""minigrad.check's stage checker: a hand-written backward against autodiff, both engines."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.check import (
    StageChecker,
    StageError,
    check_stage,
    compare_arrays,
)


def tensor_batchnorm(seed: int = 0):
    """BatchNorm from primitive tensor ops; returns the nodes whose gradients we check."""
    rng = np.random.default_rng(seed)
    x = mg.Tensor(rng.normal(size=(6, 3)), requires_grad=True)
    gamma = mg.Tensor(rng.normal(size=3), requires_grad=True)
    beta = mg.Tensor(rng.normal(size=3), requires_grad=True)
    mean = x.mean(axis=0, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=0, keepdims=True)
    xhat = xc / (var + 1e-5).sqrt()
    y = xhat * gamma + beta
    dy = rng.normal(size=(6, 3))
    (y * mg.Tensor(dy)).sum().backward()
    return locals()


def hand_backward(t):
    """The textbook BatchNorm backward in NumPy."""
    x, gamma, dy = t["x"].data, t["gamma"].data, t["dy"]
    n = x.shape[0]
    xhat = t["xhat"].data
    sigma = np.sqrt(x.var(axis=0) + 1e-5)
    dxhat = dy * gamma
    dx = (n * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (n * sigma)
    return {"dx": dx, "dxhat": dxhat, "dgamma": (dy * xhat).sum(0), "dbeta": dy.sum(0)}


def test_right_answer_passes_every_array_close():
    t = tensor_batchnorm()
    mine = hand_backward(t)
    ref = {"dx": t["x"], "dxhat": t["xhat"], "dgamma": t["gamma"], "dbeta": t["beta"]}
    report = check_stage("all", mine, ref)
    assert report.ok
    assert [c.name for c in report.checks] == ["dx", "dxhat", "dgamma", "dbeta"]
    assert all(c.close and c.max_abs_diff < 1e-12 for c in report.checks)
    assert report.checks[3].exact  # a sum over the batch: the same additions, bit for bit


def test_one_wrong_element_is_named_with_its_stage():
    t = tensor_batchnorm()
    mine = hand_backward(t)
    mine["dx"] = mine["dx"].copy()
    mine["dx"][4, 1] += 0.25
    checker = StageChecker({"dx": t["x"], "dgamma": t["gamma"]})
    with pytest.raises(StageError) as info:
        checker.check("4: dx in one line", dx=mine["dx"], dgamma=mine["dgamma"])
    message = str(info.value)
    assert "'4: dx in one line'" in message
    assert "dx is wrong at element (4, 1)" in message
    assert "1 of 18 elements" in message
    assert message.splitlines()[0].startswith("stage '4: dx in one line': dx is wrong")
    assert "dgamma   | exact: True  | close: True" in message  # the table follows
    assert checker.passed == []


def test_stages_pass_in_order_and_are_recorded():
    t = tensor_batchnorm()
    mine = hand_backward(t)
    checker = StageChecker({"dxhat": t["xhat"], "dx": t["x"]})
    report = checker.check("1: xhat", dxhat=mine["dxhat"])
    checker.check("2: x", dx=mine["dx"])
    assert checker.passed == ["1: xhat", "2: x"]
    shown = repr(report)  # what a notebook cell ending in check() displays
    assert shown.startswith("stage '1: xhat': all close")
    assert "dxhat    | exact:" in shown and "| close: True" in shown


def test_checker_snapshots_gradients_at_construction():
    t = tensor_batchnorm()
    checker = StageChecker({"dx": t["x"]})
    expected = t["x"].grad.copy()
    t["x"].grad *= 2  # as a second backward pass would: leaves accumulate
    checker.check("snapshot", dx=expected)


def test_scalar_engine_values_and_nested_lists():
    xs = [mg.Value(v) for v in (1.0, 2.5, -0.5)]
    w = mg.Value(0.7)
    loss = mg.value_sum([(x * w).tanh() for x in xs])
    loss.backward()
    mine_x = [(1 - np.tanh(x.data * w.data) ** 2) * w.data for x in xs]
    mine_w = sum((1 - np.tanh(x.data * w.data) ** 2) * x.data for x in xs)
    report = check_stage("scalar", {"dx": mine_x, "dw": mine_w}, {"dx": xs, "dw": w})
    assert report.ok and report.checks[0].size == 3 and report.checks[1].worst_index == ()
    grid = [[mg.Value(1.0), mg.Value(2.0)], [mg.Value(3.0), mg.Value(4.0)]]
    mg.value_sum([v * v for row in grid for v in row]).backward()
    c = compare_arrays("dgrid", [[2.0, 4.0], [6.0, 8.5]], grid)
    assert not c.close and c.worst_index == (1, 1) and c.reference == 8.0 and c.mine == 8.5


def test_reference_can_be_an_array_and_float32_is_compared_in_float64():
    ref = np.array([1.0, 2.0, 3.0])
    c = compare_arrays("d", np.float32([1.0, 2.0, 3.0]), ref)
    assert c.exact and c.close
    c = compare_arrays("d", [1.0, 2.0, 3.0 + 1e-7], ref)
    assert not c.exact and c.close and c.max_abs_diff == pytest.approx(1e-7)


def test_nan_is_reported_as_the_worst_element():
    c = compare_arrays("d", [1.0, float("nan"), 3.0], np.array([1.0, 2.0, 3.0]))
    assert not c.close and c.worst_index == (1,) and c.max_abs_diff == float("inf")


def test_shape_mismatch_names_stage_array_and_both_shapes():
    t = tensor_batchnorm()
    mine = hand_backward(t)
    with pytest.raises(ValueError, match=r"'2: var'.*dgamma has shape \(1, 3\).*\(3,\)"):
        check_stage("2: var", {"dgamma": mine["dgamma"][None, :]}, {"dgamma": t["gamma"]})


@pytest.mark.parametrize(
    "bad, words",
    [
        (..., "not filled in yet"),
        (None, "not filled in yet"),
        ("0.5", "must be numbers"),
        ([[1.0, 2.0], [3.0]], "not a rectangular array"),
        (np.array([True, False, True]), "real numbers"),
        (mg.Tensor([1.0, 2.0, 3.0]), "use its .data or .grad"),
    ],
)
def test_wrong_types_name_the_stage_and_the_array(bad, words):
    ref = {"dbeta": np.zeros(3)}
    with pytest.raises(TypeError, match=r"check_stage '3: mean'.*dbeta") as info:
        check_stage("3: mean", {"dbeta": bad}, ref)
    assert words in str(info.value)


def test_a_list_of_tensors_is_refused_with_a_way_out():
    ts = [mg.Tensor(np.ones(2), requires_grad=True) for _ in range(2)]
    (ts[0] * ts[1]).sum().backward()
    with pytest.raises(TypeError, match=r"StageChecker, d.*scalar Values.*its own name"):
        StageChecker({"d": ts})


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"no autodiff gradient named 'dxhta'.*\['dbeta', 'dx'\]"):
        check_stage("1", {"dxhta": np.zeros(2)}, {"dx": np.zeros(2), "dbeta": np.zeros(2)})


def test_reference_without_gradient_says_call_backward():
    x = mg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"StageChecker, dx.*call backward\(\)"):
        StageChecker({"dx": x})


def test_bad_stage_and_empty_inputs():
    with pytest.raises(TypeError, match="stage must be a non-empty string"):
        check_stage("", {"d": [1.0]}, {"d": [1.0]})
    with pytest.raises(TypeError, match="at least one array"):
        check_stage("s", {}, {"d": [1.0]})
    with pytest.raises(TypeError, match="non-empty dict"):
        StageChecker({})


def test_validation_happens_before_any_verdict_is_recorded():
    checker = StageChecker({"a": np.zeros(2), "b": np.zeros(2)})
    with pytest.raises(ValueError):
        checker.check("s", a=np.zeros(2), b=np.zeros(3))
    assert checker.passed == []


def test_report_without_raising_lists_every_wrong_array():
    report = check_stage(
        "s",
        {"a": [0.0, 1.0], "b": [0.0, 0.0]},
        {"a": np.zeros(2), "b": np.zeros(2)},
        raise_on_failure=False,
    )
    assert not report.ok
    text = str(report)
    assert "WRONG" in text and "a is wrong at element (1,)" in text and "b is wrong" not in text


def test_public_api_is_reexported_unchanged():
    import minigrad.check as check

    for name in ("gradcheck", "compare_grads", "GradcheckError", "GradComparison"):
        assert hasattr(check, name)
    assert mg.gradcheck is check.gradcheck and mg.compare_grads is check.compare_grads

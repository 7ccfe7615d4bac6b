"""Optimizers: a bad gradient or a bad state_dict anywhere changes nothing, anywhere.

Hypothesis picks the optimizer, the parameters' dtypes, how many steps ran before (so
momentum buffers and Adam's counters exist), which parameter gets the bad gradient
(earlier ones have good gradients: they must not move either) and what is wrong with it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from state_snapshot import assert_atomic

from minigrad import Tensor, nn, optim

OPTIMIZERS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01}),
]
SHAPES = [(3, 2), (2,), (4,), ()]


def bad_gradient(kind: str, p: nn.Parameter) -> object:
    """A gradient for ``p`` that is wrong in the way ``kind`` says."""
    shape, dtype = p.data.shape, p.data.dtype
    good = np.ones(shape, dtype=dtype)
    return {
        "nan": np.where(good > 0, np.nan, 0).astype(dtype),
        "inf": np.full(shape, -np.inf, dtype=dtype),
        "overflows_in_cast": np.full(shape, 1e300, dtype=np.float64),  # inf as float32
        "complex": good.astype(np.complex128),
        "object": good.astype(object),
        "int": good.astype(np.int64),
        "bool": good.astype(bool),
        "list": good.tolist(),
        "number": 1.0,
        "wrong_shape": np.ones((*shape, 2), dtype=dtype),
        "wrong_shape_tensor": Tensor(np.ones((*shape, 2), dtype=dtype)),
        "complex_tensor": _complex_tensor(shape),
    }[kind]


def _complex_tensor(shape: tuple[int, ...]) -> Tensor:
    """A Tensor holding complex data (the constructor refuses it; assigning .data does not)."""
    t = Tensor(np.zeros(shape))
    t.data = np.ones(shape, dtype=np.complex128)
    return t


KINDS = [
    "nan",
    "inf",
    "overflows_in_cast",
    "complex",
    "object",
    "int",
    "bool",
    "list",
    "number",
    "wrong_shape",
    "wrong_shape_tensor",
    "complex_tensor",
]


def make(name: str, kwargs: dict, dtypes: list, named: bool, groups: bool):
    params = [
        nn.Parameter(np.linspace(-1, 1, int(np.prod(s))).reshape(s).astype(dt))
        for s, dt in zip(SHAPES, dtypes, strict=True)
    ]
    items = [(f"p{i}", p) for i, p in enumerate(params)] if named else params
    if groups:
        items = [{"params": items[:2]}, {"params": items[2:], "lr": 0.05}]
    return params, getattr(optim, name)(items, **kwargs)


@settings(max_examples=60, deadline=None)
@given(
    config=st.sampled_from(OPTIMIZERS),
    dtypes=st.lists(st.sampled_from([np.float32, np.float64]), min_size=4, max_size=4),
    named=st.booleans(),
    groups=st.booleans(),
    warmup=st.integers(0, 2),
    bad_index=st.integers(0, 3),
    kind=st.sampled_from(KINDS),
)
def test_a_bad_gradient_changes_no_parameter_and_no_state(
    config, dtypes, named, groups, warmup, bad_index, kind
):
    name, kwargs = config
    if kind == "overflows_in_cast" and dtypes[bad_index] != np.float32:
        dtypes = [*dtypes[:bad_index], np.float32, *dtypes[bad_index + 1 :]]
    params, opt = make(name, kwargs, dtypes, named, groups)
    for _ in range(warmup):
        for p in params:
            p.grad = np.full(p.data.shape, 0.5, dtype=p.data.dtype)
        opt.step()
    for p in params:
        p.grad = np.full(p.data.shape, 0.25, dtype=p.data.dtype)
    params[bad_index].grad = bad_gradient(kind, params[bad_index])
    label = f"p{bad_index}" if named else f"parameter {bad_index}"
    info = assert_atomic(opt.step, opt, raises=(TypeError, ValueError, FloatingPointError))
    message = str(info.value)
    assert message.startswith(f"{name}.step: ") and label in message, message
    assert str(params[bad_index].data.shape) in message, message


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS)
def test_a_tensor_gradient_is_taken_as_its_array(name, kwargs):
    a, opt_a = make(name, kwargs, [np.float32, np.float64] * 2, False, False)
    b, opt_b = make(name, kwargs, [np.float32, np.float64] * 2, False, False)
    for step in range(3):
        for pa, pb in zip(a, b, strict=True):
            g = np.full(pa.data.shape, 0.1 * (step + 1), dtype=pa.data.dtype)
            pa.grad, pb.grad = g, Tensor(g.copy())
        opt_a.step()
        opt_b.step()
    for pa, pb in zip(a, b, strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_a_float64_gradient_on_a_float32_parameter_is_cast():
    p = nn.Parameter(np.zeros(3, dtype=np.float32))
    p.grad = np.array([1.0, 2.0, 3.0])
    optim.SGD([p], lr=0.5).step()
    assert p.data.dtype == np.float32
    np.testing.assert_array_equal(p.data, np.array([-0.5, -1.0, -1.5], dtype=np.float32))


BAD_SETTINGS = [
    ("SGD", "lr", -1),
    ("SGD", "lr", float("nan")),
    ("SGD", "lr", float("inf")),
    ("SGD", "lr", "0.1"),
    ("SGD", "momentum", -0.5),
    ("SGD", "weight_decay", np.float32(-1)),
    ("SGD", "nesterov", "yes"),
    ("Adam", "lr", -1e-3),
    ("Adam", "eps", -1.0),
    ("Adam", "betas", (0.9, 1.0)),
    ("Adam", "betas", (0.9,)),
    ("Adam", "betas", (np.float64(-0.1), 0.9)),
    ("Adam", "amsgrad", None),
    ("AdamW", "weight_decay", float("nan")),
]


@pytest.mark.parametrize(("name", "key", "value"), BAD_SETTINGS)
def test_load_state_dict_checks_settings_as_the_constructor(name, key, value):
    params, opt = make(name, {"lr": 0.01}, [np.float64] * 4, False, False)
    for p in params:
        p.grad = np.ones(p.data.shape)
    opt.step()
    saved = opt.state_dict()
    saved["param_groups"][0][key] = value
    with pytest.raises((ValueError, TypeError), match=name):  # the constructor refuses it
        getattr(optim, name)(params, **{key: value})
    assert_atomic(lambda: opt.load_state_dict(saved), opt, raises=(ValueError, TypeError))


@pytest.mark.parametrize(("name", "key", "value"), BAD_SETTINGS)
def test_a_setting_changed_after_construction_is_checked_before_step(name, key, value):
    params, opt = make(name, {"lr": 0.01}, [np.float64] * 4, False, False)
    for p in params:
        p.grad = np.ones(p.data.shape)
    opt.param_groups[0][key] = value
    assert_atomic(opt.step, opt, raises=(ValueError, TypeError), match=name)


@settings(max_examples=25, deadline=None)
@given(
    config=st.sampled_from(OPTIMIZERS),
    corruption=st.sampled_from(
        ["shape", "complex", "object", "extra_group", "missing_params", "state_not_dict"]
    ),
    index=st.integers(0, 3),
)
def test_a_bad_state_dict_changes_nothing(config, corruption, index):
    name, kwargs = config
    params, opt = make(name, kwargs, [np.float64] * 4, False, False)
    for p in params:
        p.grad = np.ones(p.data.shape)
    opt.step()
    saved = opt.state_dict()
    entries = saved["state"].get(index)
    array_key = next((k for k, v in (entries or {}).items() if isinstance(v, np.ndarray)), None)
    if corruption in ("shape", "complex", "object") and array_key is None:
        corruption = "extra_group"  # plain SGD keeps no arrays
    if corruption == "shape":
        entries[array_key] = np.zeros((7,))
    elif corruption == "complex":
        entries[array_key] = entries[array_key] + 1j
    elif corruption == "object":
        entries[array_key] = entries[array_key].astype(object)
    elif corruption == "extra_group":
        saved["param_groups"].append(dict(saved["param_groups"][0]))
    elif corruption == "missing_params":
        del saved["param_groups"][0]["params"]
    else:
        saved["state"][index] = [1, 2]
    assert_atomic(lambda: opt.load_state_dict(saved), opt, raises=(ValueError, TypeError))


@pytest.mark.parametrize("make_number", [np.float32, np.float64, np.int64, float, int])
def test_numpy_scalar_settings_are_accepted_like_python_numbers(make_number):
    a, opt_a = make("Adam", {"lr": 0.01, "betas": (0.9, 0.999)}, [np.float64] * 4, False, False)
    lr = make_number(1) if make_number in (np.int64, int) else make_number(0.01)
    b, opt_b = make(
        "Adam",
        {"lr": lr, "betas": (make_number(0), make_number(0))},
        [np.float64] * 4,
        False,
        False,
    )
    assert isinstance(opt_b.param_groups[0]["lr"], float)
    for p in [*a, *b]:
        p.grad = np.ones(p.data.shape)
    opt_a.step()
    opt_b.step()  # runs: NumPy numbers behave as Python floats
    sgd = optim.SGD(b, lr=make_number(1), momentum=make_number(0))
    sgd.step()

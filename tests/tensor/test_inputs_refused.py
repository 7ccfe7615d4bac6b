"""Inputs refused at the door: complex, object and string data and ragged lists raise
naming the function they were given to, before any tensor exists."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor
from minigrad.batchnorm import compare_batchnorm

BAD_DATA = {
    "complex array": (lambda: np.array([1j, 2.0]), TypeError, r"complex128 \(complex\)"),
    "complex number": (lambda: 1j, TypeError, r"complex"),
    "object array": (lambda: np.array([1.0, None]), TypeError, r"object"),
    "string array": (lambda: np.array(["1.0", "2.0"]), TypeError, r"string"),
    "string list": (lambda: ["a", "b"], TypeError, r"string"),
    "ragged list": (lambda: [[1.0, 2.0], [3.0]], ValueError, r"ragged"),
    "None": (lambda: None, TypeError, r"object"),
}

MAKERS = {
    "Tensor": lambda d: Tensor(d),
    "tensor": lambda d: mg.tensor(d),
    "tensor(dtype=float64)": lambda d: mg.tensor(d, dtype=np.float64),
    "Parameter": lambda d: mg.nn.Parameter(d),
}


@pytest.mark.parametrize("what", sorted(BAD_DATA))
@pytest.mark.parametrize("maker", sorted(MAKERS))
def test_bad_data_is_refused_naming_the_function(maker, what):
    make_data, error, message = BAD_DATA[what]
    name = {"Parameter": "Tensor", "tensor(dtype=float64)": "tensor"}.get(maker, maker)
    with pytest.raises(error, match=f"^{name}: .*{message}"):
        MAKERS[maker](make_data())


def test_a_string_is_not_parsed_even_with_a_dtype():
    with pytest.raises(TypeError, match=r"^tensor: "):
        mg.tensor(["1.5"], dtype=np.float64)  # NumPy alone would parse it


@pytest.mark.parametrize("dtype", [np.complex64, object, str, "U3"])
@pytest.mark.parametrize("fn", ["zeros", "ones", "randn", "rand", "arange"])
def test_creation_functions_refuse_a_non_real_dtype(fn, dtype):
    call = {
        "arange": lambda: mg.arange(3, dtype=dtype),
    }.get(fn, lambda: getattr(mg, fn)(2, 3, dtype=dtype))
    with pytest.raises(TypeError, match=f"^{fn}: "):
        call()


@pytest.mark.parametrize("fn", ["zeros_like", "ones_like", "randn_like", "rand_like"])
def test_like_functions_refuse_complex_and_non_tensors(fn):
    with pytest.raises(TypeError, match=f"^{fn}: "):
        getattr(mg, fn)(np.ones(2, dtype=np.complex128))
    with pytest.raises(TypeError, match=f"^{fn}: expected a Tensor or an ndarray"):
        getattr(mg, fn)([1.0, 2.0])


def test_real_data_still_gets_in_with_pytorch_dtypes():
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.tensor([True, False]).dtype == np.bool_
    assert Tensor(np.float64(2.0)).dtype == np.float64
    assert mg.zeros(2, dtype=np.float64).dtype == np.float64
    assert mg.arange(3).dtype == np.int64


@pytest.mark.parametrize("what", sorted(BAD_DATA))
def test_compare_batchnorm_refuses_bad_data(what):
    make_data, error, _ = BAD_DATA[what]
    data = make_data()
    if isinstance(data, np.ndarray) and data.ndim == 1:
        data = np.stack([data, data, data])
    with pytest.raises(error, match=r"^compare_batchnorm: "):
        compare_batchnorm(data, numerical=False, repeat=1)


def test_compare_batchnorm_refuses_bad_gamma_and_upstream():
    x = np.random.default_rng(0).standard_normal((4, 2))
    with pytest.raises(TypeError, match=r"^compare_batchnorm: "):
        compare_batchnorm(x, gamma=[1j, 1.0], numerical=False, repeat=1)
    with pytest.raises(ValueError, match=r"^compare_batchnorm: upstream has shape"):
        compare_batchnorm(x, upstream=np.ones((3, 2)), numerical=False, repeat=1)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: np.ones(3),
        lambda: [1.0, 2.0],
        lambda: _with_data(np.ones(3, dtype=np.complex128)),
        lambda: _with_data(np.ones(3, dtype=object)),
        lambda: Tensor(np.ones(3, dtype=np.float32), requires_grad=True),
    ],
)
def test_gradcheck_refuses_what_it_cannot_differentiate(bad):
    x = bad()
    with pytest.raises(TypeError, match=r"^gradcheck: "):
        mg.gradcheck(lambda t: t * 2, [x])


def _with_data(arr: np.ndarray) -> Tensor:
    t = Tensor(np.zeros(arr.shape), requires_grad=True)
    t.data = arr  # past the door: gradcheck must still refuse it
    return t


def test_gradcheck_puts_the_input_back_when_f_raises():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    calls = []

    def f(t):
        calls.append(1)
        if len(calls) > 3:  # fails inside the central differences
            raise RuntimeError("f failed")
        return (t * t).sum()

    with pytest.raises(RuntimeError, match="f failed"):
        mg.gradcheck(f, [x])
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])


def test_cat_of_zero_dimensional_tensors_names_the_op():
    with pytest.raises(ValueError, match=r"^cat: tensor 0 is zero-dimensional \(shape \(\)\)"):
        mg.cat([mg.tensor(1.0), mg.tensor(2.0)])
    assert mg.stack([mg.tensor(1.0), mg.tensor(2.0)]).shape == (2,)

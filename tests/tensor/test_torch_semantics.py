"""PyTorch semantics the README promises, checked against PyTorch: indexing that mixes
integers and index arrays, max/min over NaN, maximum/minimum with NaN."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg

NAN = np.nan


def _both(x: np.ndarray):
    return mg.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)


def _torch_key(key):
    parts = key if isinstance(key, tuple) else (key,)
    out = tuple(torch.tensor(k) if isinstance(k, list | np.ndarray) else k for k in parts)
    return out if isinstance(key, tuple) else out[0]


KEYS = [
    (0, slice(None), [0, 2]),  # the issue's case: NumPy gives (2, 3, 5), PyTorch (3, 2, 5)
    (slice(None), 0, slice(None), [0, 2]),
    (0, [0, 2], slice(None), [1, 3]),
    ([0, 1], slice(None), 0),
    (Ellipsis, 0, [0, 2]),
    (0, None, slice(None), [0, 2]),
    (1, slice(None), np.array([True, False, True, True])),
    (1, [0, 0, 2]),  # repeated: gradients add up
    (slice(1, 2), [1, 1]),
    ([1, 0], slice(None), [2, 3], 4),
    1,
]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_indexing_orders_axes_as_pytorch(key):
    data = np.arange(120.0).reshape(2, 3, 4, 5)
    ours, theirs = _both(data)
    out, expected = ours[key], theirs[_torch_key(key)]
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    w = np.random.default_rng(0).standard_normal(out.shape)
    (out * mg.Tensor(w)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_the_issue_example():
    x = mg.Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x[0, :, [0, 2]].shape == (3, 2)  # NumPy: (2, 3)


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.sampled_from([NAN, 1.0, 2.0, 3.0, -1.0]), min_size=6, max_size=6),
    op=st.sampled_from(["max", "min"]),
)
def test_full_reduction_over_nan_matches_torch(values, op):
    x = np.array(values).reshape(2, 3)
    ours, theirs = _both(x)
    out, expected = getattr(ours, op)(), getattr(theirs, op)()
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    out.backward()
    expected.backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.sampled_from([NAN, 1.0, 2.0, 3.0]), min_size=6, max_size=6),
    op=st.sampled_from(["max", "min"]),
    axis=st.sampled_from([0, 1]),
)
def test_reduction_along_one_axis_over_nan_matches_torch(values, op, axis):
    x = np.array(values).reshape(2, 3)
    ours, theirs = _both(x)
    out = getattr(ours, op)(axis=axis)
    expected = getattr(theirs, op)(dim=axis).values
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_amax_over_nan_differs_from_torch_as_documented():
    """torch.amax gives NaN to every element of a slice holding a NaN (0/0 ties);
    ours routes the gradient to the NaNs, as torch.max() does over all elements."""
    x = np.array([[1.0, NAN, 3.0, NAN], [1.0, 2.0, 3.0, 3.0]])
    ours, theirs = _both(x)
    ours.max(axis=(1,)).sum().backward()
    torch.amax(theirs, dim=(1,)).sum().backward()
    assert np.isnan(theirs.grad.numpy()[0]).all()  # PyTorch's amax: all NaN
    np.testing.assert_array_equal(ours.grad[0], [0.0, 0.5, 0.0, 0.5])
    flat = torch.tensor(x[0], requires_grad=True)
    flat.max().backward()  # torch.max over the same slice: our rule
    np.testing.assert_array_equal(ours.grad[0], flat.grad.numpy())
    np.testing.assert_array_equal(ours.grad[1], theirs.grad.numpy()[1])  # no NaN: the same


@settings(max_examples=40, deadline=None)
@given(
    a=st.lists(st.sampled_from([NAN, 1.0, 2.0, -np.inf]), min_size=5, max_size=5),
    b=st.lists(st.sampled_from([NAN, 1.0, 2.0, np.inf]), min_size=5, max_size=5),
    op=st.sampled_from(["maximum", "minimum"]),
)
def test_maximum_and_minimum_with_nan_match_torch(a, b, op):
    (ma, ta), (mb, tb) = _both(np.array(a)), _both(np.array(b))
    out, expected = getattr(mg, op)(ma, mb), getattr(torch, op)(ta, tb)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    w = np.arange(1.0, 6.0)
    (out * mg.Tensor(w)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(ma.grad, ta.grad.numpy())
    np.testing.assert_array_equal(mb.grad, tb.grad.numpy())

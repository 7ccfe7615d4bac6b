"""Toy data sets: shapes, dtypes, reproducibility, geometry, splitting, bad arguments."""

from __future__ import annotations

import random

import numpy as np
import pytest

from minigrad.datasets import load_digits, make_circles, make_moons, make_spirals, train_test_split


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals])
def test_shapes_dtypes_and_seeds(make):
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    X, y = make(101, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64 and y.shape == (101,)
    assert y.dtype == np.int64
    X2, y2 = make(101, seed=3)
    X3, _ = make(101, seed=4)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and not np.array_equal(X, X3)
    assert np.array_equal(np.random.get_state()[1], np_state) and random.getstate() == py_state
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1  # classes as balanced as n allows
    assert not np.all(y[:-1] <= y[1:])  # shuffled, not sorted by class


def test_moons_geometry_without_noise():
    X, y = make_moons(200, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(*upper.T), 1.0)
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12


def test_circles_radii_without_noise():
    X, y = make_circles(100, noise=0.0, factor=0.3)
    radius = np.hypot(*X.T)
    assert np.allclose(radius[y == 0], 1.0) and np.allclose(radius[y == 1], 0.3)


def test_spirals_classes_and_radius():
    X, y = make_spirals(300, classes=4, noise=0.0)
    assert set(y.tolist()) == {0, 1, 2, 3}
    assert np.hypot(*X.T).max() <= 1.0 + 1e-12


def test_bad_arguments():
    with pytest.raises(ValueError, match="make_moons: n must be an integer >= 2"):
        make_moons(1)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        make_moons(10, noise=-0.1)
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        make_circles(10, factor=1.5)
    with pytest.raises(ValueError, match="fewer points than classes"):
        make_spirals(2, classes=3)


def test_load_digits_scaled():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(y.tolist()) == set(range(10))


def test_train_test_split_keeps_rows_paired():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, seed=1)
    assert len(X_test) == 3 and len(X_train) == 7
    assert np.array_equal(X_train[:, 0] / 2, y_train) and np.array_equal(X_test[:, 0] / 2, y_test)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    again = train_test_split(X, y, test_size=0.3, seed=1)
    assert np.array_equal(again[3], y_test)
    assert len(train_test_split(X, test_size=4)[1]) == 4
    with pytest.raises(ValueError, match="different lengths"):
        train_test_split(X, y[:5])
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(X, test_size=1.5)
    with pytest.raises(ValueError, match="both parts need at least one row"):
        train_test_split(X, test_size=10)

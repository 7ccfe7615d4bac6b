"""Toy data sets for training small networks, made on the spot with NumPy.

Every generator takes a ``seed`` and draws from its own ``np.random.default_rng(seed)``,
so the same call always gives the same points and NumPy's global random state is never
touched. Each returns ``(X, y)``: ``X`` float64 of shape ``(n, 2)`` (points in the
plane), ``y`` int64 of shape ``(n,)`` (class labels 0, 1, ...). ``dtype=np.float32`` (or
``minigrad.float32``) gives ``X`` in the tensor engine's default dtype, ready for a
float32 model, as ``torch.tensor(X, dtype=torch.float32)`` would.

``load_digits()`` wraps scikit-learn's bundled 8x8 handwritten digits (no download),
and ``train_test_split`` shuffles and splits any arrays with a fixed seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["load_digits", "make_circles", "make_moons", "make_spirals", "train_test_split"]


def _check_n(n: int, who: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < minimum:
        raise ValueError(f"{who}: n must be an integer >= {minimum}, got {n!r}")
    return int(n)


def _check_dtype(dtype: Any, who: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{who}: dtype must be float32 or float64, got {dt}")
    return dt


def _check_noise(noise: float, who: str) -> float:
    if not noise >= 0:  # also rejects NaN
        raise ValueError(f"{who}: noise must be >= 0, got {noise!r}")
    return float(noise)


def make_moons(
    n: int = 100, noise: float = 0.1, seed: int = 0, *, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: class 0 the upper arc, class 1 the lower one.

    Class 0: (cos t, sin t) for t in [0, pi]; class 1: (1 - cos t, 0.5 - sin t), the
    same arc flipped and shifted so the two hook into each other. Gaussian noise with
    standard deviation ``noise`` is added to every coordinate. Class 0 gets ``n // 2``
    points (rounded up), class 1 the rest; the rows are shuffled.
    """
    n = _check_n(n, "make_moons", 2)
    noise = _check_noise(noise, "make_moons")
    dtype = _check_dtype(dtype, "make_moons")
    rng = np.random.default_rng(seed)
    n0 = (n + 1) // 2
    n1 = n - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    X = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    return _shuffled(rng, X, y, dtype)


def make_circles(
    n: int = 100,
    noise: float = 0.05,
    factor: float = 0.5,
    seed: int = 0,
    *,
    dtype: Any = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle inside a big one: class 0 on the unit circle, class 1 on radius ``factor``.

    ``0 < factor < 1``. Points are evenly spaced in angle, then Gaussian noise with
    standard deviation ``noise`` is added; the rows are shuffled.
    """
    n = _check_n(n, "make_circles", 2)
    noise = _check_noise(noise, "make_circles")
    dtype = _check_dtype(dtype, "make_circles")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"make_circles: factor must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    n0 = (n + 1) // 2
    n1 = n - n0
    t0 = np.linspace(0.0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, n1, endpoint=False)
    outer = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    inner = factor * np.stack([np.cos(t1), np.sin(t1)], axis=1)
    X = np.concatenate([outer, inner]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    return _shuffled(rng, X, y, dtype)


def make_spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0, *, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` spiral arms winding out from the origin, one class per arm (CS231n's toy set).

    Arm k's points have radius r in [0, 1] and angle ``r * 4 + 2 pi k / classes`` (about
    two thirds of a turn), plus Gaussian noise of standard deviation ``noise`` on the
    angle, so the arms blur as ``noise`` grows. ``n`` points in total, shared as evenly
    as possible; the rows are shuffled.
    """
    n = _check_n(n, "make_spirals")
    noise = _check_noise(noise, "make_spirals")
    dtype = _check_dtype(dtype, "make_spirals")
    if isinstance(classes, bool) or not isinstance(classes, int | np.integer) or classes < 1:
        raise ValueError(f"make_spirals: classes must be an integer >= 1, got {classes!r}")
    if n < classes:
        raise ValueError(f"make_spirals: n={n} is fewer points than classes={classes}")
    rng = np.random.default_rng(seed)
    sizes = [n // classes + (k < n % classes) for k in range(classes)]
    points, labels = [], []
    for k, size in enumerate(sizes):
        r = np.linspace(0.0, 1.0, size)
        angle = 4.0 * r + 2 * np.pi * k / classes + rng.normal(scale=noise, size=size)
        points.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
        labels.append(np.full(size, k, dtype=np.int64))
    return _shuffled(rng, np.concatenate(points), np.concatenate(labels), dtype)


def load_digits(*, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 handwritten digits: ``X`` float64 (1797, 64) in [0, 1], ``y``.

    The pixels are 0..16 in the original; here they are divided by 16. The data ship
    with scikit-learn (no download), which the ``examples`` extra installs (from the
    repository: ``pip install -e '.[examples]'``; the name ``minigrad`` on PyPI is
    another project).
    """
    dtype = _check_dtype(dtype, "load_digits")
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as error:
        raise ImportError(
            "load_digits needs scikit-learn: from your minigrad checkout run "
            "bash scripts/demo.sh (it sets up .venv with it), or "
            "pip install -e '.[examples]' (the name minigrad on PyPI is another project)"
        ) from error
    digits = sklearn_load_digits()
    X = (np.asarray(digits.data, dtype=np.float64) / 16.0).astype(dtype, copy=False)
    y = np.asarray(digits.target, dtype=np.int64)
    return X, y


def train_test_split(
    *arrays: np.ndarray, test_size: float = 0.25, seed: int = 0
) -> list[np.ndarray]:
    """Shuffle rows with ``seed`` and split each array: ``X_train, X_test, y_train, y_test, ...``.

    ``test_size`` is a fraction in (0, 1) (rounded up to whole rows, at least one row in
    each part) or a number of rows. All arrays must have the same number of rows, and
    they are shuffled with the same permutation, so rows stay paired.
    """
    if not arrays:
        raise ValueError("train_test_split: give at least one array")
    n = len(arrays[0])
    for i, a in enumerate(arrays):
        if len(a) != n:
            lengths = [len(a) for a in arrays]
            raise ValueError(
                f"train_test_split: arrays have different lengths {lengths} (array {i})"
            )
    if n < 2:
        raise ValueError(f"train_test_split: need at least 2 rows to split, got {n}")
    if isinstance(test_size, bool):
        raise ValueError(f"train_test_split: test_size must be a number, got {test_size!r}")
    if isinstance(test_size, int | np.integer):
        n_test = int(test_size)
    elif 0.0 < test_size < 1.0:
        n_test = int(np.ceil(test_size * n))
    else:
        raise ValueError(
            f"train_test_split: test_size must be a fraction in (0, 1) or a row count, "
            f"got {test_size!r}"
        )
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"train_test_split: test_size={test_size!r} leaves {n_test} of {n} rows for "
            "testing; both parts need at least one row"
        )
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    result = []
    for a in arrays:
        a = np.asarray(a)
        result += [a[train], a[test]]
    return result


def _shuffled(
    rng: np.random.Generator, X: np.ndarray, y: np.ndarray, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """The same rows in a random order, so classes are not sorted (minibatches mix them)."""
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order], dtype=dtype), y[order]

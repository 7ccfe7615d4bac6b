"""BatchNorm's hand-derived double backward (``minigrad.batchnorm.double_backward``),
checked two ways: central differences of the first-order backward in float64, and
PyTorch's double backward of ``torch.nn.functional.batch_norm``, element by element.
Each comparison prints its worst element (``pytest -s`` shows them)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from minigrad.batchnorm.double_backward import (
    fused_double_backward,
    fused_double_backward_eval,
)
from minigrad.batchnorm.math import (
    fused_backward,
    fused_backward_eval,
    fused_forward,
)

EPS = 1e-5
SHAPES = [(5, 3), (4, 3, 2)]
# Which upstream gradients (ggx, gggamma, ggbeta) are given; None stands for zero.
PARTS = [
    ("ggx", "gggamma", "ggbeta"),
    ("ggx",),
    ("gggamma",),
    ("ggbeta",),
    ("ggx", "ggbeta"),
    (),
]


def case(seed, shape, affine, parts, dtype=np.float64, offset=0.0):
    """A random problem: inputs of B, running statistics, and the chosen upstream parts."""
    rng = np.random.default_rng(seed)
    c = shape[1]

    def big():
        return rng.standard_normal(shape).astype(dtype)

    def small(scale=1.0, shift=0.0):
        return (shift + scale * rng.standard_normal(c)).astype(dtype)

    x = (big() + dtype(offset)).astype(dtype)
    gamma = small(0.5, 1.0) if affine else None
    dy = big()
    ggx = big() if "ggx" in parts else None
    gggamma = small() if "gggamma" in parts else None
    ggbeta = small() if "ggbeta" in parts else None
    running_mean = small(0.3, offset)
    running_var = np.abs(small(0.5, 1.0)) + dtype(0.1)
    return x, gamma, dy, ggx, gggamma, ggbeta, running_mean, running_var


def scalar_loss(dx, dgamma, dbeta, ggx, gggamma, ggbeta):
    """L = sum(ggx dx) + sum(gggamma dgamma) + sum(ggbeta dbeta), None terms left out."""
    total = 0.0
    for up, out in ((ggx, dx), (gggamma, dgamma), (ggbeta, dbeta)):
        if up is not None:
            total += float(np.sum(up * out))
    return total


def central_differences(f, arrays, h=1e-6):
    """dL/d(array) for every array in ``arrays`` (None skipped), element by element."""
    grads = []
    for a in arrays:
        if a is None:
            grads.append(None)
            continue
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            saved = a[idx]
            a[idx] = saved + h
            plus = f(*arrays)
            a[idx] = saved - h
            minus = f(*arrays)
            a[idx] = saved
            g[idx] = (plus - minus) / (2 * h)
        grads.append(g)
    return grads


def assert_close(name, got, want, atol, rtol=0.0):
    """Element by element; the worst element is printed and named in a failure."""
    if want is None:
        assert got is None, f"{name}: expected None, got {type(got).__name__}"
        return
    assert got is not None and got.shape == want.shape, f"{name}: shape mismatch"
    diff = np.abs(got - want)
    excess = diff - (atol + rtol * np.abs(want))
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), diff.shape))
    worst = float(diff.max())
    print(f"{name}: worst |diff| {worst:.2e} (at {idx}: {got[idx]:.17g} vs {want[idx]:.17g})")
    assert excess[idx] <= 0, (
        f"{name}: |diff| {diff[idx]:.3e} at {idx} exceeds {atol} + {rtol}*|ref|: "
        f"kernel {got[idx]!r}, reference {want[idx]!r}"
    )


def zeros_if_none(v, like):
    return np.zeros_like(like) if v is None else v


# ---------------------------------------------------------------- (a) central differences


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("parts", PARTS)
def test_training_matches_central_differences(shape, affine, parts):
    x, gamma, dy, ggx, gggamma, ggbeta, _, _ = case(1, shape, affine, parts)

    def loss(x, gamma, dy):
        _, stats = fused_forward(x, gamma, None, EPS)
        return scalar_loss(*fused_backward(dy, stats, gamma), ggx, gggamma, ggbeta)

    want = central_differences(loss, [x.copy(), None if gamma is None else gamma.copy(), dy])
    got = fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS)
    for name, g, w in zip(("dL/dx", "dL/dgamma", "dL/ddy"), got, want, strict=True):
        assert_close(f"train {shape} {parts} {name}", g, w, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("parts", PARTS)
def test_eval_matches_central_differences(shape, affine, parts):
    x, gamma, dy, ggx, gggamma, ggbeta, rm, rv = case(2, shape, affine, parts)
    inv_std = 1.0 / np.sqrt(rv + EPS)

    def loss(x, gamma, dy):
        return scalar_loss(*fused_backward_eval(dy, x, rm, inv_std, gamma), ggx, gggamma, ggbeta)

    want = central_differences(loss, [x.copy(), None if gamma is None else gamma.copy(), dy])
    got = fused_double_backward_eval(x, rm, rv, gamma, dy, ggx, gggamma, ggbeta, EPS)
    for name, g, w in zip(("dL/dx", "dL/dgamma", "dL/ddy"), got, want, strict=True):
        assert_close(f"eval {shape} {parts} {name}", g, w, atol=1e-7, rtol=1e-6)


def test_statistics_are_not_constants_in_training():
    """The classic bug: holding mean and var fixed gives the eval formula's gx = a dy / sigma.
    With batch statistics gx differs, and only ggx (through mean/var) reaches x then."""
    x, gamma, dy, ggx, _, _, _, _ = case(3, (6, 2), True, ("ggx",))
    gx, _, _ = fused_double_backward(x, gamma, dy, ggx, None, None, EPS)
    assert np.abs(gx).max() > 1e-2  # eval mode would give exactly zero here
    mean, var = x.mean(axis=0), x.var(axis=0)
    gx_eval, _, _ = fused_double_backward_eval(x, mean, var, gamma, dy, ggx, None, None, EPS)
    assert np.array_equal(gx_eval, np.zeros_like(x))


@pytest.mark.parametrize("train", [True, False])
def test_none_upstream_means_zero(train):
    shape = (5, 3, 2)
    x, gamma, dy, ggx, gggamma, ggbeta, rm, rv = case(4, shape, True, PARTS[0])
    c = np.zeros(3)

    def run(u, a, b):
        if train:
            return fused_double_backward(x, gamma, dy, u, a, b, EPS)
        return fused_double_backward_eval(x, rm, rv, gamma, dy, u, a, b, EPS)

    for parts in PARTS:
        u = ggx if "ggx" in parts else None
        a = gggamma if "gggamma" in parts else None
        b = ggbeta if "ggbeta" in parts else None
        with_none = run(u, a, b)
        with_zeros = run(zeros_if_none(u, x), zeros_if_none(a, c), zeros_if_none(b, c))
        for got, want in zip(with_none, with_zeros, strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_saved_statistics_give_the_same_result():
    x, gamma, dy, ggx, gggamma, ggbeta, _, _ = case(5, (7, 4, 3), True, PARTS[0])
    _, stats = fused_forward(x, gamma, None, EPS)
    fresh = fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS)
    saved = fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS, stats=stats)
    for got, want in zip(saved, fresh, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_float32_keeps_its_dtype(shape):
    parts = PARTS[0]
    args64 = case(6, shape, True, parts)
    args32 = [None if a is None else a.astype(np.float32) for a in args64]
    x, gamma, dy, ggx, gggamma, ggbeta, rm, rv = args32
    train32 = fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS)
    eval32 = fused_double_backward_eval(x, rm, rv, gamma, dy, ggx, gggamma, ggbeta, EPS)
    x, gamma, dy, ggx, gggamma, ggbeta, rm, rv = [
        None if a is None else a.astype(np.float64) for a in args32
    ]
    train64 = fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS)
    eval64 = fused_double_backward_eval(x, rm, rv, gamma, dy, ggx, gggamma, ggbeta, EPS)
    for got, want in zip(train32 + eval32, train64 + eval64, strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_far_from_zero_inputs():
    """x around 1000 (mean >> spread): the kernel works on centered values, so the
    float64 answer still matches PyTorch to rounding; central differences of the first
    order lose digits to cancellation here (h on x ~ 1e3), hence their looser bound."""
    x, gamma, dy, ggx, gggamma, ggbeta, rm, rv = case(7, (6, 2), True, PARTS[0], offset=1e3)
    got = fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS)
    want = torch_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, rm, rv, training=True)
    for name, g, w in zip(("dL/dx", "dL/dgamma", "dL/ddy"), got, want, strict=True):
        assert_close(f"torch offset 1e3 {name}", g, w, atol=1e-10)

    def loss(x, gamma, dy):
        _, stats = fused_forward(x, gamma, None, EPS)
        return scalar_loss(*fused_backward(dy, stats, gamma), ggx, gggamma, ggbeta)

    want = central_differences(loss, [x.copy(), gamma.copy(), dy], h=1e-5)
    for name, g, w in zip(("dL/dx", "dL/dgamma", "dL/ddy"), got, want, strict=True):
        assert_close(f"offset 1e3 {name}", g, w, atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------- (b) PyTorch


def torch_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, rm, rv, training):
    """(dL/dx, dL/dgamma, dL/ddy) from torch: grad with create_graph, then grad again."""
    tx = torch.tensor(x, requires_grad=True)
    tdy = torch.tensor(dy, requires_grad=True)
    tg = None if gamma is None else torch.tensor(gamma, requires_grad=True)
    tb = None if gamma is None else torch.zeros(x.shape[1], dtype=tx.dtype, requires_grad=True)
    # copies: training=True would update the running statistics in place
    trm, trv = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    y = F.batch_norm(tx, trm, trv, tg, tb, training=training, momentum=0.1, eps=EPS)
    wrt = [tx] if tg is None else [tx, tg, tb]
    first = torch.autograd.grad(y, wrt, tdy, create_graph=True)
    dx = first[0]
    dgamma, dbeta = (first[1], first[2]) if tg is not None else (None, None)
    if tg is None:  # no affine: B still outputs dgamma = sum(dy xhat) and dbeta = sum(dy);
        # y is xhat here, and a function of x in torch's graph, so x's path is kept
        dgamma, dbeta = (tdy * y).sum(dim=_dims(x)), tdy.sum(dim=_dims(x))
    loss = torch.zeros((), dtype=tx.dtype)
    for up, out in ((ggx, dx), (gggamma, dgamma), (ggbeta, dbeta)):
        if up is not None:
            loss = loss + (torch.tensor(up) * out).sum()
    inputs = [tx, tdy] if tg is None else [tx, tg, tdy]
    if not loss.requires_grad:
        grads = [None] * len(inputs)
    else:
        grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    out = [
        np.zeros_like(t.detach().numpy()) if g is None else g.numpy()
        for g, t in zip(grads, inputs, strict=True)
    ]
    if tg is None:
        return out[0], None, out[1]
    return out[0], out[1], out[2]


def _dims(x):
    return (0,) if x.ndim == 2 else (0, 2)


@pytest.mark.parametrize("shape", [(8, 4), (6, 3, 5)])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("parts", PARTS)
@pytest.mark.parametrize("training", [True, False])
def test_matches_pytorch_double_backward(shape, affine, parts, training):
    x, gamma, dy, ggx, gggamma, ggbeta, rm, rv = case(8, shape, affine, parts)
    want = torch_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, rm, rv, training)
    if training:
        got = fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS)
    else:
        got = fused_double_backward_eval(x, rm, rv, gamma, dy, ggx, gggamma, ggbeta, EPS)
    mode = "train" if training else "eval"
    for name, g, w in zip(("dL/dx", "dL/dgamma", "dL/ddy"), got, want, strict=True):
        assert_close(f"torch {mode} {shape} {parts} {name}", g, w, atol=1e-10)


# ---------------------------------------------------------------- (c) bad input


# (what to replace in a good call, what the message must say after the op's name)
BAD_TRAINING = [
    ({"dy": np.zeros((4, 2))}, r"dy must have x's shape \(4, 3\), got \(4, 2\)"),
    ({"ggx": np.zeros((5, 3))}, r"ggx must have x's shape \(4, 3\), got \(5, 3\)"),
    ({"gamma": np.ones(4)}, r"gamma must have shape \(3,\) for x of shape \(4, 3\), got \(4,\)"),
    ({"gggamma": np.ones((3, 1))}, r"gggamma must have shape \(3,\) .*got \(3, 1\)"),
    ({"ggbeta": np.ones(2)}, r"ggbeta must have shape \(3,\) .*got \(2,\)"),
    ({"x": np.zeros(4), "dy": np.zeros(4)}, r"expected 2D \(N, C\) or 3D .*shape \(4,\)"),
    (
        {"x": np.zeros((1, 3)), "dy": np.zeros((1, 3)), "ggx": None},
        r"expected more than 1 value per channel when training, got x of shape \(1, 3\)",
    ),
    ({"eps": 0.0}, r"eps must be > 0"),
]
BAD_EVAL = [
    ({"running_mean": np.zeros(4)}, r"running_mean must have shape \(3,\) .*\(4, 3\), got \(4,\)"),
    ({"running_var": np.ones((1, 3))}, r"running_var must have shape \(3,\) .*got \(1, 3\)"),
    ({"dy": np.zeros((4, 3, 1))}, r"dy must have x's shape \(4, 3\), got \(4, 3, 1\)"),
]


def good(shape=(4, 3)):
    x, gamma, dy, ggx, gggamma, ggbeta, rm, rv = case(9, shape, True, PARTS[0])
    return dict(x=x, gamma=gamma, dy=dy, ggx=ggx, gggamma=gggamma, ggbeta=ggbeta, eps=EPS), rm, rv


@pytest.mark.parametrize("change, pattern", BAD_TRAINING)
def test_bad_input_training(change, pattern):
    args, _, _ = good()
    args.update(change)
    with pytest.raises(ValueError, match=rf"^batchnorm double backward: {pattern}"):
        fused_double_backward(**args)


@pytest.mark.parametrize("change, pattern", BAD_TRAINING[:5] + BAD_EVAL)
def test_bad_input_eval(change, pattern):
    args, rm, rv = good()
    args.update(running_mean=rm, running_var=rv)
    args.update(change)
    with pytest.raises(ValueError, match=rf"^batchnorm double backward: {pattern}"):
        fused_double_backward_eval(**args)


def test_eval_allows_a_single_value_per_channel():
    args, rm, rv = good((1, 3))
    gx, ggamma, gdy = fused_double_backward_eval(running_mean=rm, running_var=rv, **args)
    assert gx.shape == gdy.shape == (1, 3) and ggamma.shape == (3,)


def test_bad_dtypes_raise_type_error():
    x, gamma, dy, ggx, gggamma, ggbeta, *_ = case(9, (4, 3), True, PARTS[0])
    with pytest.raises(TypeError, match="batchnorm double backward: x must be a float32"):
        fused_double_backward(x.astype(np.int64), gamma, dy, ggx, gggamma, ggbeta, EPS)
    with pytest.raises(TypeError, match="dy dtype float32 does not match x dtype float64"):
        fused_double_backward(x, gamma, dy.astype(np.float32), ggx, gggamma, ggbeta, EPS)
    with pytest.raises(TypeError, match="gamma must be an ndarray, got list"):
        fused_double_backward(x, [1.0, 1.0, 1.0], dy, ggx, gggamma, ggbeta, EPS)


def test_stats_from_another_input_are_rejected():
    x, gamma, dy, ggx, gggamma, ggbeta, *_ = case(9, (4, 3), True, PARTS[0])
    _, stats = fused_forward(np.zeros((5, 3)), gamma, None, EPS)
    with pytest.raises(ValueError, match=r"stats do not belong to x of shape \(4, 3\)"):
        fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS, stats=stats)


# ---------------------------------------------------------------- the benchmark


@pytest.mark.parametrize("training", [True, False])
def test_the_benchmark_times_the_same_product_on_both_sides(training):
    """benchmarks/bn_double_backward_kernel.py: its kernel and PyTorch contenders agree."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "bn_double_backward_kernel.py"
    spec = importlib.util.spec_from_file_location("bn_double_backward_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    runs = bench.contenders((16, 8), training)
    want = [t.numpy() for t in runs["torch"]()]
    kernels = [name for name in runs if name.startswith("kernel") and "+" not in name]
    assert kernels == (["kernel", "kernel, saved stats"] if training else ["kernel"])
    for name in kernels:
        for got, w in zip(runs[name](), want, strict=True):
            np.testing.assert_allclose(got, w, rtol=0, atol=1e-10)
    assert callable(bench.main)

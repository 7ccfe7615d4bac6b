"""The ops under test, each with its PyTorch twin and the input values it is smooth at.

A case is ``(name, minigrad_fn, torch_fn, n_inputs, domain)``; the functions take the
inputs positionally. ``domain`` turns random normal values into valid, smooth inputs:
``"any"``, ``"positive"`` (log, sqrt, a base of a real power), ``"away"`` (|x| >= 0.2:
away from the kinks of relu, abs, clip and away from division by zero).
"""

from __future__ import annotations

import numpy as np
import torch

import minigrad as mg

# Binary ops with broadcasting: their inputs get mutually broadcastable shapes.
BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, "any"),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, "any"),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, "any"),
    ("div", lambda a, b: a / b, lambda a, b: a / b, "away"),
    ("pow", lambda a, b: a**b, lambda a, b: a**b, "positive"),
    ("maximum", mg.maximum, torch.maximum, "any"),
    ("minimum", mg.minimum, torch.minimum, "any"),
    (
        "where",
        lambda a, b: mg.where(a.data > b.data, a, b),
        lambda a, b: torch.where(a > b, a, b),
        "any",
    ),
]

# Unary ops, elementwise: any shape works.
UNARY = [
    ("neg", lambda a: -a, lambda a: -a, "any"),
    ("exp", lambda a: a.exp(), torch.exp, "any"),
    ("log", lambda a: a.log(), torch.log, "positive"),
    ("sqrt", lambda a: a.sqrt(), torch.sqrt, "positive"),
    ("tanh", lambda a: a.tanh(), torch.tanh, "any"),
    ("sigmoid", lambda a: a.sigmoid(), torch.sigmoid, "any"),
    ("relu", lambda a: a.relu(), torch.relu, "away"),
    ("abs", lambda a: a.abs(), torch.abs, "away"),
    ("clip", lambda a: a.clip(-0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), "away"),
    ("clip_min", lambda a: a.clip(min=0.1), lambda a: a.clamp(min=0.1), "away"),
    ("pow2", lambda a: a**2, lambda a: a**2, "any"),
    ("pow3", lambda a: a**3, lambda a: a**3, "any"),
    ("pow_half", lambda a: a**0.5, lambda a: a**0.5, "positive"),
    ("pow_neg1", lambda a: a**-1, lambda a: a**-1, "away"),
    ("rsub", lambda a: 2 - a, lambda a: 2 - a, "any"),
    ("rmul", lambda a: 3 * a, lambda a: 3 * a, "any"),
    ("rdiv", lambda a: 1 / a, lambda a: 1 / a, "away"),
    ("rpow", lambda a: 2**a, lambda a: 2**a, "any"),
    ("radd_array", lambda a: np.float64(1.5) + a, lambda a: 1.5 + a, "any"),
]

# Reductions and normalisations, on inputs of at least one dimension.
# (name, minigrad fn, torch fn) with an axis argument bound inside.
REDUCTIONS = [
    ("sum_all", lambda a: a.sum(), lambda a: a.sum()),
    ("sum_0", lambda a: a.sum(axis=0), lambda a: a.sum(dim=0)),
    ("sum_last_keep", lambda a: a.sum(dim=-1, keepdim=True), lambda a: a.sum(dim=-1, keepdim=True)),
    ("mean_all", lambda a: a.mean(), lambda a: a.mean()),
    ("mean_0", lambda a: a.mean(0), lambda a: a.mean(0)),
    ("mean_last_keep", lambda a: a.mean(-1, keepdims=True), lambda a: a.mean(-1, keepdim=True)),
    ("var_all", lambda a: a.var(), lambda a: a.var()),
    ("var_0_biased", lambda a: a.var(0, unbiased=False), lambda a: a.var(0, unbiased=False)),
    (
        "var_last_corr2",
        lambda a: a.var(dim=-1, correction=2, keepdim=True),
        lambda a: a.var(dim=-1, correction=2, keepdim=True),
    ),
    ("max_all", lambda a: a.max(), lambda a: a.max()),
    ("max_0", lambda a: a.max(axis=0), lambda a: a.max(dim=0).values),
    ("min_all", lambda a: a.min(), lambda a: a.min()),
    (
        "min_last_keep",
        lambda a: a.min(dim=-1, keepdim=True),
        lambda a: a.min(-1, keepdim=True).values,
    ),
    ("logsumexp_all", lambda a: a.logsumexp(), lambda a: a.logsumexp(dim=tuple(range(a.ndim)))),
    ("logsumexp_last", lambda a: a.logsumexp(-1), lambda a: a.logsumexp(-1)),
    ("softmax_last", lambda a: a.softmax(-1), lambda a: a.softmax(-1)),
    ("softmax_0", lambda a: a.softmax(dim=0), lambda a: a.softmax(dim=0)),
    ("log_softmax_last", lambda a: a.log_softmax(-1), lambda a: a.log_softmax(-1)),
    ("log_softmax_0", lambda a: a.log_softmax(0), lambda a: a.log_softmax(0)),
]

# Reductions over several axes, on inputs of at least two dimensions.
REDUCTIONS_2D = [
    ("sum_01", lambda a: a.sum(axis=(0, 1)), lambda a: a.sum(dim=(0, 1))),
    ("mean_last2_keep", lambda a: a.mean((-2, -1), True), lambda a: a.mean((-2, -1), True)),
    ("var_01", lambda a: a.var((0, 1)), lambda a: a.var((0, 1))),
    ("max_01", lambda a: a.max((0, 1)), lambda a: a.amax((0, 1))),
    ("min_01_keep", lambda a: a.min((0, 1), keepdims=True), lambda a: a.amin((0, 1), keepdim=True)),
    ("logsumexp_01", lambda a: a.logsumexp((0, 1)), lambda a: a.logsumexp((0, 1))),
]

# Shape ops on a (2, 3, 4) input.
SHAPE_234 = [
    ("reshape", lambda a: a.reshape(4, 6), lambda a: a.reshape(4, 6)),
    ("reshape_neg1", lambda a: a.reshape((-1, 2)), lambda a: a.reshape(-1, 2)),
    ("view", lambda a: a.view(24), lambda a: a.view(24)),
    ("flatten", lambda a: a.flatten(), lambda a: a.flatten()),
    ("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2)),
    ("transpose_default", lambda a: a.transpose(), lambda a: a.transpose(-2, -1)),
    ("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1)),
    ("T", lambda a: a.T, lambda a: a.permute(2, 1, 0)),
    ("unsqueeze", lambda a: a.unsqueeze(1), lambda a: a.unsqueeze(1)),
    ("unsqueeze_end", lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1)),
    ("squeeze", lambda a: a.unsqueeze(0).squeeze(), lambda a: a.unsqueeze(0).squeeze()),
    ("squeeze_dim", lambda a: a.unsqueeze(2).squeeze(2), lambda a: a.unsqueeze(2).squeeze(2)),
    ("index_int", lambda a: a[1], lambda a: a[1]),
    ("index_slices", lambda a: a[:, 1:, ::2], lambda a: a[:, 1:, ::2]),
    ("index_ellipsis_none", lambda a: a[..., None, 0], lambda a: a[..., None, 0]),
    ("index_negative", lambda a: a[-1, -2], lambda a: a[-1, -2]),
    ("index_int_array_repeats", lambda a: a[:, [0, 2, 0, 0]], lambda a: a[:, [0, 2, 0, 0]]),
    (
        "index_two_arrays",
        lambda a: a[np.array([0, 1, 1]), np.array([2, 2, 0])],
        lambda a: a[torch.tensor([0, 1, 1]), torch.tensor([2, 2, 0])],
    ),
    ("index_tensor_key", lambda a: a[mg.tensor([1, 0, 1])], lambda a: a[torch.tensor([1, 0, 1])]),
    ("index_bool_mask", lambda a: a[a.data > 0], lambda a: a[a > 0]),
    (
        "index_bool_rows",
        lambda a: a[np.array([True, False])],
        lambda a: a[torch.tensor([True, False])],
    ),
]

# Several inputs: (name, minigrad fn, torch fn, input shapes).
MULTI = [
    ("cat_0", lambda a, b: mg.cat([a, b]), lambda a, b: torch.cat([a, b]), [(2, 3), (4, 3)]),
    (
        "cat_1",
        lambda a, b: mg.cat([a, b], dim=1),
        lambda a, b: torch.cat([a, b], 1),
        [(2, 3), (2, 1)],
    ),
    (
        "cat_3",
        lambda a, b, c: mg.cat([a, b, c], axis=-1),
        lambda a, b, c: torch.cat([a, b, c], -1),
        [(2, 1), (2, 2), (2, 3)],
    ),
    ("stack_0", lambda a, b: mg.stack([a, b]), lambda a, b: torch.stack([a, b]), [(2, 3), (2, 3)]),
    (
        "stack_last",
        lambda a, b, c: mg.stack([a, b, c], dim=-1),
        lambda a, b, c: torch.stack([a, b, c], -1),
        [(4,), (4,), (4,)],
    ),
    ("matmul_2d", lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4, 2)]),
    ("matmul_vec_vec", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4,)]),
    ("matmul_vec_mat", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4, 3)]),
    ("matmul_mat_vec", lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4,)]),
    ("matmul_batched", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (2, 4, 5)]),
    ("matmul_batch_broadcast", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
    ("matmul_batch_mat", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    ("matmul_vec_batch", lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (2, 4, 3)]),
    ("matmul_batch_vec", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4,)]),
    (
        "where_3way",
        lambda a, b: mg.where(np.array([True, False, True]), a, b),
        lambda a, b: torch.where(torch.tensor([True, False, True]), a, b),
        [(2, 1), (3,)],
    ),
    (
        "where_number",
        lambda a: mg.where(a.data > 0, a, 0.0),
        lambda a: torch.where(a > 0, a, 0.0),
        [(3, 2)],
    ),
    ("maximum_number", lambda a: mg.maximum(a, 0.3), lambda a: torch.clamp(a, min=0.3), [(4,)]),
    (
        "composite_mlp",
        lambda x, w, b: ((x @ w + b).tanh() ** 2).mean(axis=0).sum(),
        lambda x, w, b: ((x @ w + b).tanh() ** 2).mean(dim=0).sum(),
        [(5, 3), (3, 2), (2,)],
    ),
]


def values(shape: tuple[int, ...], domain: str, rng: np.random.Generator) -> np.ndarray:
    """Random float64 values of ``shape``, valid and smooth for ``domain``."""
    x = rng.standard_normal(shape)
    if domain == "positive":
        return np.abs(x) + 0.3
    if domain == "away":
        return np.sign(x + 1e-300) * (np.abs(x) + 0.2)
    return x

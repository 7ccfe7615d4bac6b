"""BatchNorm in the scalar engine: a batch is a list of N rows of C ``Value`` s.

Each feature (column) is normalized over the batch on its own, so both versions work
column by column:

* ``batch_norm_composite``: Algorithm 1 from ``Value`` ops (sum, /, -, *, **) inside
  ``name_scope("batchnorm")``, one nested scope per step; autodiff finds the gradient.
  A column of m values costs about 5m + 6 nodes.
* ``batch_norm_fused``: one ``ScalarFunction`` node per column (``BatchNormOp``): m
  inputs plus gamma and beta in (eps a setting), m outputs out, and a backward that computes the
  whole vector-Jacobian product in O(m) with the hand-derived formula.

``BatchNorm1d`` is the layer: parameters gamma and beta per feature, running
statistics for eval mode, PyTorch's semantics (see ``minigrad.batchnorm.math``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from minigrad.autograd import STATE, AnomalyError, name_scope
from minigrad.batchnorm.math import check_eps, check_input_shape, check_momentum, momentum_factor
from minigrad.formula import Formula
from minigrad.journal import journaling, on_failure
from minigrad.scalar.function import ScalarFunction
from minigrad.scalar.value import Value, value_sum

__all__ = ["BatchNorm1d", "BatchNormOp", "batch_norm_composite", "batch_norm_fused"]

Scalar = Value | float


def _labelled(v: Value, label: str) -> Value:
    v.label = label
    return v


# ---------------------------------------------------------------- composite


def batch_norm_composite(
    column: Sequence[Value], gamma: Scalar, beta: Scalar, eps: float = 1e-5, feature: int = 0
) -> list[Value]:
    """Algorithm 1 on one feature's m values, from primitive ops; autodiff does the backward."""
    m = len(column)
    j = feature
    with name_scope("batchnorm"):
        with name_scope("mean"):
            # the constants get names, so a picture shows "N" and "eps", not bare numbers
            n_const = Value(float(m), label="N")
            mean = _labelled(value_sum(column) / n_const, f"mean[{j}]")
        with name_scope("variance"):
            centered = [_labelled(x - mean, f"x-mean[{i},{j}]") for i, x in enumerate(column)]
            var = _labelled(value_sum(c * c for c in centered) / n_const, f"var[{j}]")
        with name_scope("normalize"):
            eps_const = Value(float(eps), label="eps")
            inv_std = _labelled((var + eps_const) ** -0.5, f"1/sigma[{j}]")
            xhat = [_labelled(c * inv_std, f"xhat[{i},{j}]") for i, c in enumerate(centered)]
        with name_scope("scale_shift"):
            return [_labelled(gamma * xh + beta, f"y[{i},{j}]") for i, xh in enumerate(xhat)]


# ---------------------------------------------------------------- fused


class BatchNormOp(ScalarFunction):
    """Algorithm 1 on one feature as a single op: inputs x_1..x_m, gamma, beta; setting eps.

    The forward computes exactly what ``batch_norm_composite`` computes, in the same
    order (so the two agree to the last bit). The backward is the hand derivation in
    ``minigrad.batchnorm.math.fused_backward``, one float at a time:

        dbeta  = sum_i dy_i
        dgamma = sum_i dy_i xhat_i
        dx_i   = gamma / (m sigma) * (m dy_i - dbeta - xhat_i dgamma)

    eps is a setting, not an input: like PyTorch, nothing differentiates it.
    """

    name: ClassVar[str] = "batchnorm"
    fused: ClassVar[bool] = True

    @staticmethod
    def forward(ctx: Any, *inputs: float, eps: float) -> list[float]:
        *xs, gamma, beta = inputs
        m = len(xs)
        mean = math.fsum(xs) / m
        centered = [x - mean for x in xs]
        var = math.fsum(c * c for c in centered) / m
        inv_std = (var + eps) ** -0.5
        xhat = [c * inv_std for c in centered]
        ctx.xhat, ctx.inv_std, ctx.gamma = xhat, inv_std, gamma
        return [gamma * xh + beta for xh in xhat]

    @staticmethod
    def backward(ctx: Any, grads: np.ndarray) -> list[float]:
        xhat, inv_std, gamma = ctx.xhat, ctx.inv_std, ctx.gamma
        dy = grads.tolist()
        m = len(dy)
        dbeta = math.fsum(dy)
        dgamma = math.fsum(g * xh for g, xh in zip(dy, xhat, strict=True))
        k = gamma * inv_std / m
        dx = [k * (m * g - dbeta - xh * dgamma) for g, xh in zip(dy, xhat, strict=True)]
        return [*dx, dgamma, dbeta]

    @staticmethod
    def formula(ctx: Any, grads: np.ndarray) -> Formula:
        """The backward as the player shows it, with this batch's numbers."""
        m = len(ctx.xhat)
        dy = [float(g) for g in grads]
        lines = [f"x{i}.grad += {DX_FORMULA.format(i=i)}" for i in range(m)]
        lines += ["γ.grad += Σ(dy·x̂)", "β.grad += Σdy"]
        values: dict[str, Any] = {
            "m": m,
            "γ": ctx.gamma,
            "σ": 1.0 / ctx.inv_std,
            "Σdy": math.fsum(dy),
            "Σ(dy·x̂)": math.fsum(g * xh for g, xh in zip(dy, ctx.xhat, strict=True)),
        }
        values.update({f"dy{i}": g for i, g in enumerate(dy)})
        values.update({f"x̂{i}": xh for i, xh in enumerate(ctx.xhat)})
        return Formula(tuple(lines), values)


# The hand-derived dx of ``minigrad.batchnorm.math.fused_backward``, as the player reads it.
DX_FORMULA = "γ/(m·σ) · (m·dy{i} - Σdy - x̂{i}·Σ(dy·x̂))"


def batch_norm_fused(
    column: Sequence[Value], gamma: Scalar, beta: Scalar, eps: float = 1e-5, feature: int = 0
) -> list[Value]:
    """Algorithm 1 on one feature's m values as one ``BatchNormOp`` node."""
    outs = BatchNormOp.apply(*column, gamma, beta, eps=eps)
    for i, y in enumerate(outs):
        y.label = f"y[{i},{feature}]"
    return outs


# ---------------------------------------------------------------- eval mode (Algorithm 2)


def batch_norm_eval(
    column: Sequence[Value],
    mean: float,
    var: float,
    gamma: Scalar,
    beta: Scalar,
    eps: float,
    j: int,
) -> list[Value]:
    """With fixed statistics BatchNorm is the affine map gamma * (x - mean) / sigma + beta.

    Both versions use this: there is no batch coupling left to fuse.
    """
    inv_std = (var + eps) ** -0.5
    with name_scope("batchnorm_eval"):
        return [
            _labelled(gamma * ((x - mean) * inv_std) + beta, f"y[{i},{j}]")
            for i, x in enumerate(column)
        ]


# ---------------------------------------------------------------- the layer

IMPLEMENTATIONS = {"composite": batch_norm_composite, "fused": batch_norm_fused}


def _check_impl(op: str, impl: str) -> str:
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"{op}: impl must be 'fused' or 'composite', got {impl!r}")
    return impl


def _as_value(x: object, where: str) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"BatchNorm1d: {where} is {type(x).__name__} {x!r}, not a Value or number")
    return Value(float(x))


class BatchNorm1d:
    """BatchNorm over a batch of N rows of C scalars, with ``torch.nn.BatchNorm1d``'s semantics.

    ``bn(batch)`` takes a list of N rows, each a list of C ``Value`` s (or numbers) and
    returns N rows of C ``Value`` s. In training mode each feature is normalized with
    the batch's mean and biased variance and the running statistics are updated; in
    eval mode the running statistics are used (unless ``track_running_stats=False``,
    which keeps no running statistics and always uses the batch's).
    ``impl="fused"`` (one op per feature) or ``"composite"`` (primitive ops).
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        impl: str = "fused",
    ) -> None:
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(
                f"BatchNorm1d: num_features must be a positive int, got {num_features!r}"
            )
        self.num_features = num_features
        self.eps = check_eps("BatchNorm1d", eps)
        self.momentum = check_momentum("BatchNorm1d", momentum)
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.impl = _check_impl("BatchNorm1d", impl)
        self.training = True
        self.weight: list[Value] | None = None
        self.bias: list[Value] | None = None
        if affine:
            self.weight = [Value(1.0, label=f"gamma[{j}]") for j in range(num_features)]
            self.bias = [Value(0.0, label=f"beta[{j}]") for j in range(num_features)]
        self.running_mean: list[float] | None = None
        self.running_var: list[float] | None = None
        self.num_batches_tracked: int | None = None
        if track_running_stats:
            self.reset_running_stats()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen (PyTorch's starting point)."""
        if self.track_running_stats:
            self.running_mean = [0.0] * self.num_features
            self.running_var = [1.0] * self.num_features
            self.num_batches_tracked = 0

    def parameters(self) -> list[Value]:
        """gamma then beta for every feature (empty without ``affine``)."""
        return [*self.weight, *self.bias] if self.weight is not None and self.bias else []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> BatchNorm1d:
        self.training = bool(mode)
        return self

    def eval(self) -> BatchNorm1d:
        return self.train(False)

    def __repr__(self) -> str:
        return (
            f"BatchNorm1d({self.num_features}, eps={self.eps:g}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}, "
            f"impl={self.impl!r})"
        )

    def __call__(self, batch: Sequence[Sequence[Value | float]]) -> list[list[Value]]:
        """Normalize a batch; in training, then update the running statistics.

        Validate, then commit: the batch and the settings as they are now (a changed
        ``eps`` or ``momentum``) are checked first; the outputs are built (under
        ``detect_anomaly()`` an op that makes NaN raises here); the new running
        statistics are computed and checked; only then are they written.
        """
        rows = self._check_batch(batch)
        self._check_settings()
        n, c = len(rows), self.num_features
        use_batch_stats = self.training or not self.track_running_stats
        check_input_shape("BatchNorm1d", (n, c), c, use_batch_stats)
        columns = [[row[j] for row in rows] for j in range(c)]
        gammas: Sequence[Scalar] = self.weight if self.weight is not None else [1.0] * c
        betas: Sequence[Scalar] = self.bias if self.bias is not None else [0.0] * c

        if use_batch_stats:
            normalize = IMPLEMENTATIONS[self.impl]
            out_columns = [
                normalize(col, gammas[j], betas[j], self.eps, j) for j, col in enumerate(columns)
            ]
            if self.training and self.track_running_stats:
                self._commit(*self._new_running_stats(columns))
        else:
            assert self.running_mean is not None and self.running_var is not None
            rm, rv = self.running_mean, self.running_var
            out_columns = [
                batch_norm_eval(col, rm[j], rv[j], gammas[j], betas[j], self.eps, j)
                for j, col in enumerate(columns)
            ]
        return [[out_columns[j][i] for j in range(c)] for i in range(n)]

    def _check_batch(self, batch: Sequence[Sequence[Value | float]]) -> list[list[Value]]:
        """Every row has C entries, each a Value or a number; raise before any state changes."""
        if isinstance(batch, Value) or not isinstance(batch, Sequence):
            raise TypeError(
                f"BatchNorm1d: expected a batch as a list of rows, got {type(batch).__name__}"
            )
        rows = []
        for i, row in enumerate(batch):
            if isinstance(row, Value) or not isinstance(row, Sequence):
                raise ValueError(
                    "BatchNorm1d: expected 2D input (N rows of C values), "
                    f"row {i} is a {type(row).__name__}"
                )
            if len(row) != self.num_features:
                raise ValueError(
                    f"BatchNorm1d: expected {self.num_features} features per row, "
                    f"row {i} has {len(row)} (batch of {len(batch)} rows)"
                )
            rows.append([_as_value(x, f"row {i} entry {j}") for j, x in enumerate(row)])
        return rows

    def _check_settings(self) -> None:
        """The settings as they are now (they may have changed since construction)."""
        op = "BatchNorm1d"
        check_eps(op, self.eps)
        check_momentum(op, self.momentum)
        _check_impl(op, self.impl)
        c = self.num_features
        for name in ("weight", "bias"):
            params = getattr(self, name)
            if params is not None and len(params) != c:
                raise ValueError(f"{op}: {name} has {len(params)} entries for {c} features")
        if self.track_running_stats:
            for name in ("running_mean", "running_var"):
                stats = getattr(self, name)
                if not isinstance(stats, list) or len(stats) != c:
                    raise ValueError(
                        f"{op}: {name} must be a list of {c} floats when "
                        f"track_running_stats is True, got {stats!r:.60}"
                    )
            count = self.num_batches_tracked
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"{op}: num_batches_tracked must be an int >= 0, got {count!r}")

    def _new_running_stats(
        self, columns: list[list[Value]]
    ) -> tuple[list[float], list[float], int]:
        """The running statistics after this batch; nothing is written here."""
        assert self.running_mean is not None and self.running_var is not None
        assert self.num_batches_tracked is not None
        count = self.num_batches_tracked + 1
        factor = momentum_factor(self.momentum, count)
        new_mean, new_var = list(self.running_mean), list(self.running_var)
        for j, col in enumerate(columns):
            xs = [x.data for x in col]
            m = len(xs)
            mean = math.fsum(xs) / m
            var = math.fsum((x - mean) * (x - mean) for x in xs) / m
            new_mean[j] = (1 - factor) * new_mean[j] + factor * mean
            unbiased = var * m / (m - 1)
            new_var[j] = (1 - factor) * new_var[j] + factor * unbiased
        if STATE.anomaly:
            for name, values in (("running_mean", new_mean), ("running_var", new_var)):
                bad = [v for v in values if not math.isfinite(v)]
                if bad:
                    raise AnomalyError(
                        f"BatchNorm1d: this batch would make {name} {bad[0]} (detect_anomaly "
                        "is on); the running statistics were not updated"
                    )
        return new_mean, new_var, count

    def _commit(self, new_mean: list[float], new_var: list[float], count: int) -> None:
        """Write the checked running statistics (in place: the lists keep their identity)."""
        assert self.running_mean is not None and self.running_var is not None
        if journaling():  # part of a model's call: undone if a later layer fails
            old = (list(self.running_mean), list(self.running_var), self.num_batches_tracked)
            on_failure(lambda: self._write(*old))
        self._write(new_mean, new_var, count)

    def _write(self, mean: list[float], var: list[float], count: int | None) -> None:
        assert self.running_mean is not None and self.running_var is not None
        self.running_mean[:] = mean
        self.running_var[:] = var
        self.num_batches_tracked = count

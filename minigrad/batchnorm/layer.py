"""``BatchNorm1d``, the tensor engine's module: ``torch.nn.BatchNorm1d``'s semantics.

Parameters ``weight``/``bias``, buffers ``running_mean``, ``running_var`` and
``num_batches_tracked``, the same ``state_dict`` keys as PyTorch. The forward is
``minigrad.batchnorm.tensor``'s functional ``batch_norm`` (composite or fused), with
the settings checked as they are at call time and the batch counted only once the
forward and the running statistics have succeeded (validate, then commit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.batchnorm.math import check_eps, check_input_shape, check_momentum, momentum_factor
from minigrad.batchnorm.tensor import IMPLS, _array_or_none, _batch_norm, _check_functional
from minigrad.journal import on_failure
from minigrad.nn.module import Module, Parameter
from minigrad.tensor import Tensor

__all__ = ["BatchNorm1d"]


class BatchNorm1d(Module):
    """``torch.nn.BatchNorm1d``: normalize each of ``num_features`` channels over the batch.

    Input (N, C) or (N, C, L). Training mode uses the batch's statistics and updates
    the running ones (``momentum=None``: a cumulative average over
    ``num_batches_tracked`` batches); eval mode uses the running statistics, or the
    batch's when ``track_running_stats=False`` (then there are no buffers).
    ``impl="fused"`` runs one hand-derived op, ``"composite"`` primitive ops.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        impl: str = "fused",
        dtype: Any = None,
    ) -> None:
        super().__init__()
        op = "BatchNorm1d"
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"{op}: num_features must be a positive int, got {num_features!r}")
        if impl not in IMPLS:
            raise ValueError(f"{op}: impl must be 'fused' or 'composite', got {impl!r}")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"{op}: dtype must be float32 or float64, got {dtype}")
        self.num_features = num_features
        self.eps = check_eps(op, eps)
        self.momentum = check_momentum(op, momentum)
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.impl = impl
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:  # declared but absent, as in PyTorch
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}, "
            f"impl={self.impl!r}"
        )

    def _uncount(self) -> None:
        self.num_batches_tracked.data -= 1

    def forward(self, input: Tensor) -> Tensor:
        """Check the input and the settings as they are *now*, run, then count the batch.

        Settings changed after construction (``bn.momentum = 5.0``, ``bn.eps = 0``) are
        checked here, before anything changes, and errors name ``BatchNorm1d``.
        """
        op = "BatchNorm1d"
        if not isinstance(input, Tensor):
            raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
        eps = check_eps(op, self.eps)
        momentum = check_momentum(op, self.momentum)
        use_batch_stats = self.training or not self.track_running_stats
        check_input_shape(op, input.shape, self.num_features, use_batch_stats)
        if self.track_running_stats and any(
            not isinstance(getattr(self, name), Tensor)
            for name in ("running_mean", "running_var", "num_batches_tracked")
        ):
            raise ValueError(
                f"{op}: track_running_stats is True but the module has no running statistics "
                "(it was built with track_running_stats=False)"
            )
        reference = self.weight if self.weight is not None else self.running_mean
        if reference is not None and input.dtype != reference.dtype:
            raise TypeError(
                f"{op}: input dtype {input.dtype} does not match the module's dtype "
                f"{reference.dtype} (convert one: .double(), .float())"
            )
        updating = self.training and self.track_running_stats
        running_mean = self.running_mean if not self.training or updating else None
        running_var = self.running_var if not self.training or updating else None
        _check_functional(
            input,
            _array_or_none(running_mean),
            _array_or_none(running_var),
            self.weight,
            self.bias,
            use_batch_stats,
            eps,
            self.impl,
            op,
        )
        factor = 0.0
        if updating:
            count = self.num_batches_tracked.data
            if count.shape != () or count.dtype.kind not in "iu" or not count.flags.writeable:
                raise ValueError(
                    f"{op}: num_batches_tracked must be a writable integer scalar, got "
                    f"shape {count.shape} dtype {count.dtype}"
                )
            factor = momentum_factor(momentum, int(count) + 1)  # this batch counts
        y = _batch_norm(
            input,
            running_mean,
            running_var,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            eps,
            self.impl,
            op,
        )
        if updating:  # only now, with the forward and the running statistics done
            self.num_batches_tracked.data += 1
            on_failure(self._uncount)  # undone if a later layer of the model fails
        return y

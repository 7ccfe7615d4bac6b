"""The built-in examples ``python -m minigrad play --example NAME`` plays.

Each builds a small scalar graph and returns its loss, before any backward: micrograd's
first expression, a tiny tanh MLP, and BatchNorm over a batch of three, built from
primitive ops and as one fused op.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["EXAMPLES"]


def _example_expr() -> Any:
    """micrograd's first example, with ``a`` used twice so its gradient is a sum."""
    from minigrad.scalar.value import Value

    a, b, c, f = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    g = d * f
    g.label = "g"
    t = a.tanh()
    t.label = "t"
    loss = g + t
    loss.label = "L"
    return loss


def _example_mlp() -> Any:
    """A 2-2-1 tanh network on one example, squared error: every weight's gradient."""
    from minigrad.scalar.value import Value, value_sum

    rng = random.Random(0)
    x = [Value(1.0, "x0"), Value(-2.0, "x1")]
    hidden = []
    for j in range(2):
        w = [Value(round(rng.uniform(-1, 1), 2), f"w1[{j},{i}]") for i in range(2)]
        b = Value(round(rng.uniform(-0.5, 0.5), 2), f"b1[{j}]")
        z = value_sum([w[0] * x[0], w[1] * x[1], b])
        z.label = f"z1[{j}]"
        h = z.tanh()
        h.label = f"h[{j}]"
        hidden.append(h)
    w2 = [Value(round(rng.uniform(-1, 1), 2), f"w2[{j}]") for j in range(2)]
    b2 = Value(0.1, "b2")
    out = value_sum([w2[0] * hidden[0], w2[1] * hidden[1], b2])
    out.label = "out"
    err = out - 0.5
    err.label = "err"
    loss = err * err
    loss.label = "L"
    return loss


def _example_batchnorm(impl: str) -> Any:
    """BatchNorm over a batch of three numbers, then a weighted sum as the loss."""
    from minigrad.batchnorm.scalar import batch_norm_composite, batch_norm_fused
    from minigrad.scalar.value import Value, value_sum

    xs = [Value(v, f"x[{i}]") for i, v in enumerate((1.0, 2.5, -0.5))]
    gamma, beta = Value(1.5, "gamma"), Value(0.2, "beta")
    norm = batch_norm_composite if impl == "composite" else batch_norm_fused
    ys = norm(xs, gamma, beta)
    loss = value_sum([w * y for w, y in zip((0.3, -1.0, 2.0), ys, strict=True)])
    loss.label = "L"
    return loss


EXAMPLES: dict[str, tuple[Callable[[], Any], str]] = {
    "expr": (_example_expr, "L = (a·b + c)·f + tanh(a): a feeds two ops"),
    "mlp": (_example_mlp, "a 2-2-1 tanh MLP, squared error on one example"),
    "bn-composite": (
        lambda: _example_batchnorm("composite"),
        "BatchNorm from primitive ops over a batch of 3",
    ),
    "bn-fused": (
        lambda: _example_batchnorm("fused"),
        "BatchNorm as one fused op with a hand-derived backward",
    ),
}

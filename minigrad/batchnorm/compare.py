"""Composite against fused, side by side: ``compare_batchnorm`` and the ``bn-compare`` command.

Both versions run on the same batch, the same gamma and beta and the same upstream
gradient dL/dy; the result prints every element of dx, dgamma and dbeta from each,
with central differences as the referee, and how big and how fast each graph is.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.autograd import topological_order
from minigrad.check import GradComparison, compare_grads

__all__ = ["BatchNormComparison", "GraphSize", "compare_batchnorm", "graph_size", "main"]


@dataclass(frozen=True)
class GraphSize:
    """How big a graph is: value nodes (a Value or a Tensor each), ops, and the bytes
    of arrays its ops saved for backward (tensor engine; 0 for scalars)."""

    values: int
    ops: int
    saved_bytes: int

    def __str__(self) -> str:
        text = f"{self.values} value nodes, {self.ops} op{'s' if self.ops != 1 else ''}"
        return text + (
            f", {self.saved_bytes:,} bytes saved for backward" if self.saved_bytes else ""
        )


def _roots(out: Any) -> list[Any]:
    if hasattr(out, "_prev"):
        return [out]
    return [node for item in out for node in _roots(item)]


def graph_size(out: Any) -> GraphSize:
    """Count the graph behind ``out`` (a node or a nested list of nodes).

    A value node has ``data``; an op is any node made by an op (``_prev`` and ``_op``
    set): a scalar op makes one value node, a ``ScalarFunction`` one op node feeding
    its output values, a tensor op one tensor. Saved arrays are counted once each.
    """
    order = topological_order(_roots(out))
    values = sum(1 for n in order if hasattr(n, "data"))
    ops = sum(1 for n in order if n._prev and n._op)
    seen: set[int] = set()
    saved = 0
    for n in order:
        for a in getattr(getattr(n, "_ctx", None), "saved_arrays", None) or ():
            if isinstance(a, np.ndarray) and id(a) not in seen:
                seen.add(id(a))
                saved += a.nbytes
    return GraphSize(values, ops, saved)


@dataclass
class BatchNormComparison:
    """The outcome of ``compare_batchnorm``; ``print`` it for the table."""

    engine: str
    shape: tuple[int, ...]
    grads: GradComparison
    sizes: dict[str, GraphSize]
    max_rows: int = 24
    upstream_source: str = "random"

    # ------------------------------------------------------------ numbers

    @property
    def max_difference(self) -> float:
        """max |composite - fused| over the outputs and dx, dgamma, dbeta."""
        return self.grads.max_abs_diff

    @property
    def times(self) -> dict[str, float]:
        """Seconds for forward + backward (best of the repeats)."""
        return dict(zip(("composite", "fused"), self.grads.times, strict=True))

    def timing_summary(self) -> str:
        t1, t2 = self.grads.times
        return f"composite {t1 * 1e3:.3f} ms, fused {t2 * 1e3:.3f} ms ({t1 / t2:.1f}x)"

    def graphs(self) -> dict[str, Any]:
        """The two outputs (graph roots), for ``minigrad.viz.draw_graphs_side_by_side``."""
        composite, fused = self.grads.roots
        if self.engine == "scalar":  # a batch of rows: the renderer wants a flat list of roots
            return {"composite": _roots(composite), "fused": _roots(fused)}
        return {"composite": composite, "fused": fused}

    def render(self, path: str | Path, format: str | None = None) -> str:
        """Draw both graphs side by side into ``path`` (suffix or ``format``: svg, png, pdf).

        Needs ``minigrad.viz`` and the Graphviz ``dot`` program. Returns the file written.
        """
        try:
            from minigrad import viz
        except ImportError as err:
            raise RuntimeError(f"render: minigrad.viz is not available ({err})") from err
        path = Path(path)
        if format is None:
            format = path.suffix.lstrip(".") or "svg"
        if path.suffix.lstrip(".") == format:
            path = path.with_suffix("")
        picture = viz.draw_graphs_side_by_side(self.graphs())
        return str(picture.render(str(path), format=format, cleanup=True))

    # ------------------------------------------------------------ the table

    def __str__(self) -> str:
        g = self.grads
        names = ("dx", "dgamma", "dbeta")
        # a long table keeps its first rows of each gradient: dgamma and dbeta get up to a
        # quarter of max_rows each, dx the rest
        c = g.grads[1][0].size
        per_channel = min(c, max(2, self.max_rows // 4))
        limits = (max(4, self.max_rows - 2 * per_channel), per_channel, per_channel)
        rows = []
        numerical = g.numerical or [None] * 3
        for name, (a, b), n, limit in zip(names, g.grads, numerical, limits, strict=True):
            for count, idx in enumerate(np.ndindex(a.shape)):
                if count == limit:
                    rows.append(f"... {a.size - limit} more {name} rows ...")
                    break
                label = f"{name}[{','.join(map(str, idx))}]"
                num = f"{n[idx]:+.12f}" if n is not None else "-"
                rows.append(
                    f"{label:<12} {a[idx]:+.12f}  {b[idx]:+.12f}  {num:>15}  "
                    f"{abs(a[idx] - b[idx]):.1e}"
                )
        header = f"{'gradient':<12} {'composite':>15}  {'fused':>15}  {'numerical':>15}  |c - f|"
        lines = [
            f"BatchNorm, composite vs fused ({self.engine} engine), batch {self.shape}, float64; "
            f"upstream dL/dy {self.upstream_source}",
            header,
            "-" * len(header),
            *rows,
            "",
            "max |composite - fused|: "
            + ", ".join(
                f"{k} {v:.1e}"
                for k, v in zip(("y", *names), (g.max_output_diff, *g.max_abs_diffs), strict=True)
            ),
        ]
        if g.numerical is not None:
            for which, who in enumerate(("composite", "fused")):
                diffs = g.max_numerical_diffs(which)
                lines.append(
                    f"max |{who} - numerical|: "
                    + ", ".join(f"{k} {v:.1e}" for k, v in zip(names, diffs, strict=True))
                )
        lines.append(f"graph: composite {self.sizes['composite']}; fused {self.sizes['fused']}")
        lines.append(f"time, forward + backward: {self.timing_summary()}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"BatchNormComparison(engine={self.engine!r}, shape={self.shape}, "
            f"max_difference={self.max_difference:.2e})"
        )


def compare_batchnorm(
    x: Any,
    *,
    engine: str = "tensor",
    upstream: np.ndarray | None = None,
    seed: int = 0,
    gamma: Sequence[float] | np.ndarray | None = None,
    beta: Sequence[float] | np.ndarray | None = None,
    eps: float = 1e-5,
    numerical: bool = True,
    repeat: int = 3,
) -> BatchNormComparison:
    """Run composite and fused BatchNorm (training mode) on ``x`` and compare their gradients.

    ``x`` is an (N, C) array (or (N, C, L) for the tensor engine), taken in float64.
    ``gamma``/``beta`` default to values drawn from ``seed`` (not 1 and 0, so every term
    of the backward shows), ``upstream`` (dL/dy) too. Central differences are computed
    when ``numerical`` (the referee; costs 2 forward passes per element).
    """
    from minigrad.batchnorm.math import check_eps, check_input_shape
    from minigrad.tensor.tensor import _as_array

    op = "compare_batchnorm"
    # copies, in float64; complex, object, string and ragged input is refused here
    data = np.array(_as_array(x, np.float64, op), dtype=np.float64)
    eps = check_eps(op, eps)
    if engine not in ("tensor", "scalar"):
        raise ValueError(f"compare_batchnorm: engine must be 'tensor' or 'scalar', got {engine!r}")
    if engine == "scalar" and data.ndim != 2:
        raise ValueError(
            f"compare_batchnorm: the scalar engine takes an (N, C) batch, got shape {data.shape}"
        )
    check_input_shape("compare_batchnorm", data.shape, None, training=True)
    c = data.shape[1]
    rng = np.random.default_rng(seed)
    # (drawn only when not given, so the upstream drawn next is as before)
    if gamma is None:
        g = 1.0 + 0.5 * rng.standard_normal(c)
    else:
        g = np.array(_as_array(gamma, np.float64, op), dtype=np.float64)
    if beta is None:
        b = 0.5 * rng.standard_normal(c)
    else:
        b = np.array(_as_array(beta, np.float64, op), dtype=np.float64)
    for name, v in (("gamma", g), ("beta", b)):
        if v.shape != (c,):
            raise ValueError(f"compare_batchnorm: {name} has shape {v.shape}, expected ({c},)")
    source = "given" if upstream is not None else f"random (seed {seed})"
    if upstream is None:
        upstream = rng.standard_normal(data.shape)
    else:
        upstream = _as_array(upstream, np.float64, op)
        if upstream.shape != data.shape:
            raise ValueError(
                f"{op}: upstream has shape {upstream.shape}, expected the input's {data.shape}"
            )

    if engine == "scalar":
        from minigrad.batchnorm import scalar as impl
        from minigrad.scalar.value import Value

        inputs: list[Any] = [
            [
                [Value(float(v), label=f"x[{i},{j}]") for j, v in enumerate(row)]
                for i, row in enumerate(data)
            ],
            [Value(float(v), label=f"gamma[{j}]") for j, v in enumerate(g)],
            [Value(float(v), label=f"beta[{j}]") for j, v in enumerate(b)],
        ]

        def run(normalize: Any) -> Any:
            def f(rows: Any, gammas: Any, betas: Any) -> list[list[Any]]:
                cols = [
                    normalize([r[j] for r in rows], gammas[j], betas[j], eps, j) for j in range(c)
                ]
                return [[cols[j][i] for j in range(c)] for i in range(len(rows))]

            return f

        f_composite, f_fused = run(impl.batch_norm_composite), run(impl.batch_norm_fused)
    else:
        from minigrad.batchnorm import tensor as impl
        from minigrad.tensor import Tensor

        inputs = [
            Tensor(data, requires_grad=True, dtype=np.float64),
            Tensor(g, requires_grad=True, dtype=np.float64),
            Tensor(b, requires_grad=True, dtype=np.float64),
        ]
        inputs[0].label, inputs[1].label, inputs[2].label = "x", "gamma", "beta"

        def f_composite(xt: Any, gt: Any, bt: Any) -> Any:
            return impl.batch_norm_composite(xt, gt, bt, eps)

        def f_fused(xt: Any, gt: Any, bt: Any) -> Any:
            return impl.batch_norm_fused(xt, gt, bt, eps)

    result = compare_grads(
        f_composite, f_fused, inputs, upstream=upstream, numerical=numerical, repeat=repeat
    )
    sizes = {"composite": graph_size(result.roots[0]), "fused": graph_size(result.roots[1])}
    return BatchNormComparison(engine, tuple(data.shape), result, sizes, upstream_source=source)


def main(argv: list[str] | None = None) -> int:
    """``python -m minigrad bn-compare``: the table, and the picture with ``--out``."""
    parser = argparse.ArgumentParser(
        prog="python -m minigrad bn-compare",
        description="BatchNorm composite (autodiff) vs fused (hand-derived backward): "
        "gradients element by element against central differences, graph sizes, times.",
    )
    parser.add_argument("--engine", choices=("scalar", "tensor"), default="scalar")
    parser.add_argument("--batch", type=int, default=4, help="N, the batch size (>= 2)")
    parser.add_argument("--features", type=int, default=2, help="C, the number of features")
    parser.add_argument(
        "--length", type=int, default=0, help="L for (N, C, L) input (tensor engine)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=24, help="most table rows to print")
    parser.add_argument("--out", type=Path, help="write both graphs side by side (.svg/.png/.pdf)")
    args = parser.parse_args(argv)
    shape = (args.batch, args.features) + ((args.length,) if args.length else ())
    if args.batch < 2 or args.features < 1 or args.length < 0:
        parser.error(f"need --batch >= 2 and --features >= 1, got shape {shape}")
    if args.engine == "scalar" and args.length:
        parser.error("--length (an (N, C, L) input) is for --engine tensor")
    x = 1.0 + 2.0 * np.random.default_rng(args.seed).standard_normal(shape)
    result = compare_batchnorm(x, engine=args.engine, seed=args.seed)
    result.max_rows = args.rows
    print(result)
    if args.out is not None:
        try:
            print(f"\nboth graphs, side by side: {result.render(args.out)}")
        except Exception as err:  # the numbers above stand without the picture
            print(f"\n(graphs not drawn: {err})")
            return 1
    return 0

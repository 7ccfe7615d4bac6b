"""Composite against fused, side by side: ``compare_batchnorm`` (the ``bn-compare``
command is in ``command.py``).

Both versions run on the same batch, the same gamma and beta and the same upstream
gradient dL/dy; the result prints every element of dx, dgamma and dbeta from each,
with central differences as the referee, and how big and how fast each graph is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.autograd import topological_order
from minigrad.check import GradComparison, compare_grads

__all__ = [
    "BatchNormComparison",
    "GraphSize",
    "compare_batchnorm",
    "example_batch",
    "graph_size",
]


def example_batch(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """The batch every BatchNorm comparison starts from: N(0, 1) draws, float64.

    ``np.random.default_rng(seed).normal(size=shape)``: the ``bn-compare`` command, the
    demo and the README's ``compare_batchnorm`` call all use this rule, so they print
    the same table for the same shape and seed.
    """
    return np.random.default_rng(seed).normal(size=shape)


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


def _named(node: Any, label: str) -> Any:
    node.label = label
    return node


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
    inputs: Any = field(default=None, repr=False)  # (x, gamma, beta) as the graphs hold them
    eps: float = 1e-5
    order: int = 1
    torch_grads: list[np.ndarray] | None = None  # PyTorch's, where it is installed (order 2)

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

    def graphs(self, features: Sequence[int] | None = None) -> dict[str, Any]:
        """The two outputs (graph roots), for ``minigrad.viz.draw_graphs_side_by_side``.

        ``features`` (scalar engine): only these features' outputs. BatchNorm treats each
        feature on its own, so one feature's graph is the whole graph's repeating unit.
        """
        composite, fused = self.grads.roots
        if self.engine == "scalar":  # a batch of rows: the renderer wants a flat list of roots
            keep = range(self.shape[1]) if features is None else features
            for j in keep:
                if not 0 <= j < self.shape[1]:
                    raise ValueError(f"graphs: no feature {j} in a batch of shape {self.shape}")
            return {
                name: [row[j] for row in rows for j in keep]
                for name, rows in (("composite", composite), ("fused", fused))
            }
        if features is not None:
            raise ValueError("graphs: features= needs the scalar engine (a tensor is one node)")
        return {"composite": composite, "fused": fused}

    def caption(self, features: Sequence[int] | None = None) -> str:
        """The lines under the picture: where backward starts, what the leaves are."""
        n = self.shape[0] * (self.shape[2] if len(self.shape) == 3 else 1)
        shown = ""
        if features is not None and len(features) < self.shape[1]:
            which = ", ".join(map(str, features))
            shown = (
                f"Feature{'s' if len(features) > 1 else ''} {which} of {self.shape[1]}: "
                "BatchNorm treats each feature on its own, so the others' graphs are the "
                "same.\\l"
            )
        return shown + (
            f"Backward starts at the outputs y (green, the roots) from dL/dy: "
            f"{self.upstream_source} numbers standing in for a loss's gradient, the same "
            f"for both graphs.\\lx (blue) is the input; gamma and beta (bold) are the "
            f"parameters; N = {n} is the batch size and eps = {self.eps:g} keeps the "
            "division finite.\\l"
        )

    def picture(
        self,
        rankdir: str = "LR",
        features: Sequence[int] | None = None,
        *,
        legend: bool = True,
        precision: int = 4,
    ) -> Any:
        """Both graphs in one ``GraphPicture`` with ``caption()``: above each other with
        ``"LR"`` (each flows left to right), left and right with ``"TB"`` (each flows top
        to bottom). ``features`` as in ``graphs``; ``legend`` and ``precision`` as in
        ``draw_graph``. x is drawn as an input, gamma and beta as parameters, in both
        engines."""
        try:
            from minigrad import viz
        except ImportError as err:
            raise RuntimeError(f"render: minigrad.viz is not available ({err})") from err
        x, gamma, beta = self.inputs if self.inputs is not None else ([], [], [])
        if self.engine == "scalar":  # lists of Values: x a list of rows
            x = [v for row in x for v in row]
            params = [*gamma, *beta]
        else:
            x, params = [x], [gamma, beta]
        return viz.draw_graphs_side_by_side(
            self.graphs(features),
            rankdir=rankdir,
            params=params,
            inputs=x,
            caption=self.caption(features),
            legend=legend,
            precision=precision,
        )

    def render(
        self,
        path: str | Path,
        format: str | None = None,
        *,
        rankdir: str = "LR",
        features: Sequence[int] | None = None,
        max_size: tuple[float, float] | None = None,
        legend: bool = True,
        precision: int = 4,
    ) -> str:
        """Draw both graphs side by side into ``path`` (suffix or ``format``: svg, png, pdf).

        ``rankdir``, ``features``, ``legend`` and ``precision`` as in ``picture``.
        ``max_size`` = (width, height) in pixels at 96 dpi shrinks a bigger drawing to fit
        (for a PNG a screen shows whole); by default the drawing keeps its natural size.
        Needs ``minigrad.viz`` and the Graphviz ``dot`` program. Returns the file written.
        """
        path = Path(path)
        if format is None:
            format = path.suffix.lstrip(".") or "svg"
        if path.suffix.lstrip(".") == format:
            path = path.with_suffix("")
        picture = self.picture(rankdir, features, legend=legend, precision=precision)
        if max_size is not None:
            width, height = max_size
            picture.attr(size=f"{width / 96:.2f},{height / 96:.2f}", dpi="96")
        return str(picture.render(str(path), format=format, cleanup=True))

    # ------------------------------------------------------------ the table

    def __str__(self) -> str:
        g = self.grads
        names = ("dx", "dgamma", "dbeta") if self.order == 1 else ("d2x", "d2gamma", "d2beta")
        # a long table keeps its first rows of each gradient: dgamma and dbeta get up to a
        # quarter of max_rows each, dx the rest
        c = g.grads[1][0].size
        per_channel = min(c, max(2, self.max_rows // 4))
        limits = (max(4, self.max_rows - 2 * per_channel), per_channel, per_channel)
        rows = []
        numerical = g.numerical or [None] * 3
        torch_grads = self.torch_grads or [None] * 3
        for name, (a, b), n, t, limit in zip(
            names, g.grads, numerical, torch_grads, limits, strict=True
        ):
            for count, idx in enumerate(np.ndindex(a.shape)):
                if count == limit:
                    rows.append(f"... {a.size - limit} more {name} rows ...")
                    break
                label = f"{name}[{','.join(map(str, idx))}]"
                num = f"{n[idx]:+.12f}" if n is not None else "-"
                ref = f"  {t[idx]:+.12f}" if t is not None else ""
                rows.append(
                    f"{label:<12} {a[idx]:+.12f}  {b[idx]:+.12f}  {num:>15}{ref}  "
                    f"{abs(a[idx] - b[idx]):.1e}"
                )
        header = f"{'gradient':<12} {'composite':>15}  {'fused':>15}  {'numerical':>15}"
        header += f"  {'pytorch':>15}" if self.torch_grads is not None else ""
        header += "  |c - f|"
        if self.order == 1:
            title = (
                f"BatchNorm, composite vs fused ({self.engine} engine), batch {self.shape}, "
                f"float64; upstream dL/dy {self.upstream_source}"
            )
        else:
            title = (
                f"BatchNorm double backward, composite (autodiff of autodiff) vs fused (derived "
                f"by hand), batch {self.shape}, float64: the gradient of <u, dL/d(x, gamma, "
                f"beta)>, with dL/dy and u {self.upstream_source}; numerical = central "
                "differences of the first-order gradient"
            )
        lines = [
            title,
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
        if self.torch_grads is not None:
            diffs = [
                float(np.abs(b - t).max()) if t.size else 0.0
                for (_, b), t in zip(g.grads, self.torch_grads, strict=True)
            ]
            lines.append(
                "max |fused - pytorch|: "
                + ", ".join(f"{k} {v:.1e}" for k, v in zip(names, diffs, strict=True))
            )
        if g.numerical is not None:
            for which, who in enumerate(("composite", "fused")):
                diffs = g.max_numerical_diffs(which)
                lines.append(
                    f"max |{who} - numerical|: "
                    + ", ".join(f"{k} {v:.1e}" for k, v in zip(names, diffs, strict=True))
                )
        lines.append(f"graph: composite {self.sizes['composite']}; fused {self.sizes['fused']}")
        what = "forward + backward" if self.order == 1 else "forward + backward + double backward"
        lines.append(f"time, {what}: {self.timing_summary()}")
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
    order: int = 1,
) -> BatchNormComparison:
    """Run composite and fused BatchNorm (training mode) on ``x`` and compare their gradients.

    ``x`` is an (N, C) array (or (N, C, L) for the tensor engine), taken in float64.
    ``gamma``/``beta`` default to values drawn from ``seed`` (not 1 and 0, so every term
    of the backward shows), ``upstream`` (dL/dy) too. Central differences are computed
    when ``numerical`` (the referee; costs 2 forward passes per element).

    ``order=2`` (tensor engine) compares the *double* backward: the gradient of
    h = <u, dL/d(x, gamma, beta)> (first-order gradients built with ``create_graph``, u
    random from ``seed``), by autodiff through the composite's backward and by the fused
    op's hand-derived double backward; central differences of the first-order gradient
    referee, and PyTorch's double backward of ``F.batch_norm`` joins when installed.
    """
    from minigrad.batchnorm.math import check_eps, check_input_shape
    from minigrad.tensor.tensor import _as_array

    op = "compare_batchnorm"
    # copies, in float64; complex, object, string and ragged input is refused here
    data = np.array(_as_array(x, np.float64, op), dtype=np.float64)
    eps = check_eps(op, eps)
    if order not in (1, 2):
        raise ValueError(f"compare_batchnorm: order must be 1 or 2, got {order!r}")
    if order == 2 and engine != "tensor":
        raise ValueError(
            "compare_batchnorm: order=2 needs engine='tensor' (the scalar fused op's backward "
            "is written with numbers: it cannot be differentiated again)"
        )
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
            return _named(impl.batch_norm_composite(xt, gt, bt, eps), "y")

        def f_fused(xt: Any, gt: Any, bt: Any) -> Any:
            return _named(impl.batch_norm_fused(xt, gt, bt, eps), "y")

    torch_grads = None
    if order == 2:  # the comparison of gradients, one order up (see second_order.py)
        from minigrad.batchnorm.second_order import along_gradient, torch_double_backward

        directions = [rng.standard_normal(np.shape(v)) for v in (data, g, b)]
        f_composite = along_gradient(f_composite, upstream, directions)
        f_fused = along_gradient(f_fused, upstream, directions)
        torch_grads = torch_double_backward(data, g, b, eps, upstream, directions)
        upstream = np.array(1.0)
    result = compare_grads(
        f_composite, f_fused, inputs, upstream=upstream, numerical=numerical, repeat=repeat
    )
    sizes = {"composite": graph_size(result.roots[0]), "fused": graph_size(result.roots[1])}
    return BatchNormComparison(
        engine,
        tuple(data.shape),
        result,
        sizes,
        upstream_source=source,
        inputs=inputs,
        eps=eps,
        order=order,
        torch_grads=torch_grads,
    )

"""Second order: a Hessian-vector product against one gradient, minigrad vs PyTorch CPU.

Run: ``.venv/bin/python benchmarks/hessian.py`` (``--quick`` for a smoke run).
Importable: ``main(argv)`` returns the rows of both tables as dicts.

1. The MLPs of ``benchmarks/tensor.py`` (small: 2 -> 64 -> 64 -> 2, batch 64, where
   the time is per-op overhead; large: 784 -> 512 -> 512 -> 10, batch 1024, where it
   is in the matrix products), ReLU, float32, the same data and weights in both
   libraries, loss ``log_softmax`` + ``nll_loss``:

   * one gradient: forward, loss, ``grad(loss, params)``;
   * one Hessian-vector product: forward, loss, ``grad(loss, params, create_graph=True)``,
     ``g . v``, and ``grad(g . v, params)`` (Pearlmutter's trick: theory says 2-4x a
     gradient, since the second pass runs backward through forward and backward);

   and their ratio in each library (the project's target: minigrad's ratio <= 4 on the
   small network), with the number of tensors in minigrad's graphs.

2. BatchNorm's double backward on (256, 512) float64: forward, ``grad`` of
   ``sum(y * w)`` with ``create_graph=True`` in x, gamma and beta, then ``grad`` of
   ``sum(g . v)``: minigrad's composite BN (primitive ops, autodiff all the way),
   minigrad's fused BN (when its backward is differentiable) and
   ``torch.nn.functional.batch_norm``; with the size of minigrad's second-order graph.

Timing as in ``benchmarks/tensor.py``: the contenders run in turn, in every order,
after a short pause, and each figure is the median of the samples. NumPy's BLAS and
PyTorch run on one thread here (small matrices; and so both libraries get the same
core). Before timing, both libraries' results are checked to agree.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.autograd import grad
from minigrad.batchnorm.compare import graph_size
from minigrad.batchnorm.tensor import batch_norm_composite, batch_norm_fused
from minigrad.nn import functional as F

try:
    import torch
except ImportError:  # the tables then say n/a for PyTorch
    torch = None

HERE = Path(__file__).resolve().parent
# benchmarks/tensor.py's networks: name -> (layer sizes, batch, calls per timed sample)
CONFIGS = {"small": ((2, 64, 64, 2), 64, 20), "large": ((784, 512, 512, 10), 1024, 1)}
BN_SHAPE = (256, 512)
TARGET = 4.0  # minigrad's Hessian-vector product / gradient


def _load_tensor_benchmark() -> Any:
    """``benchmarks/tensor.py``, for its data and its timing loop (not a package)."""
    spec = importlib.util.spec_from_file_location("benchmarks_tensor", HERE / "tensor.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_tensor_benchmark()


# ---------------------------------------------------------------- 1. the small MLP


def mlp_contenders(
    sizes: tuple[int, ...], batch: int
) -> tuple[dict[str, Callable[[], Any]], dict[str, Callable[[], Any]], list[int]]:
    """(gradient, Hessian-vector product) for each library, on the same weights and v;
    and the number of tensors in minigrad's graphs: forward, gradient, ``g . v``."""
    x, y = bench.make_data(sizes, batch)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out, rng=i))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    params = list(model.parameters())
    rng = np.random.default_rng(1)
    v = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
    xt, vt = mg.Tensor(x), [mg.Tensor(a) for a in v]

    def mg_loss() -> mg.Tensor:
        return F.nll_loss(F.log_softmax(model(xt), dim=1), y)

    def mg_grad() -> tuple[mg.Tensor, ...]:
        return grad(mg_loss(), params)

    def mg_hvp() -> tuple[mg.Tensor, ...]:
        g = grad(mg_loss(), params, create_graph=True)
        g_dot_v = sum((gi * vi).sum() for gi, vi in zip(g, vt, strict=True))
        return grad(g_dot_v, params)

    loss = mg_loss()
    g = grad(loss, params, create_graph=True)
    g_dot_v = sum((gi * vi).sum() for gi, vi in zip(g, vt, strict=True))
    sizes_of = [graph_size(loss).values, graph_size(list(g)).values, graph_size(g_dot_v).values]
    grads: dict[str, Callable[[], Any]] = {"minigrad": mg_grad}
    hvps: dict[str, Callable[[], Any]] = {"minigrad": mg_hvp}
    if torch is not None:
        state = model.state_dict()
        torch_layers: list[Any] = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            torch_layers.append(torch.nn.Linear(fan_in, fan_out))
            if i < len(sizes) - 2:
                torch_layers.append(torch.nn.ReLU())
        torch_model = torch.nn.Sequential(*torch_layers)
        torch_model.load_state_dict({k: torch.from_numpy(a) for k, a in state.items()})
        tparams = list(torch_model.parameters())
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        tv = [torch.from_numpy(a) for a in v]

        def t_loss() -> Any:
            logp = torch.nn.functional.log_softmax(torch_model(tx), dim=1)
            return torch.nn.functional.nll_loss(logp, ty)

        def t_grad() -> Any:
            return torch.autograd.grad(t_loss(), tparams)

        def t_hvp() -> Any:
            g = torch.autograd.grad(t_loss(), tparams, create_graph=True)
            g_dot_v = sum((gi * vi).sum() for gi, vi in zip(g, tv, strict=True))
            return torch.autograd.grad(g_dot_v, tparams)

        grads["torch"], hvps["torch"] = t_grad, t_hvp
    return grads, hvps, sizes_of


def check_agree(runs: dict[str, Callable[[], Any]], what: str, rtol: float) -> float:
    """Both libraries' results, element by element: the largest difference relative to
    the largest entry. Raises if they do not agree (then a timing would mean nothing)."""
    if "torch" not in runs:
        return float("nan")
    ours = np.concatenate([np.asarray(t.data).ravel() for t in runs["minigrad"]()])
    theirs = np.concatenate([t.detach().numpy().ravel() for t in runs["torch"]()])
    worst = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    if not worst <= rtol:
        raise AssertionError(f"{what}: minigrad and PyTorch differ by {worst:.1e} (> {rtol:g})")
    return worst


def mlp_rows(name: str, rounds: int) -> list[dict[str, Any]]:
    sizes, batch, per_sample = CONFIGS[name]
    grads, hvps, graph = mlp_contenders(sizes, batch)
    check_agree(grads, "gradient", 1e-5)
    agree = check_agree(hvps, "Hessian-vector product", 1e-4)
    contenders = {
        f"{lib} {kind}": run
        for kind, d in (("grad", grads), ("hvp", hvps))
        for lib, run in d.items()
    }
    medians = bench.interleaved_medians(contenders, rounds, per_sample)
    rows = []
    for lib in grads:
        g, h = medians[f"{lib} grad"], medians[f"{lib} hvp"]
        rows.append(
            {
                "network": f"{name} ({'-'.join(map(str, sizes))}, batch {batch})",
                "library": lib,
                "grad_ms": g * 1e3,
                "hvp_ms": h * 1e3,
                "ratio": h / g,
                "target": TARGET if lib == "minigrad" and name == "small" else None,
                "agrees_with_torch": agree,
                "graph": graph if lib == "minigrad" else None,
            }
        )
    return rows


# ---------------------------------------------------------------- 2. BatchNorm


def bn_contenders() -> tuple[dict[str, Callable[[], Any]], dict[str, str]]:
    """Forward + first backward (as a graph) + second backward, for each implementation;
    and, for an implementation that refuses, its error."""
    rng = np.random.default_rng(0)
    c = BN_SHAPE[1]
    arrays = {
        "x": 1.0 + 2.0 * rng.standard_normal(BN_SHAPE),
        "gamma": 1.0 + 0.1 * rng.standard_normal(c),
        "beta": 0.1 * rng.standard_normal(c),
    }
    w = rng.standard_normal(BN_SHAPE)  # sum(y) alone has a zero gradient in x
    v = {k: rng.standard_normal(a.shape) for k, a in arrays.items()}
    inputs = [mg.Tensor(a, requires_grad=True) for a in arrays.values()]
    wt, vt = mg.Tensor(w), [mg.Tensor(a) for a in v.values()]

    def minigrad_run(fn: Callable[..., mg.Tensor]) -> Callable[[], Any]:
        def run() -> Any:
            g = grad((fn(*inputs) * wt).sum(), inputs, create_graph=True)
            g_dot_v = sum((gi * vi).sum() for gi, vi in zip(g, vt, strict=True))
            # beta's gradient, sum(w), does not depend on anything: no second derivative
            return grad(g_dot_v, inputs, allow_unused=True)

        return run

    runs: dict[str, Callable[[], Any]] = {}
    refused: dict[str, str] = {}
    for name, fn in (("composite", batch_norm_composite), ("fused", batch_norm_fused)):
        run = minigrad_run(fn)
        try:
            run()
            runs[name] = run
        except Exception as err:  # the fused op's backward may not be differentiable yet
            refused[name] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
    if torch is not None:
        tin = [torch.tensor(a, requires_grad=True) for a in arrays.values()]
        tw, tv = torch.from_numpy(w), [torch.from_numpy(a) for a in v.values()]

        def torch_run() -> Any:
            y = torch.nn.functional.batch_norm(tin[0], None, None, tin[1], tin[2], training=True)
            g = torch.autograd.grad((y * tw).sum(), tin, create_graph=True)
            g_dot_v = sum((gi * vi).sum() for gi, vi in zip(g, tv, strict=True))
            return torch.autograd.grad(g_dot_v, tin, allow_unused=True)

        runs["torch"] = torch_run
    return runs, refused


def second_order_graph(fn: Callable[..., mg.Tensor]) -> tuple[int, int, int]:
    """Tensors in BN's forward graph, in the graph of its gradient, and in the graph of
    ``g . v`` (what the second backward walks)."""
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.standard_normal(BN_SHAPE), requires_grad=True)
    gamma = mg.Tensor(np.ones(BN_SHAPE[1]), requires_grad=True)
    beta = mg.Tensor(np.zeros(BN_SHAPE[1]), requires_grad=True)
    loss = (fn(x, gamma, beta) * mg.Tensor(rng.standard_normal(BN_SHAPE))).sum()
    forward = graph_size(loss).values
    g = grad(loss, [x, gamma, beta], create_graph=True)
    first = graph_size(list(g)).values
    g_dot_v = sum((gi * mg.Tensor(np.ones(gi.shape))).sum() for gi in g)
    return forward, first, graph_size(g_dot_v).values


def _flat(grads: Any, numpy: Callable[[Any], np.ndarray]) -> np.ndarray:
    """The gradients in one vector; an unused input's None is its zero gradient (beta's)."""
    n, c = BN_SHAPE
    shapes = [(n, c), (c,), (c,)]
    return np.concatenate(
        [
            np.zeros(s).ravel() if g is None else numpy(g).ravel()
            for g, s in zip(grads, shapes, strict=True)
        ]
    )


def bn_rows(rounds: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    runs, refused = bn_contenders()
    agree = {}
    if "torch" in runs:
        theirs = _flat(runs["torch"](), lambda t: t.detach().numpy())
        for name in runs.keys() - {"torch"}:
            ours = _flat(runs[name](), lambda t: np.asarray(t.data))
            agree[name] = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
            if not agree[name] <= 1e-8:
                raise AssertionError(
                    f"BN double backward: {name} and PyTorch differ by {agree[name]:.1e}"
                )
    medians = bench.interleaved_medians(runs, rounds, 1)
    rows = []
    for name, seconds in medians.items():
        row: dict[str, Any] = {
            "impl": name,
            "ms": seconds * 1e3,
            "agrees_with_torch": agree.get(name),
        }
        if name != "torch":
            fn = batch_norm_composite if name == "composite" else batch_norm_fused
            row["nodes"] = second_order_graph(fn)
        rows.append(row)
    if "torch" in medians:
        for row in rows:
            row["vs_torch"] = row["ms"] / (medians["torch"] * 1e3)
    return rows, refused


# ---------------------------------------------------------------- tables


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="timed samples per contender")
    args = parser.parse_args([] if argv is None else argv)  # an importer's argv is not ours
    rounds = args.rounds or (3 if args.quick else 25)
    return bench._with_threads(1, lambda: _run(rounds))


def _run(rounds: int) -> dict[str, Any]:
    print(f"Hessian-vector products, {bench.environment()}")
    print(f"median of {rounds} interleaved samples per contender\n")
    mlp = [row for name in CONFIGS for row in mlp_rows(name, rounds)]
    print("MLPs (ReLU), float32, loss log_softmax + nll_loss; tensors in minigrad's graphs:")
    print("forward / + its gradient / + g . v")
    header = (
        f"{'network':<34} {'library':<9} {'gradient':>10} {'H v':>10} {'H v / grad':>11}"
        f"  {'tensors':>14}  target"
    )
    print(header + "\n" + "-" * len(header))
    for r in mlp:
        target = ""
        if r["target"] is not None:
            verdict = "ok" if r["ratio"] <= r["target"] else "MISSED"
            target = f"<= {r['target']:.0f}x {verdict}"
        graph = " / ".join(map(str, r["graph"])) if r["graph"] else ""
        print(
            f"{r['network']:<34} {r['library']:<9} {r['grad_ms']:>8.3f}ms {r['hvp_ms']:>8.3f}ms "
            f"{r['ratio']:>10.2f}x  {graph:>14}  {target}"
        )
    if torch is not None:
        worst = max(r["agrees_with_torch"] for r in mlp)
        print(f"(H v agrees with PyTorch's to {worst:.1e} relative, or better)")

    bn, refused = bn_rows(rounds)
    print(
        f"\nBatchNorm double backward, {BN_SHAPE} float64, training mode: forward, "
        "gradient as a graph, gradient of g . v"
    )
    header = (
        f"{'impl':<10} {'time':>10} {'vs torch':>9}  {'tensors: forward / + gradient / + g.v':>38}"
    )
    print(header + "\n" + "-" * len(header))
    for r in bn:
        ratio = f"{r['vs_torch']:.2f}x" if "vs_torch" in r else "n/a"
        nodes = " / ".join(map(str, r["nodes"])) if "nodes" in r else ""
        print(f"{r['impl']:<10} {r['ms']:>8.2f}ms {ratio:>9}  {nodes:>38}")
    for name, error in refused.items():
        print(f"{name:<10} {'refused':>10}  ({error.split('. ')[0]})")
    agree = {r["impl"]: r["agrees_with_torch"] for r in bn if r["agrees_with_torch"] is not None}
    if agree:
        print(
            "(agrees with PyTorch to "
            + ", ".join(f"{k} {v:.1e}" for k, v in agree.items())
            + ", relative)"
        )
    return {"mlp": mlp, "batchnorm": bn, "refused": refused}


if __name__ == "__main__":
    main(sys.argv[1:])

"""BatchNorm, fused vs composite, side by side with PyTorch and hand-written NumPy.

Run: ``.venv/bin/python benchmarks/batchnorm.py`` (``--quick`` for a smoke run).

Tensor engine, training mode, forward + backward with an upstream gradient, on
(256, 512) and (4096, 1024) in float32 and float64:

* minigrad fused (one op, hand-derived backward) and composite (primitive ops);
* hand-written NumPy: ``minigrad.batchnorm.math.transform`` + ``transform_backward``,
  the textbook forward and the simplified backward, no care for temporaries;
* ``torch.nn.functional.batch_norm`` on CPU, one thread unless ``--torch-threads``
  (context: NumPy's element-wise ops run on one core too).

Times are the best of interleaved rounds (each round runs every contender once), so
load from other processes falls on all of them alike and the best round is the one
least disturbed by it. "passes" is the time divided by
the time of one element-wise sweep over an array of x's size (``np.add(x, 1, out=)``):
a measured count of trips through memory. Peak memory is tracemalloc's peak of NumPy
allocations during one forward + backward (PyTorch's allocator is invisible to it).
Saved bytes are the arrays each graph holds for backward after the forward.

Then the scalar engine, N=32, C=16: fused (one op per feature) vs composite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.batchnorm.compare import graph_size
from minigrad.batchnorm.math import transform, transform_backward

try:
    import torch
except ImportError:  # the benchmark still runs; the PyTorch column says n/a
    torch = None

SHAPES = [(256, 512), (4096, 1024)]
DTYPES = [np.float32, np.float64]


def _interleaved_best(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    for run in contenders.values():  # warm up: first-call costs out of the figures
        run()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: min(ts) for name, ts in times.items()}


def _peak_bytes(run: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def tensor_rows(shape: tuple[int, int], dtype: type, repeats: int) -> list[dict[str, Any]]:
    from minigrad.batchnorm.tensor import batch_norm_composite, batch_norm_fused
    from minigrad.tensor import Tensor

    rng = np.random.default_rng(0)
    x_np = (1.0 + 2.0 * rng.standard_normal(shape)).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    g_np = (1.0 + 0.1 * rng.standard_normal(shape[1])).astype(dtype)
    b_np = (0.1 * rng.standard_normal(shape[1])).astype(dtype)
    x, g, b = (Tensor(a, requires_grad=True, dtype=dtype) for a in (x_np, g_np, b_np))

    def minigrad_run(fn: Callable[..., Tensor]) -> Callable[[], None]:
        def run() -> None:
            x.grad = g.grad = b.grad = None
            fn(x, g, b).backward(dy)

        return run

    def numpy_run() -> None:
        steps = transform(x_np, g_np, b_np, 1e-5)
        transform_backward(dy, steps, g_np, 1e-5)

    contenders: dict[str, Callable[[], Any]] = {
        "fused": minigrad_run(batch_norm_fused),
        "composite": minigrad_run(batch_norm_composite),
        "numpy": numpy_run,
    }
    if torch is not None:
        xt = torch.tensor(x_np, requires_grad=True)
        gt, bt = torch.tensor(g_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
        dyt = torch.tensor(dy)

        def torch_run() -> None:
            xt.grad = gt.grad = bt.grad = None
            torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True).backward(dyt)

        contenders["torch"] = torch_run
    buffer = np.empty_like(x_np)
    contenders["one pass"] = lambda: np.add(x_np, 1, out=buffer)

    best = _interleaved_best(contenders, repeats)
    one_pass = best.pop("one pass")
    rows = []
    for name, seconds in best.items():
        row: dict[str, Any] = {"impl": name, "ms": seconds * 1e3, "passes": seconds / one_pass}
        row["peak"] = _peak_bytes(contenders[name]) if name != "torch" else None
        if name in ("fused", "composite"):
            fn = batch_norm_fused if name == "fused" else batch_norm_composite
            size = graph_size(fn(x, g, b))  # before backward frees the saved arrays
            row.update(nodes=size.values, ops=size.ops, saved=size.saved_bytes)
        elif name == "numpy":  # what transform() keeps for transform_backward: its Steps
            steps = transform(x_np, g_np, b_np, 1e-5)
            row.update(saved=sum(a.nbytes for a in steps[:3]))
        rows.append(row)
    return rows


def scalar_rows(n: int, c: int, repeats: int) -> list[dict[str, Any]]:
    from minigrad.batchnorm.scalar import batch_norm_composite, batch_norm_fused
    from minigrad.check import _backward_from
    from minigrad.scalar.value import Value

    rng = np.random.default_rng(0)
    x_np, dy = rng.standard_normal((n, c)), rng.standard_normal((n, c))
    rows_in = [[Value(float(v)) for v in row] for row in x_np]
    gammas, betas = [Value(1.0) for _ in range(c)], [Value(0.0) for _ in range(c)]

    def forward(normalize: Callable[..., list[Value]]) -> list[list[Value]]:
        cols = [normalize([r[j] for r in rows_in], gammas[j], betas[j], 1e-5, j) for j in range(c)]
        return [[cols[j][i] for j in range(c)] for i in range(n)]

    def run_of(normalize: Callable[..., list[Value]]) -> Callable[[], None]:
        return lambda: _backward_from(forward(normalize), dy)

    impls = {"fused": batch_norm_fused, "composite": batch_norm_composite}
    best = _interleaved_best({k: run_of(f) for k, f in impls.items()}, repeats)
    out = []
    for name, normalize in impls.items():
        size = graph_size(forward(normalize))
        out.append({"impl": name, "ms": best[name] * 1e3, "nodes": size.values, "ops": size.ops})
    return out


def _fmt_bytes(n: int | None) -> str:
    if n is None:
        return "n/a"
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


STEADY_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(2**30)}


def tensor_table(shapes: list[tuple[int, int]], repeats: int, quick: bool) -> None:
    header = (
        f"{'shape':<12} {'dtype':<8} {'impl':<10} {'ms':>8} {'passes':>7} {'vs numpy':>9} "
        f"{'peak mem':>10} {'saved':>10} {'nodes':>6} {'ops':>4}"
    )
    print(header)
    print("-" * len(header))
    for shape in shapes:
        for dtype in DTYPES:
            rounds = repeats or (5 if quick else (40 if shape[0] < 1000 else 12))
            rows = tensor_rows(shape, dtype, rounds)
            ref = {r["impl"]: r["ms"] for r in rows}
            for r in rows:
                print(
                    f"{shape!s:<12} {np.dtype(dtype).name:<8} {r['impl']:<10} "
                    f"{r['ms']:8.3f} {r['passes']:7.1f} {r['ms'] / ref['numpy']:8.2f}x "
                    f"{_fmt_bytes(r['peak']):>10} {_fmt_bytes(r.get('saved')):>10} "
                    f"{r.get('nodes', ''):>6} {r.get('ops', ''):>4}"
                )
            print(
                f"{'':<21} fused is {ref['composite'] / ref['fused']:.1f}x faster than composite, "
                f"{ref['fused'] / ref['numpy']:.2f}x hand-written NumPy"
                + (f", {ref['fused'] / ref['torch']:.1f}x PyTorch" if "torch" in ref else "")
            )


def main(argv: list[str] | None = None) -> int:
    """Print the tables. ``argv`` are this script's options (None: none, so a runner that
    imports ``main`` does not hand over its own command line)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, few repeats")
    parser.add_argument("--repeats", type=int, default=0, help="rounds per shape (default: auto)")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="PyTorch's intra-op threads (default 1: NumPy's element-wise ops use one core "
        "too, and on a shared machine PyTorch's thread pool can stall badly)",
    )
    parser.add_argument(
        "--malloc",
        choices=("both", "default", "steady"),
        default="both",
        help="'default': glibc as configured; 'steady': a child process whose glibc keeps "
        "freed memory for reuse; 'both' (default): one table each",
    )
    args = parser.parse_args([] if argv is None else argv)
    if torch is not None and args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    shapes = [(64, 32), (256, 64)] if args.quick else SHAPES
    versions = f"numpy {np.__version__}" + (
        f", torch {torch.__version__} with {torch.get_num_threads()} thread(s)" if torch else ""
    )

    if args.malloc in ("both", "default"):
        print(f"### BatchNorm, tensor engine: forward + backward, training mode ({versions})")
        print("memory allocator: glibc as configured (arrays over its mmap threshold are")
        print("mapped, faulted in and unmapped on every call: costly on some virtual machines)")
        tensor_table(shapes, args.repeats, args.quick)
    if args.malloc == "both":  # the same table, in a child process whose glibc keeps memory
        child = [sys.executable, __file__, "--malloc", "steady", "--torch-threads"]
        child += [str(args.torch_threads), "--repeats", str(args.repeats)]
        child += ["--quick"] if args.quick else []
        sys.stdout.flush()
        subprocess.run(child, env={**os.environ, **STEADY_ENV}, check=True)
    elif args.malloc == "steady":
        print(f"\n### The same, with glibc keeping freed memory ({versions})")
        print("(" + ", ".join(f"{k}={v}" for k, v in STEADY_ENV.items()) + ": every contender")
        print("reuses its freed arrays instead of faulting fresh pages in; arithmetic only)")
        tensor_table(shapes, args.repeats, args.quick)
        return 0

    n, c = (8, 4) if args.quick else (32, 16)
    print(f"\n### BatchNorm, scalar engine: N={n}, C={c}, forward + backward")
    rows = scalar_rows(n, c, 5 if args.quick else 20)
    for r in rows:
        print(f"{r['impl']:<10} {r['ms']:8.3f} ms  {r['nodes']:6d} value nodes  {r['ops']:5d} ops")
    ms = {r["impl"]: r["ms"] for r in rows}
    print(f"fused is {ms['composite'] / ms['fused']:.1f}x faster than composite")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

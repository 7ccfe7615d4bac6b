"""BatchNorm's double backward: the hand-derived NumPy kernel vs PyTorch's.

Run: ``.venv/bin/python benchmarks/bn_double_backward_kernel.py`` (``--quick`` for a
smoke run).

The op being differentiated is the first-order backward B: (x, gamma, dy) ->
(dx, dgamma, dbeta); its backward takes upstream gradients (ggx, gggamma, ggbeta) to
(dL/dx, dL/dgamma, dL/d(dy)). Contenders, training and eval mode, float64:

* ``kernel``: ``fused_double_backward`` from x (it recomputes the batch statistics);
* ``kernel, saved stats``: the same given the statistics ``fused_forward`` saved (what an
  autograd op would do);
* ``torch``: ``torch.autograd.grad((dx, dgamma, dbeta), (x, gamma, dy), (ggx, gggamma,
  ggbeta), retain_graph=True)`` on the graph that ``torch.autograd.grad(...,
  create_graph=True)`` built through ``torch.nn.functional.batch_norm``: the same
  vector-Jacobian product;
* the whole chain, forward + backward + double backward, for both, and PyTorch's
  forward + backward with ``create_graph=True`` alone (the chain minus it is PyTorch's
  double backward on a graph it frees as it goes).

Times are the best of interleaved rounds (every contender once per round); "passes" is
the time over one element-wise sweep of an x-sized array (``np.add(x, 1, out=)``), and
the first-order ``fused_backward`` is timed too, as the unit a double backward is
usually measured in.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.batchnorm.double_backward import (
    fused_double_backward,
    fused_double_backward_eval,
)
from minigrad.batchnorm.math import (
    fused_backward,
    fused_backward_eval,
    fused_forward,
    fused_forward_eval,
)

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the benchmark still runs; PyTorch rows are left out
    torch = None

EPS = 1e-5


def interleaved_best(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Best time of each contender over ``repeats`` rounds, each round running all once."""
    for run in contenders.values():  # warm up: first-call costs out of the figures
        run()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: min(ts) for name, ts in times.items()}


def contenders(shape: tuple[int, int], training: bool) -> dict[str, Callable[[], Any]]:
    rng = np.random.default_rng(0)
    c = shape[1]
    x = 1.0 + 2.0 * rng.standard_normal(shape)
    gamma = 1.0 + 0.1 * rng.standard_normal(c)
    beta = 0.1 * rng.standard_normal(c)
    dy, ggx = rng.standard_normal(shape), rng.standard_normal(shape)
    gggamma, ggbeta = rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = 0.1 * rng.standard_normal(c), 1.0 + 0.1 * rng.random(c)
    runs: dict[str, Callable[[], Any]] = {}

    if training:
        _, stats = fused_forward(x, gamma, beta, EPS)
        runs["first-order backward"] = lambda: fused_backward(dy, stats, gamma)
        runs["kernel"] = lambda: fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS)
        runs["kernel, saved stats"] = lambda: fused_double_backward(
            x, gamma, dy, ggx, gggamma, ggbeta, EPS, stats=stats
        )

        def kernel_chain() -> None:
            _, saved = fused_forward(x, gamma, beta, EPS)
            fused_backward(dy, saved, gamma)
            fused_double_backward(x, gamma, dy, ggx, gggamma, ggbeta, EPS, stats=saved)

    else:
        _, inv_std = fused_forward_eval(x, rm, rv, gamma, beta, EPS)
        runs["first-order backward"] = lambda: fused_backward_eval(dy, x, rm, inv_std, gamma)
        runs["kernel"] = lambda: fused_double_backward_eval(
            x, rm, rv, gamma, dy, ggx, gggamma, ggbeta, EPS
        )

        def kernel_chain() -> None:
            _, inv = fused_forward_eval(x, rm, rv, gamma, beta, EPS)
            fused_backward_eval(dy, x, rm, inv, gamma)
            fused_double_backward_eval(x, rm, rv, gamma, dy, ggx, gggamma, ggbeta, EPS)

    runs["kernel: forward+backward+double"] = kernel_chain

    if torch is not None:
        tx = torch.tensor(x, requires_grad=True)
        tg, tb = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
        tdy = torch.tensor(dy, requires_grad=True)
        trm, trv = torch.tensor(rm), torch.tensor(rv)
        ups = (torch.tensor(ggx), torch.tensor(gggamma), torch.tensor(ggbeta))

        def first_order() -> tuple[Any, ...]:
            y = F.batch_norm(tx, trm, trv, tg, tb, training=training, momentum=0.0, eps=EPS)
            return torch.autograd.grad(y, (tx, tg, tb), tdy, create_graph=True)

        grads = first_order()

        def torch_double() -> tuple[Any, ...]:
            return torch.autograd.grad(grads, (tx, tg, tdy), ups, retain_graph=True)

        def torch_chain() -> None:
            torch.autograd.grad(first_order(), (tx, tg, tdy), ups)

        runs["torch"] = torch_double
        runs["torch: forward+backward"] = first_order
        runs["torch: forward+backward+double"] = torch_chain

    buffer = np.empty_like(x)
    runs["one pass"] = lambda: np.add(x, 1, out=buffer)
    return runs


def table(shape: tuple[int, int], repeats: int) -> None:
    header = f"{'mode':<6} {'contender':<32} {'ms':>8} {'passes':>7} {'vs torch':>9}"
    print(header)
    print("-" * len(header))
    for training in (True, False):
        mode = "train" if training else "eval"
        best = interleaved_best(contenders(shape, training), repeats)
        one_pass = best.pop("one pass")
        for name, seconds in best.items():
            rival = "torch: forward+backward+double" if "double" in name else "torch"
            ratio = f"{seconds / best[rival]:8.2f}x" if rival in best else f"{'':>9}"
            if not name.startswith("kernel"):  # only the kernel rows have a rival
                ratio = ""
            line = f"{mode:<6} {name:<32} {seconds * 1e3:8.3f} {seconds / one_pass:7.1f} {ratio}"
            print(line.rstrip())
        if "torch" in best:
            # the chain minus forward+backward: torch's double backward on a graph it
            # frees as it goes (the "torch" row keeps it, retain_graph=True, to repeat it)
            freed = best["torch: forward+backward+double"] - best["torch: forward+backward"]
            print(
                f"{'':<6} double backward: kernel {best['torch'] / best['kernel']:.1f}x faster "
                f"than PyTorch (chain minus first order: {freed * 1e3:.3f} ms for torch); "
                f"{best['kernel'] / best['first-order backward']:.1f}x the first-order backward"
            )


def main(argv: list[str] | None = None) -> int:
    """Print the table. ``argv`` are this script's options (None: none)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small shape, few repeats")
    parser.add_argument("--repeats", type=int, default=0, help="rounds (default: auto)")
    parser.add_argument("--torch-threads", type=int, default=1, help="PyTorch's threads")
    args = parser.parse_args([] if argv is None else argv)
    if torch is not None and args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    shape = (64, 32) if args.quick else (256, 512)
    repeats = args.repeats or (5 if args.quick else 40)
    versions = f"numpy {np.__version__}" + (
        f", torch {torch.__version__} with {torch.get_num_threads()} thread(s)" if torch else ""
    )
    print(f"### BatchNorm double backward, {shape} float64, best of {repeats} ({versions})")
    table(shape, repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(__import__("sys").argv[1:]))

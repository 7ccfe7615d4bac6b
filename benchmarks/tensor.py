"""One MLP training step: minigrad vs PyTorch CPU vs hand-written NumPy, side by side.

Run: ``.venv/bin/python benchmarks/tensor.py`` (``--quick`` for a smoke run,
``--profile`` to add a cProfile of the minigrad step). Importable: ``main(argv)``
returns the table's rows as dicts (for ``benchmarks/run_all.py``).

The step is forward, softmax cross-entropy, backward and a plain SGD update, float32,
on two networks with ReLU between the layers:

* small: 2 -> 64 -> 64 -> 2, batch 64: tiny matrices, so the time is per-op overhead;
* large: 784 -> 512 -> 512 -> 10, batch 1024: the time is in the matrix products (BLAS).

Contenders, in one process on the same data and the same initial weights:

* minigrad: ``nn.Sequential`` of ``nn.Linear`` / ``nn.ReLU``, ``F.cross_entropy``,
  ``optim.SGD``;
* PyTorch: the same network with ``torch.nn`` and ``torch.optim.SGD``, at its default
  thread count;
* NumPy: forward and backward of the same network written out by hand below: the
  floor for any engine that runs on NumPy.

Each round runs every contender for a few steps, in turn (the order goes through every
permutation, and each sample starts after 10 ms of quiet), and records the time per
step; the table shows the median over rounds, so load from other processes falls on
all three alike. Before timing, the three
first-step losses are checked to agree.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import Tensor, nn, optim
from minigrad.nn import functional as F

try:
    import torch
except ImportError:  # the table then says n/a for PyTorch
    torch = None

CONFIGS = {
    # name: (layer sizes, batch, steps per timed sample)
    "small": ((2, 64, 64, 2), 64, 20),
    "large": ((784, 512, 512, 10), 1024, 1),
}
TARGETS = {  # what the project aims for: minigrad / other
    ("small", "torch"): 1.0,
    ("small", "numpy"): 2.5,
    ("large", "numpy"): 1.1,
}
LR = 0.01
PAUSE = 0.01  # seconds of quiet before each timed sample (see interleaved_medians)


def make_data(sizes: tuple[int, ...], batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], size=batch)
    return x, y


# ---------------------------------------------------------------- the three contenders


def minigrad_step(
    model: nn.Module, x: np.ndarray, y: np.ndarray
) -> tuple[Callable[[], float], Any]:
    opt = optim.SGD(model.parameters(), lr=LR)
    xt = Tensor(x)

    def step() -> float:
        loss = F.cross_entropy(model(xt), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.data)

    return step, opt


def torch_step(model: Any, x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def numpy_step(
    weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray
) -> Callable[[], float]:
    """Forward and backward of Linear-ReLU-...-Linear + cross-entropy, by hand, then SGD."""
    n = x.shape[0]
    rows = np.arange(n)

    def step() -> float:
        # forward: keep each layer's input for the weight gradients
        inputs, a = [], x
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            inputs.append(a)
            a = a @ w.T
            a += b
            if i < len(weights) - 1:
                np.maximum(a, 0, out=a)  # ReLU in place: a > 0 marks where it passed
        z = a
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, y]).mean()
        # backward: dL/dz = (softmax - onehot) / n, then layer by layer
        g = p
        g[rows, y] -= 1
        g /= n
        for i in range(len(weights) - 1, -1, -1):
            a_in, w = inputs[i], weights[i]
            dw = g.T @ a_in
            db = g.sum(axis=0)
            if i > 0:
                g = g @ w
                g *= a_in > 0  # through the ReLU that made a_in
            w -= LR * dw
            biases[i] -= LR * db
        return float(loss)

    return step


# ---------------------------------------------------------------- setup and timing


def build(sizes: tuple[int, ...], batch: int) -> dict[str, Callable[[], float]]:
    """The three steps on the same data and the same initial weights."""
    x, y = make_data(sizes, batch)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out, rng=i))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    state = model.state_dict()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    weights = [m.weight.data.copy() for m in linears]
    biases = [m.bias.data.copy() for m in linears]
    steps = {"minigrad": minigrad_step(model, x, y)[0], "numpy": numpy_step(weights, biases, x, y)}
    if torch is not None:
        torch_layers: list[Any] = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            torch_layers.append(torch.nn.Linear(fan_in, fan_out))
            if i < len(sizes) - 2:
                torch_layers.append(torch.nn.ReLU())
        torch_model = torch.nn.Sequential(*torch_layers)
        torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        steps["torch"] = torch_step(torch_model, x, y)
    return steps


def check_same_losses(steps: dict[str, Callable[[], float]]) -> dict[str, float]:
    """One step each from identical weights: the losses must agree (same network)."""
    losses = {name: step() for name, step in steps.items()}
    ref = losses["numpy"]
    for value in losses.values():
        if abs(value - ref) > 1e-4 * max(1.0, abs(ref)):
            raise AssertionError(f"first-step losses differ: {losses}")
    return losses


def interleaved_medians(
    steps: dict[str, Callable[[], float]], rounds: int, per_sample: int
) -> dict[str, float]:
    """Median seconds per step, from ``rounds`` samples of ``per_sample`` steps each."""
    for step in steps.values():  # warm-up: caches, allocator, BLAS threads
        for _ in range(max(2, per_sample)):
            step()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    # Every order of the contenders in turn, and a short untimed pause before each
    # sample: PyTorch's worker threads keep spinning for a moment after a step and
    # would otherwise slow down whoever runs right after it.
    orders = list(itertools.permutations(steps))
    for r in range(rounds):
        for name in orders[r % len(orders)]:
            step = steps[name]
            time.sleep(PAUSE)
            start = time.perf_counter()
            for _ in range(per_sample):
                step()
            samples[name].append((time.perf_counter() - start) / per_sample)
    return {name: statistics.median(times) for name, times in samples.items()}


def profile_minigrad(sizes: tuple[int, ...], batch: int, steps: int, top: int = 14) -> str:
    """cProfile of ``steps`` minigrad steps, the functions with the most own time first."""
    step = build(sizes, batch)["minigrad"]
    step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---------------------------------------------------------------- the table


def rows_for(name: str, rounds: int) -> list[dict[str, Any]]:
    sizes, batch, per_sample = CONFIGS[name]
    steps = build(sizes, batch)
    check_same_losses(steps)
    medians = interleaved_medians(steps, rounds, per_sample)
    mg = medians["minigrad"]
    rows = []
    for other in ("torch", "numpy"):
        if other not in medians:
            continue
        ratio = mg / medians[other]
        target = TARGETS.get((name, other))
        rows.append(
            {
                "benchmark": f"MLP step {name} ({'-'.join(map(str, sizes))}, batch {batch})",
                "config": name,
                "versus": other,
                "minigrad_ms": mg * 1e3,
                "other_ms": medians[other] * 1e3,
                "ratio": ratio,
                "target": target,
                "meets_target": None if target is None else ratio <= target,
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    header = f"{'network':<34} {'vs':<6} {'minigrad':>10} {'other':>10} {'ratio':>7}  target"
    lines = [header, "-" * len(header)]
    for r in rows:
        target = "" if r["target"] is None else f"<= {r['target']:.1f}x "
        verdict = "" if r["meets_target"] is None else ("ok" if r["meets_target"] else "MISSED")
        lines.append(
            f"{r['benchmark'][9:]:<34} {r['versus']:<6} {r['minigrad_ms']:>8.3f}ms "
            f"{r['other_ms']:>8.3f}ms {r['ratio']:>6.2f}x  {target}{verdict}"
        )
    return "\n".join(lines)


def environment() -> str:
    parts = [f"numpy {np.__version__}"]
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        parts += [f"{i['internal_api']} {i['num_threads']} threads" for i in blas]
    except ImportError:
        pass
    if torch is not None:
        parts.append(f"torch {torch.__version__} {torch.get_num_threads()} threads")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="timed samples per contender")
    parser.add_argument("--profile", action="store_true", help="also cProfile the minigrad step")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS threads for NumPy (and so minigrad) and PyTorch alike (default: their own)",
    )
    args = parser.parse_args([] if argv is None else argv)  # an importer's argv is not ours
    if args.threads is not None:
        return _with_threads(args.threads, lambda: _run(args))
    return _run(args)


def _with_threads(n: int, run: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(n)
        with threadpool_limits(limits=n, user_api="blas"):
            return run()
    finally:
        if previous is not None:
            torch.set_num_threads(previous)


def _run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rounds = args.rounds or (3 if args.quick else 25)
    print(f"MLP training step (forward + backward + SGD), float32; {environment()}")
    print(f"median of {rounds} interleaved samples per contender\n")
    rows = []
    for name in CONFIGS:
        rows += rows_for(name, rounds)
    print(format_table(rows))
    if args.profile:
        for name, (sizes, batch, _) in CONFIGS.items():
            n = 200 if name == "small" else 10
            print(f"\ncProfile of {n} minigrad steps, {name} network (sorted by own time):")
            print(profile_minigrad(sizes, batch, n))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])

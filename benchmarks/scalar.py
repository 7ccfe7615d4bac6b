"""The scalar engine against micrograd 0.1.0, side by side in one process.

    .venv/bin/python benchmarks/scalar.py            # full run (the 1,000,000-step chain too)
    .venv/bin/python benchmarks/scalar.py --quick    # fewer repeats, chains up to 100,000

Three measurements, each printed as a table with the ratio minigrad / micrograd:

1. **Training step**: an MLP 2 -> 16 -> 16 -> 1 (ReLU) on 64 two-moons points, the
   max-margin loss of micrograd's demo notebook, ``mean(relu(1 - y_i * score_i)) +
   1e-4 * sum(p * p)``, forward + backward (+ zero_grad). Both models hold the same
   weights and the script checks that both losses agree. Timed with Python's cyclic
   GC on (what users get) and with it disabled inside the timed region. Blocks of steps
   alternate between the two libraries, so machine load falls on both alike; the figure
   is the mean over all steps (a GC pause belongs to the step that paid for it).
2. **Depth**: the longest chain ``x = x * 1.0001 + 0.5`` whose ``backward()`` works,
   trying 250, 500, 1e3, ..., 1e6 steps (four nodes per step, constants included),
   with minigrad's build and backward times with GC on and off. micrograd's recursive
   topological sort hits ``RecursionError`` near 500 steps.
3. **Memory**: bytes per graph node (tracemalloc) after the forward pass and after the
   backward pass, for one training-step graph and for a 20,000-step chain.

Importable: ``main(argv)`` (``benchmarks/run_all.py`` calls it).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import minigrad as mg
from minigrad.datasets import make_moons
from minigrad.scalar.nn import MLP

try:
    import micrograd.engine as micro_engine
    import micrograd.nn as micro_nn
except ImportError:  # pragma: no cover - the bench extra is missing
    sys.exit("benchmarks/scalar.py needs micrograd: pip install -e '.[bench]'")

SIZES = [16, 16, 1]
POINTS = 64
ALPHA = 1e-4
DEPTHS = [250, 500, 1_000, 10_000, 100_000, 1_000_000]


# ---------------------------------------------------------------- the training step


def minigrad_step(rows: list[list[float]], targets: list[float]) -> tuple[Callable, Any]:
    model = MLP(2, SIZES, seed=0)
    params = model.parameters()

    def step() -> float:
        scores = [model(row) for row in rows]
        hinge = mg.value_sum((1 - t * s).relu() for t, s in zip(targets, scores, strict=True))
        loss = hinge / len(rows) + ALPHA * mg.value_sum(p * p for p in params)
        model.zero_grad()
        loss.backward()
        return loss  # the graph's root: the caller decides when the graph is freed

    return step, model


def micrograd_step(rows: list[list[float]], targets: list[float], twin: MLP) -> Callable:
    """micrograd's demo-notebook step, on a micrograd MLP holding ``twin``'s weights."""
    model = micro_nn.MLP(2, SIZES)
    for mine, theirs in zip(twin.parameters(), model.parameters(), strict=True):
        theirs.data = mine.data
    params = model.parameters()
    Value = micro_engine.Value

    def step() -> float:
        inputs = [[Value(x) for x in row] for row in rows]
        scores = [model(x) for x in inputs]
        losses = [(1 + -t * s).relu() for t, s in zip(targets, scores, strict=True)]
        loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in params)
        model.zero_grad()
        loss.backward()
        return loss  # the graph's root: the caller decides when the graph is freed

    return step


def time_steps(
    steps: dict[str, Callable], rounds: int, block: int, gc_on: bool, free_inside: bool
) -> dict:
    """Mean seconds per step for each contender, blocks of ``block`` steps interleaved.

    ``free_inside``: each step's graph is dropped as soon as the step returns, inside
    the timed region (what a training loop does). Otherwise the graphs are kept until
    the block's timer has stopped, so freeing them is not timed.
    """
    totals = dict.fromkeys(steps, 0.0)
    for _ in range(rounds):
        for name, step in steps.items():
            gc.collect()  # start each block from the same clean heap
            kept = []
            if not gc_on:
                gc.disable()
            try:
                start = time.perf_counter()
                for _ in range(block):
                    root = step()
                    if not free_inside:
                        kept.append(root)
                    del root
                totals[name] += time.perf_counter() - start
            finally:
                gc.enable()
            kept.clear()
    return {name: total / (rounds * block) for name, total in totals.items()}


def step_table(rounds: int, block: int) -> list[str]:
    X, y = make_moons(POINTS, noise=0.1, seed=0)
    rows, targets = X.tolist(), (2.0 * y - 1.0).tolist()
    ours, model = minigrad_step(rows, targets)
    theirs = micrograd_step(rows, targets, model)
    loss_ours, loss_theirs = ours().data, theirs().data
    if abs(loss_ours - loss_theirs) > 1e-9 * max(1.0, abs(loss_theirs)):
        raise SystemExit(f"losses differ: minigrad {loss_ours!r}, micrograd {loss_theirs!r}")
    steps = {"minigrad": ours, "micrograd": theirs}
    lines = [
        f"Training step: MLP 2-16-16-1 on {POINTS} points, hinge + L2, forward+backward "
        f"(loss {loss_ours:.6f} in both; mean of {rounds} x {block} steps)",
        "| GC | minigrad ms | micrograd ms | minigrad / micrograd |",
        "|---|---:|---:|---:|",
    ]
    # GC on: what users get; each step's graph is freed as the loop moves on (minigrad's
    # by reference counting, micrograd's cyclic graph by the collector). GC off: with the
    # collector off micrograd's graphs are never freed inside the timed region, so the
    # symmetric figure keeps both libraries' graphs until the timer stops; the last row
    # shows minigrad paying for freeing its graphs inside the timed region anyway.
    cases = [("on", True, True), ("off", False, False), ("off, freeing timed", False, True)]
    for label, gc_on, free_inside in cases:
        t = time_steps(steps, rounds, block, gc_on, free_inside)
        lines.append(
            f"| {label} | {t['minigrad'] * 1e3:.1f} | "
            f"{t['micrograd'] * 1e3:.1f} | {t['minigrad'] / t['micrograd']:.2f} |"
        )
    return lines


# ---------------------------------------------------------------- depth


def chain(value_type: type, steps: int) -> tuple[Any, Any]:
    x0 = x = value_type(1.0)
    for _ in range(steps):
        x = x * 1.0001 + 0.5
    return x0, x


def timed_chain(steps: int, gc_on: bool) -> tuple[float, float, bool]:
    """Seconds to build a minigrad chain and to run its backward, and whether it was right."""
    gc.collect()
    if not gc_on:
        gc.disable()
    try:
        start = time.perf_counter()
        x0, x = chain(mg.Value, steps)
        built = time.perf_counter()
        x.backward()
        done = time.perf_counter()
    finally:
        gc.enable()
    right = x0.grad == 1.0001**steps or abs(x0.grad / 1.0001**steps - 1) < 1e-9
    return built - start, done - built, right


def depth_table(depths: list[int]) -> list[str]:
    lines = [
        "Depth: chain x = x*1.0001 + 0.5 (4 nodes per step): minigrad build and backward "
        "seconds with GC on (GC off), and whether micrograd's backward survives",
        "| steps | minigrad forward s | minigrad backward s | micrograd |",
        "|---:|---:|---:|---|",
    ]
    micro_alive = True
    for steps in depths:
        forward_on, backward_on, right_on = timed_chain(steps, gc_on=True)
        forward_off, backward_off, right_off = timed_chain(steps, gc_on=False)
        micro = "not tried (failed at a shorter chain)"
        if micro_alive:
            m0, m = chain(micro_engine.Value, steps)
            try:
                m.backward()
                micro = "ok"
            except RecursionError:
                micro, micro_alive = "RecursionError", False
            del m0, m
        gc.collect()
        wrong = "" if right_on and right_off else " (wrong gradient!)"
        lines.append(
            f"| {steps:,} | {forward_on:.2f} ({forward_off:.2f}) | "
            f"{backward_on:.2f} ({backward_off:.2f}){wrong} | {micro} |"
        )
    return lines


# ---------------------------------------------------------------- memory


def count_nodes(root: Any) -> int:
    """Nodes reachable from ``root`` in either library (iterative: micrograd's can be deep)."""
    seen, stack = {id(root)}, [root]
    while stack:
        for parent in stack.pop()._prev:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return len(seen)


def bytes_per_node(build: Callable[[], Any]) -> tuple[int, float, float]:
    """(nodes, bytes per node after forward, after backward) for the graph ``build`` makes."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        root = build()
        after_forward = tracemalloc.get_traced_memory()[0] - before
        root.backward()
        after_backward = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    n = count_nodes(root)
    return n, after_forward / n, after_backward / n


def memory_table() -> list[str]:
    X, y = make_moons(POINTS, noise=0.1, seed=0)
    rows, targets = X.tolist(), (2.0 * y - 1.0).tolist()
    ours = MLP(2, SIZES, seed=0)
    theirs = micro_nn.MLP(2, SIZES)
    ours_params, theirs_params = ours.parameters(), theirs.parameters()

    def ours_loss() -> Any:
        scores = [ours(row) for row in rows]
        hinge = mg.value_sum((1 - t * s).relu() for t, s in zip(targets, scores, strict=True))
        return hinge / len(rows) + ALPHA * mg.value_sum(p * p for p in ours_params)

    def theirs_loss() -> Any:
        V = micro_engine.Value
        scores = [theirs([V(x) for x in row]) for row in rows]
        losses = [(1 + -t * s).relu() for t, s in zip(targets, scores, strict=True)]
        return sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in theirs_params)

    graphs = {
        "training-step graph": (ours_loss, theirs_loss),
        "20,000-step chain": (
            lambda: chain(mg.Value, 20_000)[1],
            lambda: _micro_chain_with_big_stack(20_000),
        ),
    }
    lines = [
        "Memory (tracemalloc): bytes per node after forward / after backward",
        "| graph | minigrad nodes | minigrad B/node | micrograd nodes | micrograd B/node "
        "| ratio after forward | ratio after backward |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (mine, micro) in graphs.items():
        n1, f1, b1 = bytes_per_node(mine)
        n2, f2, b2 = bytes_per_node(micro)
        lines.append(
            f"| {name} | {n1:,} | {f1:.0f} / {b1:.0f} | {n2:,} | {f2:.0f} / {b2:.0f} "
            f"| {f1 / f2:.2f} | {b1 / b2:.2f} |"
        )
    return lines


class _DeepMicrogradChain:
    """A micrograd chain whose ``backward()`` runs with a raised recursion limit.

    Only for measuring memory: micrograd cannot run backward on a 20,000-step chain
    otherwise. The recursion limit is restored afterwards.
    """

    def __init__(self, root: Any) -> None:
        self._prev, self.root = (root,), root

    def backward(self) -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(200_000)
        try:
            self.root.backward()
        finally:
            sys.setrecursionlimit(limit)


def _micro_chain_with_big_stack(steps: int) -> _DeepMicrogradChain:
    return _DeepMicrogradChain(chain(micro_engine.Value, steps)[1])


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/scalar.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats, chains to 100,000")
    args = parser.parse_args(argv)
    rounds, block = (3, 2) if args.quick else (6, 3)
    depths = [d for d in DEPTHS if d <= 100_000] if args.quick else DEPTHS

    print("## Scalar engine: minigrad vs micrograd 0.1.0\n")
    for table in (step_table(rounds, block), depth_table(depths), memory_table()):
        print("\n".join(table) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

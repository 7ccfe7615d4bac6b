"""First-order speed against an earlier commit: does a change slow the hot paths?

    .venv/bin/python benchmarks/regression.py                 # against HEAD~1... or --base REV
    .venv/bin/python benchmarks/regression.py --base 4677593   # against a chosen commit
    .venv/bin/python benchmarks/regression.py --quick

The earlier commit's ``minigrad/`` is unpacked (``git archive``) into a temporary folder;
each workload then runs in a fresh process for one version, then the other, alternating
for ``--rounds`` rounds, so machine load falls on both alike. Each process times
``--repeats`` steps with GC off and reports its median; the table shows the median over
rounds for each version and the ratio now / base (< 1: faster now). Workloads: the
scalar MLP training step of ``benchmarks/scalar.py`` (2-16-16-1 on 64 moons), the tensor
MLP steps of ``benchmarks/tensor.py`` (2-64-64-2 batch 64; 784-512-512-10 batch 1024),
and fused BatchNorm forward + backward (256, 512) float64.

Importable: ``main(argv)`` (``benchmarks/run_all.py`` calls it; there it compares with
the commit before the higher-order work, 4677593, when that commit exists).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASE = "4677593"  # the last commit before create_graph and the op table

# Each workload: a program that builds the step and prints the median seconds of a step.
WORKLOAD = r"""
import gc, json, statistics, sys, time
import numpy as np
import minigrad as mg
name, repeats = sys.argv[1], int(sys.argv[2])
if name == "scalar MLP step":
    from minigrad.datasets import make_moons
    from minigrad.scalar.nn import MLP
    X, y = make_moons(64, noise=0.1)
    rows = [[float(a) for a in r] for r in np.asarray(X)]
    targets = [float(2 * t - 1) for t in np.asarray(y)]
    model = MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    def step():
        scores = [model(r) for r in rows]
        hinge = mg.value_sum((1 - t * s).relu() for t, s in zip(targets, scores))
        loss = hinge * (1 / len(rows)) + 1e-4 * mg.value_sum(p * p for p in params)
        for p in params:
            p.grad = 0.0
        loss.backward()
else:
    from minigrad import nn
    rng = np.random.default_rng(0)
    if name == "fused BatchNorm fwd+bwd (256, 512) f64":
        from minigrad.batchnorm.tensor import batch_norm_fused
        x = mg.Tensor(rng.normal(size=(256, 512)), requires_grad=True)
        g = mg.Tensor(rng.normal(size=512), requires_grad=True)
        b = mg.Tensor(rng.normal(size=512), requires_grad=True)
        up = rng.normal(size=(256, 512))
        def step():
            x.grad = g.grad = b.grad = None
            batch_norm_fused(x, g, b).backward(up)
    else:
        sizes, batch = ((2, 64, 64, 2), 64) if "small" in name else ((784, 512, 512, 10), 1024)
        layers = []
        for i, (a, c) in enumerate(zip(sizes, sizes[1:])):
            layers.append(nn.Linear(a, c))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        model = nn.Sequential(*layers)
        opt = mg.optim.SGD(model.parameters(), lr=0.01)
        x = mg.Tensor(rng.normal(size=(batch, sizes[0])).astype(np.float32))
        t = rng.integers(0, sizes[-1], size=batch)
        def step():
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), t).backward()
            opt.step()
for _ in range(3):
    step()
gc.disable()
times = []
for _ in range(repeats):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
print(json.dumps(statistics.median(times)))
"""

WORKLOADS = (
    "scalar MLP step",
    "tensor small MLP step",
    "tensor large MLP step",
    "fused BatchNorm fwd+bwd (256, 512) f64",
)


def run_once(source: Path, name: str, repeats: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(source), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", WORKLOAD, name, str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=source,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/regression.py",
        description="First-order speed now against an earlier commit, alternating processes.",
    )
    parser.add_argument("--base", default=DEFAULT_BASE, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=5, help="alternations (default: 5)")
    parser.add_argument("--repeats", type=int, default=15, help="steps per process (default: 15)")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 5 steps")
    args = parser.parse_args([] if argv is None else argv)
    rounds, repeats = (2, 5) if args.quick else (args.rounds, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.base, "minigrad"],
            capture_output=True,
            check=False,
        )
        if archive.returncode:
            print(
                f"regression: cannot read commit {args.base!r}: {archive.stderr.decode().strip()}"
            )
            return 1
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        print(
            f"first-order speed, now vs {args.base} ({rounds} alternating rounds x {repeats} steps)"
        )
        print(f"{'workload':<42} {'base':>10} {'now':>10} {'now/base':>9}")
        for name in WORKLOADS:
            old, new = [], []
            for _ in range(rounds):
                old.append(run_once(base, name, repeats))
                new.append(run_once(ROOT, name, repeats))
            b, n = statistics.median(old), statistics.median(new)
            print(f"{name:<42} {b * 1e3:8.2f}ms {n * 1e3:8.2f}ms {n / b:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

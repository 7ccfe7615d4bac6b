"""End to end: nn.Sequential + an optimizer + cross_entropy learn toy problems in seconds."""

from __future__ import annotations

import time

import numpy as np

from minigrad import Tensor, nn, optim
from minigrad.datasets import make_moons, make_spirals
from minigrad.nn import functional as F


def train(model, opt, X, y, steps):
    x = Tensor(X.astype(np.float32))
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    accuracy = float((model(x).data.argmax(axis=1) == y).mean())
    return accuracy, losses


def test_mlp_with_sgd_learns_two_moons():
    X, y = make_moons(200, noise=0.1, seed=0)
    model = nn.Sequential(
        nn.Linear(2, 32, rng=0),
        nn.ReLU(),
        nn.Linear(32, 32, rng=1),
        nn.ReLU(),
        nn.Linear(32, 2, rng=2),
    )
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    start = time.perf_counter()
    accuracy, losses = train(model, opt, X, y, 300)
    assert time.perf_counter() - start < 10
    assert accuracy >= 0.95, accuracy
    assert losses[-1] < 0.2 * losses[0]


def test_mlp_with_adam_and_dropout_learns_spirals():
    X, y = make_spirals(300, classes=3, noise=0.1, seed=0)
    model = nn.Sequential(
        nn.Linear(2, 64, rng=0),
        nn.Tanh(),
        nn.Dropout(0.05, rng=0),
        nn.Linear(64, 64, rng=1),
        nn.ReLU(),
        nn.Linear(64, 3, rng=2),
    )
    opt = optim.Adam(model.named_parameters(), lr=0.02)
    accuracy, losses = train(model, opt, X, y, 400)
    assert accuracy >= 0.9, accuracy
    assert losses[-1] < 0.3 * losses[0]


def test_the_tensor_benchmark_contenders_take_the_same_steps():
    """benchmarks/tensor.py times three implementations of one step; they must agree."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "tensor.py"
    spec = importlib.util.spec_from_file_location("tensor_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    steps = bench.build((2, 64, 64, 2), 64)
    assert set(steps) == {"minigrad", "numpy", "torch"}
    for _ in range(5):  # later losses agree only if gradients and updates did
        losses = {name: step() for name, step in steps.items()}
        np.testing.assert_allclose(losses["minigrad"], losses["numpy"], rtol=1e-5)
        np.testing.assert_allclose(losses["minigrad"], losses["torch"], rtol=1e-5)
    assert callable(bench.main)

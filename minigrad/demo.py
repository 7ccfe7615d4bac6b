"""``python -m minigrad demo``: the tour, in three acts.

1. BatchNorm both ways on one small batch: the composite (autodiff derives the
   gradient) and the fused op (a hand-derived backward), their gradients side by side
   with central differences, and both graphs in one picture.
2. A toy MLP with BatchNorm trained on two moons with the tensor engine.
3. The same kind of MLP, micrograd-style, with the scalar engine.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import cli_help, datasets
from minigrad.batchnorm.compare import example_batch
from minigrad.progress import progress as _progress
from minigrad.progress import say as _say

SCREEN = (1920, 1080)  # the demo's PNG fits a full-HD screen; the SVG keeps every detail


def png_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of a PNG, read from its header."""
    header = Path(path).read_bytes()[16:24]
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


def batchnorm_both_ways(out_dir: Path, seed: int) -> None:
    print("== 1. BatchNorm two ways: composite (autodiff) vs fused (hand-derived backward) ==")
    x = example_batch((4, 2), seed)  # the bn-compare command's input, same seed: same table
    result = mg.compare_batchnorm(x, engine="scalar", seed=seed)
    print(result)
    try:
        svg = result.render(out_dir / "bn_side_by_side", format="svg")
        png = result.render(
            out_dir / "bn_side_by_side",
            format="png",
            rankdir="TB",  # each graph top to bottom, so the two sit left and right
            features=[0],
            max_size=SCREEN,
            legend=False,  # the caption says what the colours mean
            precision=3,
        )
        width, height = png_size(png)
        print(
            f"\nboth graphs: {svg} (every feature, each graph flowing left to right, so "
            "one above the other: left and right they would be too wide to read)\n"
            f"and {png} ({width}x{height}, for a screen: feature 0, composite left, fused right)"
        )
    except Exception as err:  # rendering needs the dot program; the numbers above do not
        print(f"\n(graphs not drawn: {err})")
    tensor_result = mg.compare_batchnorm(example_batch((64, 8), seed), engine="tensor", seed=seed)
    print(
        "\ntensor engine, batch (64, 8): max |composite - fused| "
        f"{tensor_result.max_difference:.2e}; times {tensor_result.timing_summary()}"
    )


def train_tensor_mlp(seed: int, epochs: int) -> float:
    print("\n== 2. Tensor engine: MLP 2-16-BN-16-BN-2 on two moons (SGD, lr 0.5) ==")
    from minigrad import nn, optim

    X, y = datasets.make_moons(256, noise=0.15, seed=seed)
    rng = np.random.default_rng(seed)
    model = nn.Sequential(
        nn.Linear(2, 16, rng=rng),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.Linear(16, 16, rng=rng),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.Linear(16, 2, rng=rng),
    )
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    Xt, yt = mg.tensor(X.astype(np.float32)), mg.tensor(y)
    accuracy = 0.0
    for epoch in _progress(range(1, epochs + 1), "tensor MLP", epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 32):
            batch = order[start : start + 32]
            loss = nn.functional.cross_entropy(model(Xt[batch]), yt[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with mg.no_grad():
            logits = model(Xt)
            full_loss = nn.functional.cross_entropy(logits, yt).item()
            accuracy = float((logits.data.argmax(axis=1) == y).mean())
        model.train()
        if epoch % max(1, epochs // 5) == 0 or epoch == epochs:
            _say(f"epoch {epoch:3d}  loss {full_loss:.4f}  accuracy {accuracy:.1%} (eval mode)")
    return accuracy


def train_scalar_mlp(seed: int, epochs: int) -> float:
    print("\n== 3. Scalar engine: micrograd-style MLP 2-16-16-1 on two moons (hinge loss) ==")
    from minigrad.scalar.nn import MLP

    X, y = datasets.make_moons(64, noise=0.1, seed=seed)
    targets = 2.0 * y - 1.0  # classes as -1 / +1 for the max-margin loss
    model = MLP(2, [16, 16, 1], seed=seed)
    params = model.parameters()
    accuracy = 0.0
    for epoch in _progress(range(1, epochs + 1), "scalar MLP", epochs):
        scores = [model(list(map(float, row))) for row in X]
        hinge = mg.value_sum((1 - t * s).relu() for t, s in zip(targets, scores)) / len(X)
        loss = hinge + 1e-4 * mg.value_sum(p * p for p in params)
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * (epoch - 1) / epochs
        for p in params:
            p.data -= lr * p.grad
        accuracy = sum((s.data > 0) == (t > 0) for s, t in zip(scores, targets)) / len(X)
        if epoch % max(1, epochs // 5) == 0 or epoch == epochs:
            line = f"epoch {epoch:3d}  loss {loss.data:.4f}  accuracy {accuracy:.1%}"
            _say(line if not math.isnan(loss.data) else line + "  (diverged)")
    return accuracy


def main(argv: list[str] | None = None) -> int:
    parser = cli_help.parser("python -m minigrad demo", __doc__)
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the pictures")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for the BatchNorm batch, the data and the weights"
    )
    parser.add_argument("--epochs", type=int, default=30, help="training epochs of each MLP")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    batchnorm_both_ways(args.out, args.seed)
    train_tensor_mlp(args.seed, args.epochs)
    train_scalar_mlp(args.seed, args.epochs)
    return 0

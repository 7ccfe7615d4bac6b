"""The scalar engine: a micrograd-style MLP with BatchNorm, trained on two moons.

Every number is its own ``Value``; BatchNorm (``minigrad.scalar.nn.BatchNorm1d``) sits
between each hidden linear layer and its ReLU and normalizes each feature over the
mini-batch, so the network runs on batches (``MLP.forward_batch``) while it trains,
and on one example at a time in eval mode (running statistics).

Trained with micrograd's recipe: max-margin (hinge) loss plus a little L2, plain SGD
with a decaying rate, here on mini-batches of 25 of 100 points.

Printed: training accuracy in eval mode (one example at a time) and the size of one
example's graph. Pictures: the decision boundary, and the graph of one example's
loss (eval mode), every value with its data and gradient.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import _common as common
import numpy as np

import minigrad as mg
from minigrad import datasets
from minigrad.scalar.nn import MLP, BatchNorm1d

N_POINTS = 100
BATCH = 25
WIDTHS = (4, 4, 1)


def hinge_loss(model: MLP, rows: list[list[float]], targets: list[float]) -> mg.Value:
    """mean(relu(1 - y * score)) + 1e-4 * sum(p^2), labels y in {-1, +1}."""
    scores = model.forward_batch(rows)
    margins = mg.value_sum((1 - t * s).relu() for t, s in zip(targets, scores, strict=True))
    return margins / len(rows) + 1e-4 * mg.value_sum(p * p for p in model.parameters())


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0], seeds=1)
    p.add_argument("--epochs", type=int, default=40, help="training epochs")
    args = common.parse(p, argv)
    epochs = 4 if args.quick else args.epochs
    X, y = datasets.make_moons(N_POINTS, noise=0.1, seed=0)
    targets = [2.0 * float(label) - 1.0 for label in y]  # -1 / +1 for the hinge loss
    rows = [[float(a), float(b)] for a, b in X]
    model = MLP(2, list(WIDTHS), seed=0, norm=BatchNorm1d)
    print(f"model: {model}")
    print(f"{len(model.parameters())} parameters; {N_POINTS} moons points, batches of {BATCH}")

    shuffle = random.Random(0)
    order = list(range(N_POINTS))
    steps = epochs * (N_POINTS // BATCH)
    step = 0
    losses = []
    bar = common.progress(range(epochs), "scalar MLP epochs", epochs)
    for _epoch in bar:
        shuffle.shuffle(order)
        for start in range(0, N_POINTS, BATCH):
            idx = order[start : start + BATCH]
            loss = hinge_loss(model, [rows[i] for i in idx], [targets[i] for i in idx])
            model.zero_grad()
            loss.backward()
            lr = 1.0 - 0.9 * step / steps  # micrograd's decaying rate
            for param in model.parameters():
                param.data -= lr * param.grad
            losses.append(loss.data)
            step += 1

    model.eval()  # from here on: running statistics, one example at a time
    with mg.no_grad():
        scores = [model(row).data for row in rows]
    accuracy = float(np.mean([(s > 0) == (t > 0) for s, t in zip(scores, targets, strict=True)]))
    print(
        f"after {epochs} epochs ({steps} steps): last batch loss {losses[-1]:.4f}, "
        f"training accuracy in eval mode {accuracy:.1%}"
    )

    # the decision boundary: the eval-mode score on a grid
    grid = 60 if not args.quick else 20
    xs = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, grid)
    ys = np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, grid)
    with mg.no_grad():
        zz = np.array([[model([float(a), float(b)]).data for a in xs] for b in ys])
    fig, axes = common.figure(ncols=2, width=5.0, height=4.2)
    ax = axes[0]
    ax.contourf(xs, ys, zz > 0, levels=1, colors=["#f4c7c3", "#c6dbef"], alpha=0.8)
    ax.contour(xs, ys, zz, levels=[0.0], colors="black", linewidths=1)
    for label, color, marker in ((0, "#d62728", "o"), (1, "#1f77b4", "s")):
        pts = X[y == label]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            c=color,
            marker=marker,
            edgecolors="black",
            s=25,
            label=f"class {label}",
        )
    ax.set(
        xlabel="x1",
        ylabel="x2",
        title=f"decision boundary, eval mode: {accuracy:.0%} train accuracy",
    )
    ax.legend(loc="lower left")
    axes[1].plot(
        np.arange(1, len(losses) + 1),
        losses,
        color=common.COLORS["with BN"],
        label="mini-batch loss",
    )
    axes[1].set(xlabel="SGD step", ylabel="hinge loss + L2", title="training loss", yscale="log")
    axes[1].legend(loc="upper right")
    fig.suptitle(
        "Scalar engine: a micrograd-style MLP with BatchNorm (2-4-BN-4-BN-1, ReLU) "
        "separates two moons"
    )
    common.save(fig, args, "scalar_moons.png")

    # one example's graph: its loss in eval mode, backpropagated. The example with the
    # smallest margin, so its hinge loss is not 0 and the gradients are not all zero.
    hardest = int(np.argmin([t * s for s, t in zip(scores, targets, strict=True)]))
    example, target = rows[hardest], targets[hardest]
    model.zero_grad()
    score = model(example)
    loss = (1 - target * score).relu()
    loss.label = "loss"
    score.label = "score"
    loss.backward()
    order_ = mg.topological_order([loss])
    print(
        f"one example's graph (point {hardest}, margin {target * score.data:.3f}, loss "
        f"{loss.data:.3f}): {len(order_)} nodes; eval-mode BatchNorm uses running statistics"
    )
    try:
        from minigrad import viz

        picture = viz.draw_graph(loss, names={"score": score, "loss": loss}, precision=3)
        path = viz.render(picture, args.out / "scalar_moons_graph.png")
        print(f"picture: {path}")
        common.gallery_copy(args, path)
    except Exception as err:  # the numbers above stand without the picture
        print(f"(graph not drawn: {err})")
    return {"accuracy": accuracy, "losses": losses, "graph_nodes": len(order_)}


if __name__ == "__main__":
    main()

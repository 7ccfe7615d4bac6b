"""Claim: with BatchNorm, training depends less on the initial scale of the weights.

The seed text: BN "can reduce the dependence of gradients on the scale of the
parameters or of their initial values"; "backpropagation through a layer is unaffected
by the scale of its parameters". The paper's section 3.3 makes it exact: for a scalar
a, BN((aW)u) = BN(Wu), so the Jacobian with respect to the layer input u does not
change, and dL/d(aW) = (1/a) dL/dW: larger weights get *smaller* gradients, which
stabilizes their growth.

Two measurements:

1. The scale invariance itself, in float64, on one Linear+BN layer: the largest
   |BN((aW)u) - BN(Wu)|, the ratio dL/d(aW) / dL/dW against 1/a, and dL/du with and
   without the factor a. (BN's eps, 1e-5, breaks the identity slightly when the
   variance of aWu is not much larger than eps: it shows at a = 0.01.)
2. A sweep of the initial scale: a 64-100-100-100-10 ReLU MLP whose weights start as
   N(0, (a / sqrt(fan_in))^2) for a from 0.01 to 10, trained 300 SGD steps (lr 0.1,
   batches of 60) on the 8x8 digits, with and without BN; test accuracy per scale, and
   each layer's gradient norm at the first step.

What it does not show: that BN makes initialization irrelevant. The output layer is
not normalized, and the 1/a gradient means a *tiny* init gets huge relative updates
(the weights grow until the effective step settles); the sweep shows what that does
within this budget.
"""

from __future__ import annotations

from collections.abc import Sequence

import _common as common
import numpy as np

import minigrad as mg
from minigrad import nn, optim

SIZES = (64, 100, 100, 100, 10)
LEARNING_RATE = 0.1
BATCH = 60


def scale_invariance(scales: Sequence[float], eps: float = 1e-5, seed: int = 0) -> list[dict]:
    """Measure BN((aW)u) = BN(Wu) and dL/d(aW) = dL/dW / a on one layer, float64.

    For each a: the largest output difference, the median over weights of
    a * (dL/d(aW)) / (dL/dW) (1 if the identity holds) and its worst element, and the
    largest change of dL/du relative to dL/du's size."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(32, 20))
    W0 = rng.normal(size=(10, 20))
    upstream = rng.normal(size=(32, 10))  # dL/dy for L = sum(upstream * y)
    bn = nn.BatchNorm1d(10, eps=eps, dtype=np.float64)
    bn.weight.data[...] = 1.0 + 0.5 * rng.normal(size=10)  # gamma, beta not 1 and 0
    bn.bias.data[...] = rng.normal(size=10)

    def layer(a: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        W = mg.Tensor(a * W0, requires_grad=True, dtype=np.float64)
        x = mg.Tensor(u, requires_grad=True, dtype=np.float64)
        y = bn(x @ W.T)
        (y * mg.Tensor(upstream, dtype=np.float64)).sum().backward()
        return y.numpy(), W.grad, x.grad

    y1, gW, gu = layer(1.0)
    rows = []
    for a in scales:
        ya, gaW, gau = layer(a)
        ratio = gaW / gW
        rows.append(
            {
                "a": a,
                "max_output_diff": float(np.abs(ya - y1).max()),
                "a_times_ratio": float(np.median(a * ratio)),
                "grad_ratio_worst": float(np.abs(ratio * a - 1).max()),
                "input_grad_diff": float(np.abs(gau - gu).max() / np.abs(gu).max()),
            }
        )
    return rows


def run(batchnorm: bool, scale: float, seed: int, steps: int, data: tuple) -> dict:
    X_train, y_train, X_test, y_test = data
    net = common.MLP(
        SIZES,
        activation="relu",
        batchnorm=batchnorm,
        init_std=lambda fan_in: scale / np.sqrt(fan_in),
        seed=seed,
    )
    optimizer = optim.SGD(net.parameters(), lr=LEARNING_RATE)
    stream = common.batches(len(X_train), BATCH, np.random.default_rng(1000 + seed))
    grad_norms = None
    for _ in range(steps):
        idx = next(stream)
        common.train_step(net, optimizer, X_train[idx], y_train[idx])
        if grad_norms is None:  # the first step: gradients at initialization
            grad_norms = [float(np.linalg.norm(lin.weight.grad)) for lin in net.linears]
    _, accuracy = common.evaluate(net, X_test, y_test)
    return {"accuracy": accuracy, "grad_norms": np.array(grad_norms)}


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300, help="training steps per run")
    args = common.parse(p, argv)
    scales = [0.01, 1.0, 10.0] if args.quick else [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
    steps = 60 if args.quick else args.steps

    print("1. Scale invariance of one Linear+BN layer (float64, batch 32, 20 -> 10 features)")
    print("   (the identity ignores eps; BN's default eps = 1e-5 shows when var(aWu) is small)")
    header = (
        f"{'a':>6}  {'eps':>6}  {'max|BN(aWu)-BN(Wu)|':>20}  {'a*dL/d(aW) / dL/dW':>19}  "
        f"{'(worst element)':>15}  {'rel. change of dL/du':>20}"
    )
    print(header)
    invariance = {}
    for eps in (1e-5, 1e-12):
        invariance[eps] = scale_invariance([0.01, 0.1, 10.0, 100.0], eps=eps)
        for row in invariance[eps]:
            print(
                f"{row['a']:>6g}  {eps:>6.0e}  {row['max_output_diff']:>20.2e}  "
                f"{row['a_times_ratio']:>19.9f}  {row['grad_ratio_worst']:>15.1e}  "
                f"{row['input_grad_diff']:>20.2e}"
            )

    data = common.digits()
    seeds = range(args.seeds)
    jobs = [
        (name, bn, s) for name, bn in (("without BN", False), ("with BN", True)) for s in scales
    ]
    results: dict = {"without BN": {}, "with BN": {}}
    for name, bn, s in common.progress(jobs, "init-scale sweep", len(jobs)):
        results[name][s] = [run(bn, s, seed, steps, data) for seed in seeds]

    print(
        f"\n2. Init-scale sweep: weights N(0, (a/sqrt(fan_in))^2), 64-100-100-100-10 ReLU MLP, "
        f"SGD lr {LEARNING_RATE}, {steps} steps, seeds {list(seeds)}"
    )
    print(f"{'a':>6} | {'test accuracy, without BN':>36} | {'with BN':>36}")
    summary: dict = {"invariance": invariance}
    for s in scales:
        cells = [common.spread([r["accuracy"] for r in results[n][s]], "{:.2f}") for n in results]
        print(f"{s:>6g} | {cells[0]:>36} | {cells[1]:>36}")
    print("\n|dL/dW| of layers 1-4 at the first step (seed 0):")
    print(f"{'a':>6} | {'without BN':>31} | {'with BN':>31}")
    for s in scales:
        norms = [" ".join(f"{g:.1e}" for g in results[n][s][0]["grad_norms"]) for n in results]
        print(f"{s:>6g} | {norms[0]:>31} | {norms[1]:>31}")
    for name in results:
        accs = [np.mean([r["accuracy"] for r in results[name][s]]) for s in scales]
        good = [s for s, a in zip(scales, accs, strict=True) if a >= 0.8]
        summary[name] = {"accuracy": dict(zip(scales, accs, strict=True)), "good_scales": good}
        print(
            f"{name}: scales with mean test accuracy >= 80%: {good} ({len(good)} of {len(scales)})"
        )

    fig, axes = common.figure(ncols=3, width=4.6, height=3.9)
    for name in results:
        color = common.COLORS[name]
        acc = np.array([[r["accuracy"] for r in results[name][s]] for s in scales])
        axes[0].plot(scales, acc.mean(axis=1), "o-", color=color, label=name)
        axes[0].fill_between(scales, acc.min(axis=1), acc.max(axis=1), color=color, alpha=0.2)
    axes[0].set(
        xscale="log",
        xlabel="initial weight scale a (std = a / sqrt(fan_in))",
        ylabel=f"test accuracy after {steps} steps",
        title="BN trains over a wider range of scales",
        ylim=(0, 1.02),
    )
    axes[0].legend(loc="lower center", title=f"mean, min-max of {len(seeds)} seeds")
    cmap = common.plt.get_cmap("viridis")
    layers = np.arange(1, len(SIZES))
    for ax, name in zip(axes[1:], results, strict=True):
        for k, s in enumerate(scales):
            ax.plot(
                layers,
                results[name][s][0]["grad_norms"],
                "o-",
                color=cmap(k / max(1, len(scales) - 1)),
                label=f"a = {s:g}",
            )
        ax.set(
            yscale="log",
            xlabel="layer (4 = output)",
            ylabel="|dL/dW| at the first step",
            title=f"gradient norms per layer, {name}",
            xticks=layers,
        )

    axes[2].legend(loc="lower left", fontsize=8, title="initial scale (both panels)")
    lo = min(ax.get_ylim()[0] for ax in axes[1:])
    hi = max(ax.get_ylim()[1] for ax in axes[1:])
    for ax in axes[1:]:
        ax.set_ylim(lo, hi)
    fig.suptitle("Less dependence on the initial weight scale (3x100 ReLU MLP on digits)")
    common.save(fig, args, "init_scale.png")
    return summary


if __name__ == "__main__":
    main()

"""Claim: BatchNorm lets networks with saturating nonlinearities (sigmoid) train.

The seed text: "It's possible to use saturating nonlinearities by preventing the network
from getting stuck in the saturated modes with batch normalization." A sigmoid unit is
saturated when its input is far from 0 (here |input| > 4, where sigmoid' < 0.018, a
fourteenth of its peak 0.25): its gradient all but vanishes, and so does learning
through it.

Measured here: a deep sigmoid MLP (7 hidden layers of 64, then 10 logits) on the 8x8
digits, 1,000 SGD steps (lr 0.5, batches of 60), with and without BN before each
sigmoid, from two initializations: the standard N(0, 1/fan_in) and a large
N(0, 8^2/fan_in) that starts many units saturated. Several seeds.

Printed: final test accuracy and training loss, steps to 90% test accuracy, and the
fraction of saturated units per layer at the first step and the last, measured on the
training mini-batch as training sees it (BN in training mode).

What it shows and what it does not: on this data the standard-init network without BN
does not fail by saturation but by *vanishing* gradients (seven sigmoid derivatives,
each at most 1/4, shrink the signal to the first layers); the large-init network
without BN has about half its units saturated, all through training. BN fixes both
here: its units stay out of saturation and it trains from either init. Whether BN
"prevents getting stuck" in general, and whether the paper's "internal covariate
shift" is the mechanism (Santurkar et al. 2018 argue it is not), this one network
does not settle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import _common as common
import numpy as np

from minigrad import optim

SIZES = (64, 64, 64, 64, 64, 64, 64, 64, 10)  # 7 hidden sigmoid layers
LEARNING_RATE = 0.5
BATCH = 60
SATURATED = 4.0
TARGET = 0.90
INITS = {"standard init": 1.0, "large init": 8.0}  # std = gain / sqrt(fan_in)


def saturated_fraction(net: common.MLP, inputs: dict[int, Any]) -> np.ndarray:
    """Per layer, the fraction of (example, unit) pairs with |sigmoid input| > SATURATED."""
    return np.array([np.mean(np.abs(inputs[id(a)].numpy()) > SATURATED) for a in net.activations])


def run(batchnorm: bool, gain: float, seed: int, steps: int, every: int, data: tuple) -> dict:
    """Train one network; every ``every`` steps record the mean training loss since the
    last check, the test accuracy, and the saturation of that step's mini-batch as
    training saw it (in training mode: BN normalizes with the batch's statistics)."""
    X_train, y_train, X_test, y_test = data
    net = common.MLP(
        SIZES,
        activation="sigmoid",
        batchnorm=batchnorm,
        init_std=lambda fan_in: gain / np.sqrt(fan_in),
        seed=seed,
    )
    optimizer = optim.SGD(net.parameters(), lr=LEARNING_RATE)
    stream = common.batches(len(X_train), BATCH, np.random.default_rng(1000 + seed))
    checked, losses, accuracy, saturated = [], [], [], []
    window = []
    for step in range(1, steps + 1):
        idx = next(stream)
        check = step == 1 or step % every == 0
        record = {id(a): None for a in net.activations} if check else None
        window.append(common.train_step(net, optimizer, X_train[idx], y_train[idx], record))
        if check:
            checked.append(step)
            losses.append(float(np.mean(window)))
            window = []
            accuracy.append(common.evaluate(net, X_test, y_test)[1])
            saturated.append(saturated_fraction(net, record))
    return {
        "steps": np.array(checked),
        "loss": np.array(losses),
        "accuracy": np.array(accuracy),
        "saturated": np.array(saturated),
    }


def steps_to(r: dict, target: float) -> float:
    hit = np.nonzero(r["accuracy"] >= target)[0]
    return float(r["steps"][hit[0]]) if len(hit) else float("inf")


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0], seeds=3)
    p.add_argument("--steps", type=int, default=1000, help="training steps per run")
    args = common.parse(p, argv)
    steps = 100 if args.quick else args.steps
    every = 10 if args.quick else 25
    data = common.digits()
    seeds = range(args.seeds)
    conditions = [
        (init, gain, name, bn)
        for init, gain in INITS.items()
        for name, bn in (("without BN", False), ("with BN", True))
    ]
    results: dict = {}
    jobs = [(c, seed) for c in conditions for seed in seeds]
    for (init, gain, name, bn), seed in common.progress(jobs, "deep sigmoid MLPs", len(jobs)):
        results.setdefault((init, name), []).append(run(bn, gain, seed, steps, every, data))

    print(
        f"Deep sigmoid MLP 64-(64x7)-10, SGD lr {LEARNING_RATE}, {steps} steps of {BATCH}, "
        f"seeds {list(seeds)}; saturated: |sigmoid input| > {SATURATED:g}"
    )
    summary: dict = {}
    for (init, name), rs in results.items():
        acc = [r["accuracy"][-1] for r in rs]
        start, end = rs[0]["saturated"][0], rs[0]["saturated"][-1]
        summary[(init, name)] = {
            "accuracy": acc,
            "saturated_end": end,
            "saturated_start": start,
            "steps_to_target": [steps_to(r, TARGET) for r in rs],
        }
        print(f"\n{init}, {name}:")
        print(
            f"  final test accuracy {common.spread(acc)}; final training loss "
            f"{common.spread([r['loss'][-1] for r in rs])}"
        )
        print(
            f"  steps to {TARGET:.0%} test accuracy: "
            f"{common.spread(summary[(init, name)]['steps_to_target'], '{:.0f}')}"
        )
        print(
            f"  saturated fraction per layer (seed 0), start: {np.array2string(start, precision=2)}"
        )
        print(f"                                          end: {np.array2string(end, precision=2)}")

    fig, axes = common.figure(ncols=2, nrows=2, width=5.4, height=3.9)
    styles = {"standard init": "-", "large init": "--"}
    for (init, name), rs in results.items():
        loss = np.array([r["loss"] for r in rs])
        axes[0].plot(
            rs[0]["steps"],
            loss.mean(axis=0),
            styles[init],
            color=common.COLORS[name],
            label=f"{name}, {init}",
        )
        acc = np.array([r["accuracy"] for r in rs])
        axes[1].plot(
            rs[0]["steps"],
            acc.mean(axis=0),
            styles[init],
            color=common.COLORS[name],
            label=f"{name}, {init}",
        )
    axes[0].set(
        xlabel="training step",
        ylabel="training loss",
        yscale="log",
        title=f"training loss (mean of {len(seeds)} seeds)",
    )
    axes[1].set(
        xlabel="training step",
        ylabel="test accuracy",
        ylim=(0, 1.02),
        title=f"test accuracy (mean of {len(seeds)} seeds)",
    )
    for ax in axes[:2]:
        ax.legend(loc="best", fontsize=8)
    cmap = common.plt.get_cmap("viridis")
    for ax, name in zip(axes[2:], ("without BN", "with BN"), strict=True):
        r = results[("large init", name)][0]
        for layer in range(r["saturated"].shape[1]):
            ax.plot(
                r["steps"],
                r["saturated"][:, layer],
                color=cmap(layer / r["saturated"].shape[1]),
                label=f"layer {layer + 1}",
            )
        ax.set(
            xlabel="training step",
            ylabel=f"fraction with |input| > {SATURATED:g}",
            ylim=(-0.02, 1.0),
            title=f"saturated sigmoids per layer, large init, {name}",
        )
        ax.legend(loc="upper right", fontsize=7, ncol=2)
    fig.suptitle(
        "Saturating nonlinearities: with BN a 7-hidden-layer sigmoid MLP trains on digits, "
        "its units out of saturation"
    )
    common.save(fig, args, "saturation.png")
    return summary


if __name__ == "__main__":
    main()

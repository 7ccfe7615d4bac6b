"""Claim: BatchNorm allows higher learning rates.

The seed text: BN "can reduce the dependence of gradients on the scale of the
parameters ... which means we are allowed to use higher learning rates without the
risk of divergence." Measured here: a learning-rate sweep from 0.01 to 30 with plain
SGD (no momentum, no schedule, no clipping) on a 64-100-100-100-10 ReLU MLP (PyTorch's
default initialization) on the 8x8 digits, 400 steps of mini-batches of 60, with and
without BatchNorm before each ReLU, several seeds per rate.

A rate *trains* when every seed ends at >= 80% test accuracy. It *diverged* when in
some seed the loss overflowed (NaN), or a mini-batch loss rose above twice the first
one (about 2 x ln 10: the steps overshoot instead of descending) and the final loss
never came back below 90% of the first (such runs sit at chance level with dead
ReLUs). A run whose loss rose that high but recovered is marked "spiked".

Printed: the final test loss and accuracy per rate, and the largest rate that still
trains, with and without BN.

What it does not show: why. The paper's argument (layer Jacobians that do not grow with
the weights' scale, see ``init_scale.py``) is one explanation; Santurkar et al. (2018)
measure a smoother loss landscape (more predictive gradients) instead of less
"internal covariate shift". Also: one architecture, one data set, one step budget; too
small a rate fails too, for the opposite reason (400 steps are not enough).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import _common as common
import numpy as np

from minigrad import optim

SIZES = (64, 100, 100, 100, 10)
BATCH = 60
TRAINS = 0.80
CHANCE_LOSS = math.log(10)
BLOW_UP = 2.0
CLIP = 10.0  # losses above this (and NaN) are drawn at this line


def run(batchnorm: bool, lr: float, seed: int, steps: int, data: tuple) -> dict:
    X_train, y_train, X_test, y_test = data
    net = common.MLP(SIZES, activation="relu", batchnorm=batchnorm, seed=seed)
    optimizer = optim.SGD(net.parameters(), lr=lr)
    stream = common.batches(len(X_train), BATCH, np.random.default_rng(1000 + seed))
    losses = [
        common.train_step(net, optimizer, *(a[idx] for a in (X_train, y_train)))
        for idx in (next(stream) for _ in range(steps))
    ]
    tail = float(np.mean(losses[-20:]))  # the training loss at the end, smoothed
    test_loss, test_acc = common.evaluate(net, X_test, y_test)  # NaN logits: argmax is class 0
    worst = max((x if math.isfinite(x) else math.inf) for x in losses)
    return {
        "train_loss": tail,
        "first_loss": losses[0],
        "worst_loss": worst,
        "test_loss": test_loss,
        "accuracy": test_acc,
    }


def failure(runs: list[dict]) -> str:
    """How the worst seed at a rate went wrong, if it did.

    * "NaN": the loss overflowed;
    * "diverged": a mini-batch loss rose above ``BLOW_UP`` times the first one and the
      final loss never came back below 90% of the first (it overshot and stayed lost);
    * "spiked": it rose that high but recovered;
    * "": none of these (a rate too small to train in the budget is not a divergence).
    """
    if any(not math.isfinite(r["train_loss"]) for r in runs):
        return "NaN"
    blew_up = [r for r in runs if r["worst_loss"] > BLOW_UP * r["first_loss"]]
    if any(r["train_loss"] >= 0.9 * r["first_loss"] for r in blew_up):
        return "diverged"
    return "spiked" if blew_up else ""


def largest_training_rate(rates: Sequence[float], results: dict) -> float:
    """The largest rate at which every seed reaches ``TRAINS`` test accuracy (nan if none)."""
    good = [lr for lr in rates if all(r["accuracy"] >= TRAINS for r in results[lr])]
    return max(good) if good else float("nan")


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=400, help="training steps per run")
    args = common.parse(p, argv)
    rates = [0.3, 1.0, 3.0] if args.quick else [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
    steps = 150 if args.quick else args.steps
    data = common.digits()
    seeds = range(args.seeds)
    jobs = [
        (name, bn, lr) for name, bn in (("without BN", False), ("with BN", True)) for lr in rates
    ]
    results: dict = {"without BN": {}, "with BN": {}}
    for name, bn, lr in common.progress(jobs, "learning-rate sweep", len(jobs)):
        results[name][lr] = [run(bn, lr, seed, steps, data) for seed in seeds]

    print(
        f"Learning-rate sweep: 64-100-100-100-10 ReLU MLP, SGD, {steps} steps of {BATCH}, "
        f"seeds {list(seeds)}"
    )
    print(
        f"{'rate':>6} | {'without BN: test loss, accuracy':>34} | "
        f"{'with BN: test loss, accuracy':>34}"
    )
    summary: dict = {}
    for name in results:
        summary[name] = largest_training_rate(rates, results[name])
    for lr in rates:
        cells = []
        for name in results:
            rs = results[name][lr]
            loss = np.mean([r["test_loss"] for r in rs])
            acc = [r["accuracy"] for r in rs]
            cells.append(f"{loss:7.3f}  {min(acc):.0%}..{max(acc):.0%}{failure(rs):>10}")
        print(f"{lr:>6g} | {cells[0]:>34} | {cells[1]:>34}")
    for name in results:
        print(
            f"largest rate that trains (every seed >= {TRAINS:.0%} test accuracy), {name}: "
            f"{summary[name]:g}"
        )

    fig, axes = common.figure(ncols=2, width=5.2, height=4.0)
    for name in results:
        color = common.COLORS[name]
        acc = np.array([[r["accuracy"] for r in results[name][lr]] for lr in rates])
        loss = np.array([[r["train_loss"] for r in results[name][lr]] for lr in rates])
        axes[0].plot(rates, acc.mean(axis=1), "o-", color=color, label=name)
        axes[0].fill_between(rates, acc.min(axis=1), acc.max(axis=1), color=color, alpha=0.2)
        # the mean over the seeds; NaN (overflow) and huge losses drawn at the CLIP line
        shown = np.minimum(np.where(np.isfinite(loss), loss, CLIP), CLIP).mean(axis=1)
        axes[1].plot(rates, shown, "o-", color=color, label=name)
        for lr, y in zip(rates, shown, strict=True):
            if failure(results[name][lr]) in ("NaN", "diverged"):
                axes[1].plot([lr], [y], "x", color=color, markersize=12, markeredgewidth=2.5)
    axes[0].axhline(TRAINS, color="gray", linestyle=":", label=f"trains: >= {TRAINS:.0%}")
    axes[0].set(
        xscale="log",
        xlabel="learning rate (SGD)",
        ylabel="test accuracy after training",
        title="Accuracy: BN keeps training at higher rates",
        ylim=(0, 1.02),
    )
    axes[1].axhline(CHANCE_LOSS, color="gray", linestyle=":", label="chance (ln 10)")
    axes[1].axhline(CLIP, color="black", linewidth=0.8, label=f"NaN or > {CLIP:g}, clipped")
    axes[1].plot([], [], "x", color="black", label="diverged (or NaN)")
    axes[1].set(
        xscale="log",
        yscale="log",
        xlabel="learning rate (SGD)",
        ylabel="final training loss (last 20 steps)",
        title="Final training loss; x: diverged",
        ylim=(None, CLIP * 2),
    )
    for ax, what in zip(axes, ("mean, min-max", "mean"), strict=True):
        ax.set_xticks(rates, [f"{lr:g}" for lr in rates])
        ax.minorticks_off()
        ax.legend(loc="best", title=f"{what} of {len(seeds)} seeds")
    fig.suptitle("Higher learning rates: 3x100 ReLU MLP on digits, with and without BatchNorm")
    common.save(fig, args, "learning_rates.png")
    return summary


if __name__ == "__main__":
    main()

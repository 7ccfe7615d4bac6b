"""The paper's Figure 1, on scikit-learn's 8x8 digits instead of MNIST.

Ioffe & Szegedy (2015), section 4.1: a network with 3 fully connected hidden layers of
100 sigmoid units, weights initialized to small random Gaussian values, a 10-way
softmax cross-entropy output, mini-batches of 60, trained with and without BatchNorm
before each sigmoid. Their Figure 1 shows (a) test accuracy against training steps and
(b, c) the 15th, 50th and 85th percentiles of one last-hidden-layer sigmoid's input
over training: without BN the distribution drifts, with BN it stays put.

Here: 1,297 training and 500 test digits (8x8, not 28x28), plain SGD with learning
rate 0.5 for both networks, weights N(0, 0.1^2), 3,000 steps (the paper trained 50,000;
this fits in two minutes and is ~140 epochs of this small training set), several seeds.

Printed: steps to reach 90% test accuracy (per seed), and the drift of the three
percentiles between the first check and the end of training. The panel titles state
what the run's numbers show (a short ``--quick`` run need not show the paper's result).

What this shows and what it does not: BN reaches a given accuracy in far fewer steps,
and the input distribution of a sigmoid moves less. The paper reads the second as the
*reason* for the first ("reducing internal covariate shift"). Santurkar et al. (2018,
"How Does Batch Normalization Help Optimization?") showed that networks with BN train
fast even when noise is injected to make the distribution shift *more*, and argue BN
helps by making the loss smoother. This picture shows the two things happen together,
not that one causes the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import _common as common
import numpy as np

import minigrad as mg
from minigrad import optim

SIZES = (64, 100, 100, 100, 10)
LEARNING_RATE = 0.5
INIT_STD = 0.1
BATCH = 60
TARGET = 0.90
PERCENTILES = (15, 50, 85)


def run(batchnorm: bool, seed: int, steps: int, every: int, data: tuple) -> dict:
    """Train one network, recording over the 500 test images (in eval mode, as deployed:
    BN uses its running statistics):

    * test accuracy every 10 steps for the first 300, then every ``every`` steps (the
      fine start resolves how soon BN gets there);
    * every ``every`` steps, the 15th/50th/85th percentiles of the input of unit 0 of
      the last hidden layer's sigmoid.
    """
    X_train, y_train, X_test, y_test = data
    net = common.MLP(SIZES, activation="sigmoid", batchnorm=batchnorm, init_std=INIT_STD, seed=seed)
    last_sigmoid = net.activations[-1]
    optimizer = optim.SGD(net.parameters(), lr=LEARNING_RATE)
    rng = np.random.default_rng(1000 + seed)
    stream = common.batches(len(X_train), BATCH, rng)
    acc_steps, accuracy, pct_steps, percentiles = [], [], [], []
    label = f"{'with' if batchnorm else 'without'} BN, seed {seed}"
    for step in common.progress(range(1, steps + 1), label, steps):
        idx = next(stream)
        common.train_step(net, optimizer, X_train[idx], y_train[idx])
        if step % every == 0 or (step <= 300 and step % 10 == 0):
            net.eval()
            with mg.no_grad():
                logits, inputs = net.forward(mg.Tensor(X_test), record=[last_sigmoid])
            net.train()
            acc_steps.append(step)
            accuracy.append(float((logits.numpy().argmax(axis=1) == y_test).mean()))
            if step % every == 0:
                pct_steps.append(step)
                percentiles.append(
                    np.percentile(inputs[id(last_sigmoid)].numpy()[:, 0], PERCENTILES)
                )
    return {
        "steps": np.array(acc_steps),
        "accuracy": np.array(accuracy),
        "percentile_steps": np.array(pct_steps),
        "percentiles": np.array(percentiles),
    }


def steps_to(result: dict, target: float) -> float:
    """The first checked step with test accuracy >= target (inf if never)."""
    hit = np.nonzero(result["accuracy"] >= target)[0]
    return float(result["steps"][hit[0]]) if len(hit) else float("inf")


def settled(result: dict) -> np.ndarray:
    """The recorded percentiles after the first 10% of training (rows: checks)."""
    return result["percentiles"][len(result["percentile_steps"]) // 10 :]


def wander(result: dict) -> float:
    """How far the sigmoid's input distribution moved after the first 10% of training:
    the largest range (max - min) of its 15th, 50th or 85th percentile. The measure
    behind panels (b) and (c)."""
    return float(np.ptp(settled(result), axis=0).max())


def panel_titles(summary: dict) -> tuple[str, str, str]:
    """The three panel titles, each stating what this run's numbers show (so a short
    or unlucky run does not claim the paper's result when it did not get it)."""
    with_bn, without = summary["with BN"], summary["without BN"]
    soon, late = np.mean(with_bn["steps_to_target"]), np.mean(without["steps_to_target"])
    target = f"{TARGET:.0%}"
    if np.isinf(soon) and np.isinf(late):
        a = f"(a) neither reaches {target} test accuracy"
    elif np.isinf(late):
        a = f"(a) only BN reaches {target} test accuracy"
    elif soon < late:
        a = f"(a) BN reaches {target} in {late / soon:.1f}x fewer steps"
    elif soon == late:
        a = f"(a) both reach {target} at the same step"
    else:
        a = f"(a) BN reaches {target} later ({soon:.0f} vs {late:.0f} steps)"
    w_bn, w_plain = with_bn["wander"], without["wander"]
    b = f"(b) without BN: percentiles move up to {w_plain:.2f}"
    if w_bn == w_plain:
        c = f"(c) with BN: they move as much ({w_bn:.2f})"
    elif w_bn == 0:
        c = "(c) with BN: they stay put"
    elif w_bn < w_plain:
        c = f"(c) with BN: up to {w_bn:.2f}, {w_plain / w_bn:.1f}x less"
    else:
        c = (
            f"(c) with BN: up to {w_bn:.2f}, {w_bn / w_plain:.1f}x more (this run)"
            if w_plain
            else (f"(c) with BN: up to {w_bn:.2f}, more (this run)")
        )
    return a, b, c


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000, help="training steps per run")
    args = common.parse(p, argv)
    steps = 150 if args.quick else args.steps
    every = 10 if args.quick else 50
    data = common.digits()
    seeds = list(range(args.seeds))
    runs = {
        name: [run(bn, seed, steps, every, data) for seed in seeds]
        for name, bn in (("without BN", False), ("with BN", True))
    }

    print(
        f"Figure 1 on digits: 64-100-100-100-10 sigmoid MLP, SGD lr {LEARNING_RATE}, "
        f"batch {BATCH}, {steps} steps (the paper: 50,000 on MNIST), seeds {seeds}"
    )
    summary: dict = {"steps": steps}
    for name, results in runs.items():
        reach = [steps_to(r, TARGET) for r in results]
        final = [r["accuracy"][-1] for r in results]
        first, last = results[0]["percentiles"][0], results[0]["percentiles"][-1]
        drift = last - first
        summary[name] = {
            "steps_to_target": reach,
            "final_accuracy": final,
            "drift": drift,
            "wander": wander(results[0]),
        }
        print(f"\n{name}:")
        print(
            f"  steps to {TARGET:.0%} test accuracy: {reach} -> " + common.spread(reach, "{:.0f}")
        )
        print(f"  final test accuracy: {common.spread(final)}")
        print(
            "  sigmoid input of one last-layer unit (seed 0), percentiles 15/50/85: "
            f"start {np.array2string(first, precision=2)}, end {np.array2string(last, precision=2)}"
        )
        print(
            f"  drift (end - start): {np.array2string(drift, precision=2)}; "
            "after the first 10% of training, the median's range "
            f"{np.ptp(settled(results[0])[:, 1]):.2f}, "
            f"the largest percentile range {wander(results[0]):.2f}"
        )

    titles = panel_titles(summary)
    fig, axes = common.figure(ncols=3, width=4.6, height=3.8)
    for name, results in runs.items():
        x = results[0]["steps"]
        acc = np.array([r["accuracy"] for r in results])
        axes[0].plot(x, acc.mean(axis=0), color=common.COLORS[name], label=name)
        if len(results) > 1:
            axes[0].fill_between(
                x, acc.min(axis=0), acc.max(axis=0), color=common.COLORS[name], alpha=0.2
            )
    axes[0].axhline(TARGET, color="gray", linestyle=":", label=f"{TARGET:.0%}")
    axes[0].set(
        xlabel="training step",
        ylabel="test accuracy",
        title=titles[0],
        ylim=(0, 1.02),
    )
    axes[0].legend(
        loc="lower right",
        title="one seed" if len(seeds) == 1 else f"mean, min-max of {len(seeds)} seeds",
    )
    for ax, name in zip(axes[1:], ("without BN", "with BN"), strict=True):
        r = runs[name][0]
        for k, q in enumerate(PERCENTILES):
            ax.plot(
                r["percentile_steps"],
                r["percentiles"][:, k],
                color=common.COLORS[name],
                alpha=(0.5, 1.0, 0.5)[k],
                linestyle=("--", "-", "--")[k],
                label=f"{q}th percentile",
            )
        ax.set(xlabel="training step", ylabel="input to one sigmoid (last hidden layer)")
        ax.legend(loc="best")
    axes[1].set_title(titles[1])
    axes[2].set_title(titles[2])
    lo = min(axes[1].get_ylim()[0], axes[2].get_ylim()[0])
    hi = max(axes[1].get_ylim()[1], axes[2].get_ylim()[1])
    axes[1].set_ylim(lo, hi)
    axes[2].set_ylim(lo, hi)
    fig.suptitle("The paper's Figure 1 on 8x8 digits (3x100 sigmoid MLP, mini-batches of 60)")
    common.save(fig, args, "paper_figure1.png")
    summary["titles"] = titles
    return summary


if __name__ == "__main__":
    main()

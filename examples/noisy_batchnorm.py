"""Noisy BatchNorm: inject covariate shift after BN on purpose, and see whether training slows.

The 2015 paper explains BatchNorm by *internal covariate shift*: each layer's input
distribution keeps moving as the layers before it train, and BN steadies it.
Santurkar et al. (NeurIPS 2018, "How Does Batch Normalization Help Optimization?",
section 2.1) tested that: they added random noise with non-zero mean and
non-unit variance after each BN layer, redrawn at every step, so the distributions
move *more* than without BN, and found the network still trains about as fast as
with plain BN and much faster than without BN.

Here, on the 8x8 digits with the network of paper_figure1.py (64-100-100-100-10 sigmoid
MLP, weights N(0, 0.1^2), SGD lr 0.5, batches of 60), three conditions per seed:
without BN, with BN, and "noisy BN": after each BN layer every unit is shifted by
U(-a, a) and scaled by U(1 - b, 1 + b), both redrawn at every training step (the
strength a, b is printed; ``--shift``, ``--spread``). At test time the noise is off (its
mean: no shift, scale 1).

Printed per condition (mean ± std, min..max over seeds): steps to 90% test accuracy,
final test accuracy and training loss, and the drift of the last hidden layer's sigmoid
inputs: how far a unit's median moves between two checks, averaged over its 100 units
and over training (the inputs as training sees them: the step's mini-batch, the step's
noise). The picture shows the curves and, as the paper's Figure 1 does, the 15th, 50th
and 85th percentiles of one unit's input over training, in each condition.

What this can show: whether training speed follows the amount of distribution drift.
What it cannot: the noise moves whole units, a cruder shift than the one training
itself makes; and a sigmoid net on digits is not the paper's VGG on CIFAR-10.
"""

from __future__ import annotations

from collections.abc import Sequence

import _common as common
import _santurkar as s
import numpy as np

from minigrad import optim

CONDITIONS = ("without BN", "with BN", "noisy BN")
COLORS = {**common.COLORS, "noisy BN": "#9467bd"}
TARGET = 0.90
PERCENTILES = (15, 50, 85)


def run(condition: str, seed: int, steps: int, every: int, data: tuple, noise: tuple) -> dict:
    """Train one network. Test accuracy (eval mode) and the mean training loss since the
    last check every 5 steps for the first 200 (the fine start resolves how soon BN gets
    there), then every ``every`` steps; every ``every`` steps also the last hidden
    layer's sigmoid inputs on that step's mini-batch: per unit the median, and unit 0's
    three percentiles."""
    X_train, y_train, X_test, y_test = data
    net = s.network(condition, seed, noise)
    last_sigmoid = net.activations[-1]
    optimizer = optim.SGD(net.parameters(), lr=s.LEARNING_RATE)
    stream = common.batches(len(X_train), s.BATCH, np.random.default_rng(1000 + seed))
    checked, losses, accuracy, drift_steps, medians, unit0 = [], [], [], [], [], []
    window: list[float] = []
    for step in range(1, steps + 1):
        idx = next(stream)
        look = step % every == 0
        record = {id(last_sigmoid): None} if look else None
        window.append(common.train_step(net, optimizer, X_train[idx], y_train[idx], record))
        if look or (step <= 200 and step % 5 == 0):
            checked.append(step)
            losses.append(float(np.mean(window)))
            window = []
            accuracy.append(common.evaluate(net, X_test, y_test)[1])
        if look:
            z = record[id(last_sigmoid)].numpy()  # (batch, 100) sigmoid inputs
            drift_steps.append(step)
            medians.append(np.median(z, axis=0))
            unit0.append(np.percentile(z[:, 0], PERCENTILES))
    return {
        "steps": np.array(checked),
        "loss": np.array(losses),
        "accuracy": np.array(accuracy),
        "drift_steps": np.array(drift_steps),
        "unit0": np.array(unit0),
        # how far a unit's median moves between consecutive looks, over units and time
        "drift": float(np.mean(np.abs(np.diff(np.array(medians), axis=0)))),
    }


def steps_to(r: dict, target: float) -> float:
    hit = np.nonzero(r["accuracy"] >= target)[0]
    return float(r["steps"][hit[0]]) if len(hit) else float("inf")


def when(a: Sequence[float], b: Sequence[float], other: str) -> str:
    """Steps to the target, a against b, seed by seed, in words."""
    if np.array_equal(a, b):
        return f"at the same check as {other} in every seed (checks every 5 steps at first)"
    sign = s.always(a, b)
    if sign == 0:
        return f"neither sooner nor later than {other} in every seed"
    return f"{'sooner' if sign < 0 else 'later'} than {other} in every seed"


def conclusions(summary: dict) -> list[str]:
    """Plain sentences, each direction computed from the per-seed numbers."""
    plain, bn, noisy = (summary[c] for c in CONDITIONS)
    out = [
        f"Drift with plain BN is {s.ratio(bn['drift'], plain['drift'])} the drift without BN "
        f"({s.per_seed(bn['drift'], plain['drift'])}): measured this way (a unit's median "
        "on the training mini-batch), "
        + (
            "BN does steady the inputs, as the 2015 paper says."
            if s.always(bn["drift"], plain["drift"]) == -1
            else "BN does not reliably steady the inputs here."
        ),
        f"With the injected noise a unit's median moves {s.ratio(noisy['drift'], bn['drift'])} "
        f"as far as with plain BN ({s.per_seed(noisy['drift'], bn['drift'])}) and "
        f"{s.ratio(noisy['drift'], plain['drift'])} as far as without BN "
        f"({s.per_seed(noisy['drift'], plain['drift'])}).",
    ]
    speed = s.always(noisy["steps_to_target"], plain["steps_to_target"])
    steps = {c: common.spread(summary[c]["steps_to_target"], "{:.0f}") for c in CONDITIONS}
    out.append(
        f"Steps to {TARGET:.0%} test accuracy: noisy BN {steps['noisy BN']}, plain BN "
        f"{steps['with BN']}, without BN {steps['without BN']}. Noisy BN got there "
        f"{when(noisy['steps_to_target'], plain['steps_to_target'], 'without BN')}, and "
        f"{when(noisy['steps_to_target'], bn['steps_to_target'], 'plain BN')}."
    )
    out.append(
        f"Final training loss: noisy BN's is {s.ratio(noisy['final_loss'], bn['final_loss'])} "
        f"plain BN's ({s.per_seed(noisy['final_loss'], bn['final_loss'])}) and "
        f"{s.ratio(noisy['final_loss'], plain['final_loss'])} the loss without BN "
        f"({s.per_seed(noisy['final_loss'], plain['final_loss'])})."
    )
    more_drift = (
        s.always(noisy["drift"], bn["drift"]) == 1 and s.always(noisy["drift"], plain["drift"]) == 1
    )
    if more_drift and speed == -1:
        out.append(
            "So here, as in Santurkar et al., more distribution drift did not cost the speed "
            "BN brings: steadier inputs are not what made the BN network fast."
        )
    elif more_drift:
        out.append(
            "So here the noisy network drifts more and is not reliably faster than the plain "
            "one: this run does not reproduce Santurkar et al.'s finding."
        )
    else:
        out.append(
            "The injected noise did not make the units drift more than in both other "
            "networks in every seed, so this run cannot test the claim; raise --shift."
        )
    out.append(
        "Not shown: that smoothness is the reason instead (see loss_smoothness.py), nor "
        "anything about deep convolutional networks; one architecture, one small data set."
    )
    return out


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0], seeds=5)
    p.add_argument("--steps", type=int, default=3000, help="training steps per run")
    p.add_argument("--shift", type=float, default=1.0, help="noise: shift ~ U(-shift, shift)")
    p.add_argument(
        "--spread", type=float, default=0.5, help="noise: scale ~ U(1 - spread, 1 + spread)"
    )
    args = common.parse(p, argv)
    steps = 200 if args.quick else args.steps
    every = 10 if args.quick else 25
    data = common.digits()
    seeds = list(range(args.seeds))
    noise = (args.shift, args.spread)
    jobs = [(c, seed) for c in CONDITIONS for seed in seeds]
    results: dict = {c: [] for c in CONDITIONS}
    for c, seed in common.progress(jobs, "noisy BN", len(jobs)):
        results[c].append(run(c, seed, steps, every, data, noise))

    print(
        f"Noisy BatchNorm on digits: 64-100-100-100-10 sigmoid MLP, SGD lr {s.LEARNING_RATE}, "
        f"batch {s.BATCH}, {steps} steps, seeds {seeds}\n"
        f"noise after each BN layer, redrawn every training step, per unit: "
        f"shift ~ U(-{args.shift:g}, {args.shift:g}), scale ~ U({1 - args.spread:g}, "
        f"{1 + args.spread:g}) (off at test time)"
    )
    summary: dict = {"steps": steps, "noise": noise}
    for c in CONDITIONS:
        rs = results[c]
        summary[c] = {
            "steps_to_target": [steps_to(r, TARGET) for r in rs],
            "final_accuracy": [float(r["accuracy"][-1]) for r in rs],
            "final_loss": [float(r["loss"][-1]) for r in rs],
            "drift": [r["drift"] for r in rs],
        }
        print(f"\n{c}:")
        print(
            f"  steps to {TARGET:.0%} test accuracy: "
            f"{common.spread(summary[c]['steps_to_target'], '{:.0f}')}"
        )
        print(f"  final test accuracy: {common.spread(summary[c]['final_accuracy'])}")
        print(f"  final training loss: {common.spread(summary[c]['final_loss'], '{:.4f}')}")
        print(
            "  drift of the last hidden layer's sigmoid inputs (mean |change of a unit's "
            f"median| per {every} steps): {common.spread(summary[c]['drift'])}"
        )
    summary["conclusions"] = conclusions(summary)
    print("\nWhat this supports and what it does not:")
    for line in summary["conclusions"]:
        print(f"  {line}")
    print(f"Reference: {s.REFERENCE}")

    fig, axes = common.figure(ncols=3, nrows=2, width=4.6, height=3.6)
    x = results[CONDITIONS[0]][0]["steps"]
    for c in CONDITIONS:
        s.band(axes[0], x, s.lines(results, c, "loss"), COLORS[c], c)
        s.band(axes[1], x, s.lines(results, c, "accuracy"), COLORS[c], c)
    axes[0].set(xlabel="training step", ylabel="training loss", yscale="log")
    axes[0].set_title("(a) training loss")
    axes[1].axhline(TARGET, color="gray", linestyle=":")
    axes[1].set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1.02))
    axes[1].set_title("(b) test accuracy")
    for ax in axes[:2]:
        ax.legend(loc="best", fontsize=8, title=f"mean, min-max of {len(seeds)} seeds")
    drift = {c: np.mean(summary[c]["drift"]) for c in CONDITIONS}
    axes[2].bar(range(3), [drift[c] for c in CONDITIONS], color=[COLORS[c] for c in CONDITIONS])
    for i, c in enumerate(CONDITIONS):
        axes[2].plot([i] * len(seeds), summary[c]["drift"], "k.", markersize=5)
    axes[2].set_xticks(range(3), CONDITIONS)
    axes[2].set(ylabel=f"mean |change of a unit's median| per {every} steps")
    axes[2].set_title("(c) drift of the last hidden layer's inputs\n(bars: mean; dots: seeds)")
    for ax, c in zip(axes[3:], CONDITIONS, strict=True):
        r = results[c][0]
        for k, q in enumerate(PERCENTILES):
            ax.plot(
                r["drift_steps"],
                r["unit0"][:, k],
                color=COLORS[c],
                alpha=(0.5, 1.0, 0.5)[k],
                linestyle=("--", "-", "--")[k],
                linewidth=0.8,
                label=f"{q}th percentile",
            )
        ax.set(xlabel="training step", ylabel="input to one sigmoid (last hidden layer)")
        ax.set_title(f"({'def'[CONDITIONS.index(c)]}) {c}, seed 0")
        ax.legend(loc="upper right", fontsize=7)
    lo = min(ax.get_ylim()[0] for ax in axes[3:])
    hi = max(ax.get_ylim()[1] for ax in axes[3:])
    for ax in axes[3:]:
        ax.set_ylim(lo, hi)
    faster = s.always(
        summary["noisy BN"]["steps_to_target"], summary["without BN"]["steps_to_target"]
    )
    drifts_more = s.always(summary["noisy BN"]["drift"], summary["with BN"]["drift"])
    fig.suptitle(
        "Noisy BN: inputs drift "
        + {1: "more", -1: "less", 0: "about as much"}[drifts_more]
        + " than with BN, and it trains "
        + {-1: "faster", 1: "slower", 0: "neither faster nor slower"}[faster]
        + f" than without BN (digits, {len(seeds)} seeds)"
    )
    common.save(fig, args, "noisy_batchnorm.png")
    return summary


if __name__ == "__main__":
    main()

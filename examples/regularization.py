"""Claim: BatchNorm regularizes (and reduces the need for Dropout).

The seed text: BN "can regularize the model and then reduce the need for Dropout
layers". The paper's reason: in training, each example is normalized with statistics
of the *other* examples in its mini-batch, so the network sees a slightly different,
noisy version of every example each time, which discourages memorizing.

Measured here: a small training set (200 of the 8x8 digits, about 20 per class; the
500 test images as always), a 64-100-100-10 ReLU MLP trained long enough to fit the
training set (2,000 SGD steps, lr 0.1, batches of 32), three ways: plain, with BN
before each ReLU, and with Dropout(0.3) after each ReLU (no BN). Several seeds.

Printed: train accuracy, test accuracy and the train/test gap for each, with the
spread over seeds, and the difference of each from the plain network.

What we measured (full run): every network fits the 200 images perfectly; BN's test
accuracy is about 4 points higher than the plain network's and its gap that much
smaller, in every one of 5 seeds; dropout lands in between. What it does not show:
that the gain is *regularization*. BN also changes the optimization (its test accuracy
is ahead from the first hundred steps, before anything is memorized), and this
experiment does not separate the two; nor does one small data set and one small
network say how large the effect is elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import _common as common
import numpy as np

from minigrad import optim

SIZES = (64, 100, 100, 10)
N_TRAIN = 200
BATCH = 32
LEARNING_RATE = 0.1
DROPOUT = 0.3
CONDITIONS = {
    "without BN": {"batchnorm": False},
    "with BN": {"batchnorm": True},
    "with dropout": {"dropout": DROPOUT},
}


def run(options: dict, seed: int, steps: int, every: int, data: tuple) -> dict:
    X_train, y_train, X_test, y_test = data
    net = common.MLP(SIZES, activation="relu", seed=seed, **options)
    optimizer = optim.SGD(net.parameters(), lr=LEARNING_RATE)
    stream = common.batches(len(X_train), BATCH, np.random.default_rng(1000 + seed))
    checked, test_curve = [], []
    for step in range(1, steps + 1):
        idx = next(stream)
        common.train_step(net, optimizer, X_train[idx], y_train[idx])
        if step % every == 0:
            checked.append(step)
            test_curve.append(common.evaluate(net, X_test, y_test)[1])
    train_loss, train_acc = common.evaluate(net, X_train, y_train)
    test_loss, test_acc = common.evaluate(net, X_test, y_test)
    return {
        "train": train_acc,
        "test": test_acc,
        "gap": train_acc - test_acc,
        "train_loss": train_loss,
        "test_loss": test_loss,
        "steps": np.array(checked),
        "curve": np.array(test_curve),
    }


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0], seeds=5)
    p.add_argument("--steps", type=int, default=2000, help="training steps per run")
    args = common.parse(p, argv)
    steps = 150 if args.quick else args.steps
    every = 25 if args.quick else 100
    data = common.digits(n_train=N_TRAIN)
    seeds = range(args.seeds)
    jobs = [(name, seed) for name in CONDITIONS for seed in seeds]
    results: dict = {name: [] for name in CONDITIONS}
    for name, seed in common.progress(jobs, "regularization", len(jobs)):
        results[name].append(run(CONDITIONS[name], seed, steps, every, data))

    print(
        f"Regularization: {N_TRAIN} training digits, 500 test digits, 64-100-100-10 ReLU MLP, "
        f"SGD lr {LEARNING_RATE}, {steps} steps of {BATCH}, seeds {list(seeds)}"
    )
    summary: dict = {}
    plain_test = np.array([r["test"] for r in results["without BN"]])
    for name, rs in results.items():
        test = np.array([r["test"] for r in rs])
        summary[name] = {k: [r[k] for r in rs] for k in ("train", "test", "gap", "test_loss")}
        print(f"\n{name}:")
        print(f"  train accuracy  {common.spread([r['train'] for r in rs])}")
        print(f"  test accuracy   {common.spread(test)}")
        print(f"  train-test gap  {common.spread([r['gap'] for r in rs])}")
        print(f"  test loss       {common.spread([r['test_loss'] for r in rs])}")
        if name != "without BN":  # same seeds, same batches: a paired difference
            print(
                f"  test accuracy minus the plain network's, per seed: "
                f"{common.spread(test - plain_test)}"
            )

    fig, axes = common.figure(ncols=2, width=5.2, height=4.0)
    for name, rs in results.items():
        color = common.COLORS[name]
        curves = np.array([r["curve"] for r in rs])
        axes[0].plot(rs[0]["steps"], curves.mean(axis=0), color=color, label=name)
        axes[0].fill_between(
            rs[0]["steps"], curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.15
        )
    axes[0].set(
        xlabel="training step",
        ylabel="test accuracy",
        title=f"Test accuracy, {N_TRAIN} training digits",
    )
    axes[0].legend(loc="lower right", title=f"mean, min-max of {len(seeds)} seeds")
    names = list(results)
    width = 0.38
    for k, (what, shade) in enumerate((("train", 1.0), ("test", 0.55))):
        for i, name in enumerate(names):
            values = np.array(summary[name][what])
            x = i + (k - 0.5) * width
            axes[1].bar(
                x,
                values.mean(),
                width,
                color=common.COLORS[name],
                alpha=shade,
                label=what if i == 0 else None,
                edgecolor="black",
            )
            axes[1].plot(np.full(len(values), x), values, "k.", markersize=4)
        # the gap, written above each pair of bars
    for i, name in enumerate(names):
        gap = np.mean(summary[name]["gap"])
        axes[1].text(i, 1.025, f"gap {gap:.3f}", ha="center", fontsize=9)
    axes[1].set(
        xticks=range(len(names)),
        xticklabels=names,
        ylabel="accuracy (dots: seeds)",
        title="Train (dark) vs test (light): the gap",
        ylim=(0.5, 1.08),
    )
    axes[1].legend(loc="lower right")
    fig.suptitle("Regularization: does BN shrink the train/test gap like dropout? (small data)")
    common.save(fig, args, "regularization.png")
    return summary


if __name__ == "__main__":
    main()

"""Claim: BatchNorm keeps running statistics so that inference does not need a batch.

In training, BN normalizes with the mini-batch's own mean and variance, so one
example's output depends on the other examples in its batch. For inference the paper
(Algorithm 2) replaces them with population statistics, which ``BatchNorm1d`` keeps as
running averages during training (``running = (1 - momentum) * running + momentum *
batch_stat``) and uses in ``eval()`` mode. Then the network is a fixed function of
each example.

Measured here, on a 64-100-100-10 ReLU MLP with BN trained on the 8x8 digits:

1. test accuracy in eval mode on the whole test set, and one example at a time (the
   same predictions: the outputs do not depend on the batch);
2. what goes wrong if one forgets ``eval()``: test accuracy with batch statistics on
   random batches of 500, 64, 16, 4 and 2 examples; a batch of one example (an error
   in training mode); a batch holding a single digit class, where the batch mean
   *is* the class's signature and normalizing removes it; and that the forgotten
   ``eval()`` silently rewrites the running statistics with test data;
3. momentum: how fast the running mean and variance of a fresh BN layer, fed the
   trained network's first-layer pre-activations, converge to the training set's
   statistics, for momentum 0.01, 0.1, 0.5 and None (a cumulative average).

What it does not show: that the running statistics are the best choice in every
case (with a small momentum they lag behind the weights early in training; the
paper's Algorithm 2 recomputes population statistics after training instead).
"""

from __future__ import annotations

from collections.abc import Sequence

import _common as common
import numpy as np

import minigrad as mg
from minigrad import nn, optim

SIZES = (64, 100, 100, 10)
BATCH = 60
LEARNING_RATE = 0.1
BATCH_SIZES = (500, 64, 16, 4, 2)
MOMENTA = (0.01, 0.1, 0.5, None)


def train(steps: int, data: tuple, seed: int = 0) -> common.MLP:
    X_train, y_train, _, _ = data
    net = common.MLP(SIZES, activation="relu", batchnorm=True, seed=seed)
    optimizer = optim.SGD(net.parameters(), lr=LEARNING_RATE)
    stream = common.batches(len(X_train), BATCH, np.random.default_rng(1000 + seed))
    for _ in common.progress(range(steps), "training with BN", steps):
        idx = next(stream)
        common.train_step(net, optimizer, X_train[idx], y_train[idx])
    return net


def predict(net: common.MLP, X: np.ndarray, training: bool) -> np.ndarray:
    """Logits for one batch, in training mode (batch statistics) or eval mode (running)."""
    net.train() if training else net.eval()
    with mg.no_grad():
        logits = net(mg.Tensor(X)).numpy()
    net.train()
    return logits


def batch_size_accuracy(net: common.MLP, X: np.ndarray, y: np.ndarray, size: int) -> float:
    """Accuracy with batch statistics over random batches of ``size`` test examples."""
    order = np.random.default_rng(0).permutation(len(X))
    correct = 0
    n = len(X) - len(X) % size
    for start in range(0, n, size):
        idx = order[start : start + size]
        correct += int((predict(net, X[idx], training=True).argmax(axis=1) == y[idx]).sum())
    return correct / n


def momentum_convergence(net: common.MLP, X: np.ndarray, batches: int) -> dict:
    """Feed a fresh BN layer the first layer's pre-activations of random training batches;
    track how far its running mean and variance are from the training set's.

    Errors per feature in units of the feature's standard deviation (mean) and as a
    relative error (variance), averaged over the features."""
    first = net.linears[0]
    with mg.no_grad():
        h = first(mg.Tensor(X)).numpy()
    mu, var = h.mean(axis=0), h.var(axis=0)
    sigma = np.sqrt(var) + 1e-8
    curves = {}
    for momentum in MOMENTA:
        bn = nn.BatchNorm1d(h.shape[1], momentum=momentum)
        rng = np.random.default_rng(7)
        mean_err, var_err = [], []
        for _ in range(batches):
            idx = rng.choice(len(h), size=BATCH, replace=False)
            with mg.no_grad():
                bn(mg.Tensor(h[idx]))
            mean_err.append(float(np.mean(np.abs(bn.running_mean.numpy() - mu) / sigma)))
            var_err.append(float(np.mean(np.abs(bn.running_var.numpy() / (var + 1e-8) - 1))))
        curves[momentum] = (np.array(mean_err), np.array(var_err))
    return curves


def first_within(errors: np.ndarray, tolerance: float) -> str:
    """The first batch count at which ``errors`` is within ``tolerance``, or "never"."""
    hit = np.nonzero(errors <= tolerance)[0]
    return f"{hit[0] + 1}" if len(hit) else "never"


def within_phrase(what: str, errors: np.ndarray, tolerance: float, shown: str) -> str:
    """``mean within 0.1 std after 12 batches`` or ``mean not within 0.1 std in 60
    batches``: a sentence that reads right whatever the outcome."""
    when = first_within(errors, tolerance)
    if when == "never":
        return f"{what} not within {shown} in {len(errors)} batches"
    return f"{what} within {shown} after {when} batch{'' if when == '1' else 'es'}"


def momentum_title(summary: dict) -> str:
    """The running-mean panel's title, stating what this run shows about momentum 0.5
    against 0.1: sooner (fewer batches to 0.1 std) and noisier (a higher floor)?"""
    fast, slow = summary[0.5], summary[0.1]
    never = fast["batches"] + 1
    sooner = (int(fast["within_10pct"]) if fast["within_10pct"] != "never" else never) < (
        int(slow["within_10pct"]) if slow["within_10pct"] != "never" else never
    )
    noisier = fast["floor"] > slow["floor"]
    if sooner and noisier:
        return "running mean: momentum 0.5 is sooner, 0.1 less noisy"
    if sooner:
        return "running mean: momentum 0.5 is sooner and as close as 0.1"
    if noisier:
        return "running mean: momentum 0.5 is noisier, and not sooner than 0.1"
    return "running mean: momentum 0.5 vs 0.1 (no trade-off in this run)"


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0], seeds=1)
    p.add_argument("--steps", type=int, default=1000, help="training steps")
    args = common.parse(p, argv)
    steps = 100 if args.quick else args.steps
    stat_batches = 60 if args.quick else 400
    data = common.digits()
    X_train, _, X_test, y_test = data
    net = train(steps, data)
    summary: dict = {}

    print(
        f"A 64-100-100-10 ReLU MLP with BN, {steps} SGD steps (lr {LEARNING_RATE}, batch {BATCH})."
    )
    logits = predict(net, X_test, training=False)
    eval_acc = float((logits.argmax(axis=1) == y_test).mean())
    single = np.concatenate(
        [predict(net, X_test[i : i + 1], training=False) for i in range(len(X_test))]
    )
    single_acc = float((single.argmax(axis=1) == y_test).mean())
    summary["eval"], summary["eval_single"] = eval_acc, single_acc
    summary["single_vs_batch"] = float(np.abs(single - logits).max())
    print("\n1. eval() mode: BN uses its running statistics")
    print(f"  test accuracy, all 500 at once:   {eval_acc:.3f}")
    print(
        f"  test accuracy, one at a time:     {single_acc:.3f}  "
        f"(largest logit difference {summary['single_vs_batch']:.1e})"
    )

    print("\n2. forgetting eval(): BN uses each test batch's own statistics")
    before = net.model.state_dict()  # copies of every array, to restore below
    summary["train_mode"] = {}
    for size in BATCH_SIZES:
        acc = batch_size_accuracy(net, X_test, y_test, size)
        summary["train_mode"][size] = acc
        print(f"  batches of {size:>3}: test accuracy {acc:.3f}")
    try:
        predict(net, X_test[:1], training=True)
        print("  a batch of 1: (no error)")
    except ValueError as err:
        print(f"  a batch of 1: ValueError: {err}")
    digit = 3
    only = y_test == digit
    one_class_train = float(
        (predict(net, X_test[only], training=True).argmax(axis=1) == digit).mean()
    )
    one_class_eval = float(
        (predict(net, X_test[only], training=False).argmax(axis=1) == digit).mean()
    )
    summary["one_class"] = (one_class_train, one_class_eval)
    print(
        f"  a batch of only {digit}s ({only.sum()} images): accuracy {one_class_train:.3f} with "
        f"batch statistics, {one_class_eval:.3f} in eval mode"
    )
    after = net.model.state_dict()
    moved = [
        k for k in before if k.endswith("running_mean") and not np.array_equal(before[k], after[k])
    ]
    drift = max(float(np.abs(after[k] - before[k]).max()) for k in moved) if moved else 0.0
    print(
        f"  and the forgotten eval() rewrote the running statistics with test data: "
        f"{len(moved)} running_mean buffers changed, by up to {drift:.3f}"
    )
    net.model.load_state_dict(before)
    restored = common.evaluate(net, X_test, y_test)[1]
    print(f"  (restored from the saved state_dict: eval accuracy {restored:.3f} again)")
    summary["rewritten_buffers"] = len(moved)

    print(
        f"\n3. momentum: a fresh BN layer fed {stat_batches} batches of {BATCH} first-layer "
        "pre-activations"
    )
    curves = momentum_convergence(net, X_train, stat_batches)
    summary["momentum"] = {}
    for momentum, (mean_err, var_err) in curves.items():
        name = "None (cumulative)" if momentum is None else f"{momentum:g}"
        floor = float(np.mean(mean_err[-len(mean_err) // 4 :]))
        summary["momentum"][momentum] = {
            "within_10pct": first_within(mean_err, 0.1),
            "floor": floor,
            "batches": len(mean_err),
        }
        print(
            f"  momentum {name:>17}: {within_phrase('mean', mean_err, 0.1, '0.1 std')}, "
            f"{within_phrase('variance', var_err, 0.1, '10%')}; "
            f"error over the last quarter: mean {floor:.3f} std, variance "
            f"{np.mean(var_err[-len(var_err) // 4 :]):.3f}"
        )

    fig, axes = common.figure(ncols=3, width=5.2, height=4.2)
    labels = [
        "eval,\nall",
        "eval,\none by one",
        *[f"train,\n{s}" for s in BATCH_SIZES],
        f"train,\nonly {digit}s",
        f"eval,\nonly {digit}s",
    ]
    values = [
        eval_acc,
        single_acc,
        *summary["train_mode"].values(),
        one_class_train,
        one_class_eval,
    ]
    colors = ["#1f77b4", "#1f77b4", *["#ff7f0e"] * len(BATCH_SIZES), "#ff7f0e", "#1f77b4"]
    axes[0].bar(range(len(values)), values, color=colors, edgecolor="black")
    axes[0].set_xticks(range(len(values)), labels, fontsize=7)
    axes[0].set(
        ylabel="test accuracy",
        xlabel="mode, test batch (eval: running stats; train: the batch's own)",
        ylim=(0, 1.05),
        title="eval() (blue) vs batch statistics (orange)",
    )
    palette = ["#440154", "#3b528b", "#21918c", "#e08214"]  # one per momentum
    for k, (momentum, (mean_err, var_err)) in enumerate(curves.items()):
        color = palette[k]
        name = "None (cumulative)" if momentum is None else f"{momentum:g}"
        x = np.arange(1, len(mean_err) + 1)
        axes[1].plot(x, mean_err, color=color, label=f"momentum {name}")
        axes[2].plot(x, var_err, color=color, label=f"momentum {name}")
    axes[1].set(
        xscale="log",
        yscale="log",
        xlabel="batches seen",
        ylabel="|running mean - mean| / std",
        title=momentum_title(summary["momentum"]),
    )
    axes[2].set(
        xscale="log",
        yscale="log",
        xlabel="batches seen",
        ylabel="|running var / var - 1|",
        title="running variance (errors: mean over features)",
    )
    for ax in axes[1:]:
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle("Running statistics for inference: use eval(), and how momentum matters")
    common.save(fig, args, "running_stats.png")
    return summary


if __name__ == "__main__":
    main()

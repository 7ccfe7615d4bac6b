"""Loss landscape smoothness along the gradient, with and without BN.

Santurkar et al. (NeurIPS 2018, "How Does Batch Normalization Help Optimization?",
section 3.1) propose that BN helps because it makes the loss landscape
smoother: at points along training they step along the gradient with a range of step
sizes and measure (a) the variation of the loss, (b) "gradient predictiveness", the l2
change of the gradient from the one at the start, and (c) an "effective beta-smoothness",
the largest gradient change per unit of distance moved. All three were smaller with BN.

Here: the network of paper_figure1.py (64-100-100-100-10 sigmoid MLP, weights N(0, 0.1^2),
SGD lr 0.5, batches of 60) on the 8x8 digits, with and without BN before each sigmoid,
each trained on its own trajectory. Every few steps, on the mini-batch the step is about
to train on (BN in training mode, as the step sees it), with x the parameters and
g = grad L(x): for each step size eta in STEP_SIZES, the loss L(x - eta g) and the
gradient change ||grad L(x - eta g) - g||. Per check we keep

* loss range: max - min of L over the step sizes (the spread of the loss);
* gradient change: its min and max over the step sizes;
* beta: max over eta of ||grad L(x - eta g) - g|| / ||eta g||.

The network is put back (running statistics too) before the step is taken.
Printed per condition (mean over checks, then mean ± std over seeds), and the picture.

What this can show: whether BN's loss changes less, and its gradient more predictably,
along the direction SGD moves, in this network. What it cannot: that this is *why* BN
trains faster; and the raw numbers depend on each network's own gradient size (a
smaller gradient moves less for the same eta), which beta divides out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import _common as common
import _santurkar as s
import numpy as np

from minigrad import optim

CONDITIONS = ("without BN", "with BN")
STEP_SIZES = s.LEARNING_RATE * 2.0 ** np.arange(-2, 3)  # lr/4 .. 4 lr


def along_gradient(net: common.MLP, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Step along the gradient with each of STEP_SIZES from the current parameters; the
    loss range, the min and max gradient change, and beta. Leaves the network as it was."""
    params = net.parameters()
    with s.kept_state(net):
        loss0, grads = s.loss_and_grads(net, X, y)
        g0 = s.flat(grads)
        original = [p.data.copy() for p in params]
        losses, changes, betas = [loss0], [], []
        for eta in STEP_SIZES:
            for p, x, g in zip(params, original, grads, strict=True):
                p.data[...] = x - eta * g
            loss, moved = s.loss_and_grads(net, X, y)
            change = float(np.linalg.norm(s.flat(moved) - g0))
            losses.append(loss)
            changes.append(change)
            betas.append(change / (eta * float(np.linalg.norm(g0))))
    return {
        "loss_range": float(np.ptp(losses)),
        "grad_change_min": min(changes),
        "grad_change_max": max(changes),
        "beta": max(betas),
        "grad_norm": float(np.linalg.norm(g0)),
        "loss": loss0,
    }


def run(condition: str, seed: int, steps: int, every: int, data: tuple) -> dict:
    """Train one network; every ``every`` steps (and at step 1) probe the landscape on the
    step's batch before taking the step. Returns one array per quantity, over checks."""
    X_train, y_train, X_test, y_test = data
    net = s.network(condition, seed)
    optimizer = optim.SGD(net.parameters(), lr=s.LEARNING_RATE)
    stream = common.batches(len(X_train), s.BATCH, np.random.default_rng(1000 + seed))
    checked: list[int] = []
    probes: list[dict[str, float]] = []
    for step in range(1, steps + 1):
        idx = next(stream)
        if step == 1 or step % every == 0:
            checked.append(step)
            probes.append(along_gradient(net, X_train[idx], y_train[idx]))
        common.train_step(net, optimizer, X_train[idx], y_train[idx])
    result = {k: np.array([pr[k] for pr in probes]) for k in probes[0]}
    result["steps"] = np.array(checked)
    result["accuracy"] = common.evaluate(net, X_test, y_test)[1]
    return result


QUANTITIES = {
    "loss_range": "loss range over the step sizes",
    "grad_change_max": "largest gradient change ||g(x - eta g) - g||",
    "beta": "effective beta-smoothness",
    "grad_norm": "gradient norm ||g|| at the start",
    "loss": "mini-batch loss at the start",
}


def at_equal_loss(results: dict, bins: int = 8, least: int = 3) -> list[dict]:
    """Compare beta where both networks had the same mini-batch loss: the checks of all
    seeds pooled, grouped in log-spaced bins of the start loss; per bin with at least
    ``least`` checks from each network, the median beta of each."""
    loss = {c: np.concatenate([r["loss"] for r in results[c]]) for c in CONDITIONS}
    beta = {c: np.concatenate([r["beta"] for r in results[c]]) for c in CONDITIONS}
    everything = np.concatenate(list(loss.values()))
    edges = np.geomspace(everything.min(), everything.max() * (1 + 1e-9), bins + 1)
    rows = []
    for lo, hi in itertools.pairwise(edges):
        inside = {c: (loss[c] >= lo) & (loss[c] < hi) for c in CONDITIONS}
        if all(inside[c].sum() >= least for c in CONDITIONS):
            rows.append(
                {"loss": (lo, hi), **{c: float(np.median(beta[c][inside[c]])) for c in CONDITIONS}}
            )
    return rows


def conclusions(summary: dict) -> list[str]:
    """Each direction computed from the per-seed numbers."""
    plain, bn = summary["without BN"], summary["with BN"]
    out, smoother = [], []
    for k, name in QUANTITIES.items():
        a, b = bn[k], plain[k]
        out.append(f"{name}: with BN {s.ratio(a, b)} the value without ({s.per_seed(a, b)}).")
        if k not in ("grad_norm", "loss"):
            smoother.append(s.always(a, b))
    n = len(smoother)
    if all(v == -1 for v in smoother):
        out.append(
            f"All {n} smoothness measures are smaller with BN in every seed: as Santurkar et "
            "al. found, the loss and its gradient change less along the gradient with BN."
        )
    elif all(v == 1 for v in smoother):
        out.append(
            f"All {n} smoothness measures are LARGER with BN in every seed: this run does not "
            "reproduce Santurkar et al.'s finding that BN smooths the landscape."
        )
    else:
        out.append(
            f"Of {n} smoothness measures, {smoother.count(-1)} are smaller with BN in every "
            f"seed, {smoother.count(1)} larger in every seed, {smoother.count(0)} mixed: only "
            "partly the picture Santurkar et al. report."
        )
    a, b = bn["grad_norm"], plain["grad_norm"]
    if s.always(a, b) != 0:
        out.append(
            f"BN's gradient is {'larger' if s.always(a, b) > 0 else 'smaller'} in every seed, "
            "so for the same step size its network moves "
            f"{'further' if s.always(a, b) > 0 else 'less far'}: the loss range and gradient "
            "change compare different distances; beta divides the distance out."
        )
    a, b = bn["loss"], plain["loss"]
    if s.always(a, b) == -1:
        out.append(
            f"At the same step BN's network had {s.ratio(a, b)} the loss (smaller in every seed): "
            "it is further along, and starts each probe from a smaller loss and gradient. "
            "These means alone do not separate 'BN is smoother' from 'BN got further'."
        )
    rows = summary["at_equal_loss"]
    lower = sum(r["with BN"] < r["without BN"] for r in rows)
    if rows:
        out.append(
            f"At equal loss (checks of all seeds pooled into loss bins; {len(rows)} bins hold "
            f"checks of both networks), BN's median beta is lower in {lower} of {len(rows)} "
            "bins: "
            + (
                "BN is smoother at the same loss, not only further along."
                if lower == len(rows)
                else "at equal loss BN's network is mostly the LESS smooth one here; its smaller "
                "means over the run go with its lower loss, not with a smoother landscape at "
                "the same loss. This does not reproduce Santurkar et al.'s finding."
                if lower < len(rows) / 2
                else "mostly smoother with BN at the same loss, not at every loss level."
            )
        )
    else:
        out.append("The two networks never had the same loss at a check: no equal-loss view.")
    early = summary["early_steps"]
    a, b = summary["with BN early"]["beta"], summary["without BN early"]["beta"]
    out.append(
        f"In the first {early} steps only, beta with BN is {s.ratio(a, b)} the value without "
        f"({s.per_seed(a, b)})"
        + (
            ": there the network without BN is the smoother one, so the direction depends "
            "on when you look."
            if s.always(a, b) == 1
            else "."
        )
    )
    out.append(
        "Not shown: that smoothness causes the speed-up (it goes together with it here), nor "
        "the landscape in directions other than the gradient's; Santurkar et al. measured VGG "
        "and deep linear networks, not a 3-hidden-layer sigmoid MLP."
    )
    return out


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0], seeds=5)
    p.add_argument("--steps", type=int, default=3000, help="training steps per run")
    args = common.parse(p, argv)
    steps = 100 if args.quick else args.steps
    every = 10 if args.quick else 50
    data = common.digits()
    seeds = list(range(args.seeds))
    jobs = [(c, seed) for c in CONDITIONS for seed in seeds]
    results: dict = {c: [] for c in CONDITIONS}
    for c, seed in common.progress(jobs, "smoothness", len(jobs)):
        results[c].append(run(c, seed, steps, every, data))

    print(
        f"Loss landscape along the gradient, digits: 64-100-100-100-10 sigmoid MLP, SGD lr "
        f"{s.LEARNING_RATE}, batch {s.BATCH}, {steps} steps, probed every {every} steps with "
        f"step sizes {np.array2string(STEP_SIZES, precision=3)}, seeds {seeds}"
    )
    early = steps // 6  # the plain network's plateau, in the full run (see the picture)
    summary: dict = {"steps": steps, "step_sizes": STEP_SIZES, "early_steps": early}
    for c in CONDITIONS:
        rs = results[c]
        summary[c] = {k: [float(r[k].mean()) for r in rs] for k in QUANTITIES}
        first = rs[0]["steps"] <= early
        summary[f"{c} early"] = {k: [float(r[k][first].mean()) for r in rs] for k in QUANTITIES}
        summary[c]["accuracy"] = [r["accuracy"] for r in rs]
        print(f"\n{c} (final test accuracy {common.spread(summary[c]['accuracy'])}):")
        for k, name in QUANTITIES.items():
            run_, first_ = (common.spread(summary[w][k], "{:.3g}") for w in (c, f"{c} early"))
            print(f"  {name:>46}: {run_}; first {early} steps: {first_}")
    summary["at_equal_loss"] = at_equal_loss(results)
    print("\nbeta at equal loss (median over the checks of all seeds in each loss bin):")
    for row in summary["at_equal_loss"]:
        lo, hi = row["loss"]
        print(
            f"  loss {lo:.3g} .. {hi:.3g}: without BN {row['without BN']:.3g}, "
            f"with BN {row['with BN']:.3g}"
        )
    summary["conclusions"] = conclusions(summary)
    print("\nWhat this supports and what it does not (means over the checks of a run):")
    for line in summary["conclusions"]:
        print(f"  {line}")
    print(f"Reference: {s.REFERENCE}")

    fig, axes = common.figure(ncols=2, nrows=2, width=5.6, height=3.8)
    for c in CONDITIONS:
        rs, color = results[c], common.COLORS[c]
        x = rs[0]["steps"]
        # (a) and (b) as the paper draws them: the range over step sizes as a band
        s.band(axes[0], x, s.lines(results, c, "loss_range"), color, c, linewidth=0.9)
        lo = s.lines(results, c, "grad_change_min").mean(axis=0)
        hi = s.lines(results, c, "grad_change_max").mean(axis=0)
        axes[1].fill_between(x, lo, hi, color=color, alpha=0.35, label=c)
        s.band(axes[2], x, s.lines(results, c, "beta"), color, c, linewidth=0.9)
        axes[3].scatter(
            s.lines(results, c, "loss").ravel(),
            s.lines(results, c, "beta").ravel(),
            s=6,
            color=color,
            alpha=0.5,
            label=c,
        )
    axes[0].set(xlabel="training step", ylabel="max - min of the loss", yscale="log")
    axes[0].set_title("(a) loss variation along the gradient")
    axes[1].set(xlabel="training step", ylabel="||g(x - eta g) - g||", yscale="log")
    axes[1].set_title("(b) gradient predictiveness\n(band: min..max over step sizes)")
    axes[2].set(xlabel="training step", ylabel="max ||g(x - eta g) - g|| / ||eta g||")
    axes[2].set_title("(c) effective beta-smoothness")
    axes[3].set(xlabel="mini-batch loss at the check", ylabel="effective beta", xscale="log")
    axes[3].set_title("(d) beta against the loss\n(every check of every seed)")
    axes[3].legend(loc="best", fontsize=8)
    axes[0].legend(loc="best", fontsize=8, title=f"mean, min-max of {len(seeds)} seeds")
    axes[1].legend(loc="best", fontsize=8, title=f"mean of {len(seeds)} seeds")
    beta = s.always(summary["with BN"]["beta"], summary["without BN"]["beta"])
    rows = summary["at_equal_loss"]
    fig.suptitle(
        f"Along the gradient (step sizes {STEP_SIZES[0]:g} .. {STEP_SIZES[-1]:g}), digits, "
        f"sigmoid MLP, {len(seeds)} seeds: effective beta over the run "
        + {-1: "smaller with BN in every seed", 1: "larger with BN in every seed", 0: "mixed"}[beta]
        + f";\nat equal loss BN's median beta is lower in "
        f"{sum(r['with BN'] < r['without BN'] for r in rows)} of {len(rows)} loss bins"
    )
    common.save(fig, args, "loss_smoothness.png")
    return summary


if __name__ == "__main__":
    main()

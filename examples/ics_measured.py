"""Internal covariate shift measured as an optimization quantity, with and without BN.

Santurkar et al. (NeurIPS 2018, "How Does Batch Normalization Help Optimization?",
section 2.2) define ICS by what it does to training: at a training step,
compare layer i's gradient G_i (the loss's gradient w.r.t. layer i's weights) with the
gradient G'_i that layer i would see if the layers before it had already taken their
update step, on the same mini-batch. A layer whose input distribution keeps shifting
under it sees a different G'_i; the difference is the shift that matters to learning.
They report ||G - G'||_2 and cos(G, G'), and found BN networks' ICS as large or larger,
the cosine as small or smaller: BN does not reduce ICS in this sense.

Here: the network of paper_figure1.py (64-100-100-100-10 sigmoid MLP, weights N(0, 0.1^2),
SGD lr 0.5, batches of 60) on the 8x8 digits, with and without BN before each sigmoid.
Every few steps, on the mini-batch the step is about to train on, for each Linear layer
after the first (layers 2, 3 and 4; layer 1 has no earlier layers): G from the current
parameters, G' after every parameter of the earlier layers (weights, biases, BN's gamma
and beta) moved by -lr times its gradient, exactly the SGD step; the network is then
put back (running statistics too) and the step taken.

Printed per condition and layer (mean over the run, then mean ± std over seeds):
||G - G'||, the same divided by ||G|| (BN and no BN have gradients of different sizes,
the raw difference partly measures that), cos(G, G'), and the length of the earlier
layers' step (a network whose early layers barely move has little ICS to show).

What this can show: whether BN makes a layer's gradient less sensitive to the update of
the layers before it, in this network. What it cannot: why BN trains faster (see
loss_smoothness.py), or what happens in deep convolutional networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import _common as common
import _santurkar as s
import numpy as np

from minigrad import optim

CONDITIONS = ("without BN", "with BN")
SMOOTH = 5  # the picture averages this many consecutive checks (the raw values are noisy)
MEASURES = {"l2": "||G - G'||", "relative": "||G - G'|| / ||G||", "cosine": "cos(G, G')"}


def ics(net: common.MLP, X: np.ndarray, y: np.ndarray, lr: float) -> dict[str, np.ndarray]:
    """For each Linear after the first: ||G - G'||, ||G - G'|| / ||G|| and cos(G, G'),
    G and G' the gradient w.r.t. its weight before and after the earlier layers' SGD step
    on this batch. The network is left exactly as it was."""
    params = net.parameters()
    blocks = s.layer_parameters(net)
    out: dict[str, list[float]] = {k: [] for k in (*MEASURES, "earlier_step")}
    with s.kept_state(net):
        _, grads = s.loss_and_grads(net, X, y)
        grad = {id(p): g for p, g in zip(params, grads, strict=True)}
        original = {id(p): p.data.copy() for p in params}
        for i in range(1, len(blocks)):
            earlier = [p for block in blocks[:i] for p in block]
            for p in earlier:
                p.data -= lr * grad[id(p)]  # the earlier layers' SGD step
            _, moved = s.loss_and_grads(net, X, y)
            for p in earlier:
                p.data[...] = original[id(p)]
            weight = net.linears[i].weight
            G = grad[id(weight)].ravel()
            G2 = moved[next(k for k, p in enumerate(params) if p is weight)].ravel()
            diff = float(np.linalg.norm(G - G2))
            out["l2"].append(diff)
            out["relative"].append(diff / float(np.linalg.norm(G)))
            out["cosine"].append(s.cosine(G, G2))
            out["earlier_step"].append(
                lr * float(np.linalg.norm(s.flat([grad[id(p)] for p in earlier])))
            )
    return {k: np.array(v) for k, v in out.items()}


def smooth(x: np.ndarray) -> np.ndarray:
    """Moving average over SMOOTH consecutive checks (fewer points if the run is short)."""
    n = min(SMOOTH, len(x))
    return np.convolve(x, np.ones(n) / n, mode="valid")


def run(condition: str, seed: int, steps: int, every: int, data: tuple) -> dict:
    """Train one network; every ``every`` steps (and at step 1) measure ICS on the step's
    batch before taking the step. Returns arrays (checks, layers) per measure."""
    X_train, y_train, X_test, y_test = data
    net = s.network(condition, seed)
    optimizer = optim.SGD(net.parameters(), lr=s.LEARNING_RATE)
    stream = common.batches(len(X_train), s.BATCH, np.random.default_rng(1000 + seed))
    checked: list[int] = []
    measured: dict[str, list[np.ndarray]] = {k: [] for k in (*MEASURES, "earlier_step")}
    for step in range(1, steps + 1):
        idx = next(stream)
        if step == 1 or step % every == 0:
            checked.append(step)
            for k, v in ics(net, X_train[idx], y_train[idx], s.LEARNING_RATE).items():
                measured[k].append(v)
        common.train_step(net, optimizer, X_train[idx], y_train[idx])
    result = {k: np.array(v) for k, v in measured.items()}
    result["steps"] = np.array(checked)
    result["accuracy"] = common.evaluate(net, X_test, y_test)[1]
    return result


def votes(summary: dict, window: str, layers: list[int]) -> list[int]:
    """Per (layer, paper measure): -1 if BN had less ICS in every seed (smaller l2
    difference, higher cosine), +1 if more in every seed, 0 if the seeds disagree."""
    plain, bn = summary["without BN"][window], summary["with BN"][window]
    return [
        s.always(bn[k][:, j], plain[k][:, j]) * (1 if k == "l2" else -1)
        for j in range(len(layers))
        for k in ("l2", "cosine")
    ]


def verdict(v: list[int]) -> str:
    """What a list of votes adds up to, in words."""
    count = f"{v.count(-1)} of {len(v)} (layer, measure) pairs say BN reduced ICS in every seed, "
    count += f"{v.count(1)} that it increased it, {v.count(0)} mixed across seeds"
    if v.count(-1) > len(v) / 2 and v.count(1) == 0:
        return count + ": BN reduced ICS here, which does NOT reproduce Santurkar et al."
    if v.count(1) > len(v) / 2 and v.count(-1) == 0:
        return count + ": BN increased ICS here, as Santurkar et al. found."
    if v.count(-1) > v.count(1):
        return count + ": on balance BN reduced ICS here, unlike Santurkar et al.'s networks."
    if v.count(1) > v.count(-1):
        return count + ": on balance BN increased ICS here, as in Santurkar et al."
    return count + ": no direction."


def conclusions(summary: dict, layers: list[int], early: int) -> list[str]:
    """Per layer and measure, how BN compares, seed by seed; then what that adds up to."""
    plain, bn = summary["without BN"]["run"], summary["with BN"]["run"]
    out = []
    for j, layer in enumerate(layers):
        parts = []
        for k, name in MEASURES.items():
            a, b = bn[k][:, j], plain[k][:, j]
            parts.append(f"{name} with BN {s.ratio(a, b)} the value without ({s.per_seed(a, b)})")
        out.append(f"Layer {layer}, whole run: " + "; ".join(parts) + ".")
    whole, first = votes(summary, "run", layers), votes(summary, "early", layers)
    out.append("Whole run: " + verdict(whole))
    a, b = summary["with BN"]["early"]["earlier_step"], summary["without BN"]["early"]
    b = b["earlier_step"]
    out.append(
        f"First {early} steps only (there the earlier layers' step, lr times their gradient's "
        f"norm, was {s.ratio(a, b)} as long with BN, "
        f"{s.per_seed(a.mean(axis=1), b.mean(axis=1))}): " + verdict(first)
    )
    a, b = bn["earlier_step"], plain["earlier_step"]
    out.append(
        f"Over the whole run the earlier layers' step was {s.ratio(a, b)} as long with BN "
        f"({s.per_seed(a.mean(axis=1), b.mean(axis=1))}). ICS as measured here mixes how far "
        "the earlier layers move with how much a layer's gradient responds to that move"
        + (
            "; the first steps and the whole run disagree, so which network has more ICS "
            "depends on when you look."
            if np.sign(sum(whole)) != np.sign(sum(first))
            else "."
        )
    )
    out.append(
        "Not shown: what does make BN fast (see loss_smoothness.py). The raw l2 difference "
        "also scales with the gradient's size, which BN changes; the relative difference and "
        "the cosine do not. Santurkar et al. measured deep linear networks and VGG, not a "
        "3-hidden-layer sigmoid MLP."
    )
    return out


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0], seeds=5)
    p.add_argument("--steps", type=int, default=3000, help="training steps per run")
    args = common.parse(p, argv)
    steps = 100 if args.quick else args.steps
    every = 10 if args.quick else 25
    data = common.digits()
    seeds = list(range(args.seeds))
    jobs = [(c, seed) for c in CONDITIONS for seed in seeds]
    results: dict = {c: [] for c in CONDITIONS}
    for c, seed in common.progress(jobs, "ICS", len(jobs)):
        results[c].append(run(c, seed, steps, every, data))
    layers = list(range(2, len(s.SIZES)))  # Linear layers 2.. (1-based)
    early = steps // 6  # the plain network's plateau, in the full run (see the picture)

    print(
        f"ICS as an optimization quantity, digits: 64-100-100-100-10 sigmoid MLP, SGD lr "
        f"{s.LEARNING_RATE}, batch {s.BATCH}, {steps} steps, measured every {every} steps, "
        f"seeds {seeds}\nG, G': gradient w.r.t. a Linear layer's weight before / after the "
        "earlier layers' SGD step on the same batch"
    )
    summary: dict = {"steps": steps, "layers": layers}
    for c in CONDITIONS:
        rs = results[c]
        # per seed, the mean over the run's checks: (seeds, layers)
        first = rs[0]["steps"] <= early
        summary[c] = {
            window: {
                k: np.array([r[k][rows].mean(axis=0) for r in rs])
                for k in (*MEASURES, "earlier_step")
            }
            for window, rows in (("run", slice(None)), ("early", first))
        }
        summary[c]["accuracy"] = [r["accuracy"] for r in rs]
        print(f"\n{c} (final test accuracy {common.spread(summary[c]['accuracy'])}):")
        for j, layer in enumerate(layers):
            print(f"  layer {layer}:")
            for k, name in {**MEASURES, "earlier_step": "earlier layers' step"}.items():
                run_, first_ = (
                    common.spread(summary[c][w][k][:, j], "{:.3g}") for w in ("run", "early")
                )
                print(f"    {name:>20}: {run_}; first {early} steps: {first_}")
    summary["conclusions"] = conclusions(summary, layers, early)
    print("\nWhat this supports and what it does not:")
    for line in summary["conclusions"]:
        print(f"  {line}")
    print(f"Reference: {s.REFERENCE}")

    fig, axes = common.figure(ncols=len(layers), nrows=3, width=4.2, height=2.9)
    axes = axes.reshape(3, len(layers))
    for row, (k, name) in enumerate(MEASURES.items()):
        for j, layer in enumerate(layers):
            ax = axes[row, j]
            for c in CONDITIONS:
                curves = np.array([smooth(r[k][:, j]) for r in results[c]])
                x = smooth(results[c][0]["steps"].astype(float))
                s.band(ax, x, curves, common.COLORS[c], c, linewidth=0.9)
            ax.axvline(early, color="gray", linestyle=":", linewidth=0.8)
            ax.set(ylabel=name)
            if k != "cosine":
                ax.set_yscale("log")
            if row == 0:
                ax.set_title(f"layer {layer}")
            if row == 2:
                ax.set_xlabel("training step")
    axes[0, 0].legend(loc="best", fontsize=8, title=f"mean, min-max of {len(seeds)} seeds")
    v = votes(summary, "run", layers)
    fig.suptitle(
        "ICS as Santurkar et al. measure it: a layer's gradient before vs after the earlier "
        f"layers' step (moving average of {SMOOTH} checks; dotted: step {early})\n"
        "over the whole run, BN had less "
        f"ICS in every seed for {v.count(-1)} of {len(v)} (layer, measure) pairs, more for "
        f"{v.count(1)} (digits, sigmoid MLP, {len(seeds)} seeds)"
    )
    common.save(fig, args, "ics_measured.png")
    return summary


if __name__ == "__main__":
    main()

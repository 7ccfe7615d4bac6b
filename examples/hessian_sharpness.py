"""The sharpest curvature of the training loss along training, with and without BatchNorm.

Santurkar et al. (2018, "How Does Batch Normalization Help Optimization?") argue that
BN helps because it makes the loss landscape smoother: the gradient changes less from
one point to the next (a smaller Lipschitz constant of the gradient, "beta-smoothness").
Locally, that constant is the largest eigenvalue of the Hessian, lambda_max: plain
gradient descent with learning rate ``lr`` is stable on a quadratic only if
``lr < 2 / lambda_max``.

Here lambda_max is measured, not argued. A 64-64-64-10 ReLU MLP on the digits, with
and without BN (composite: BN built from primitive ops, so autodiff differentiates it
twice) before each ReLU, is trained with SGD (batches of 64) at three learning rates,
the same for both networks.
Every so often the training is paused and lambda_max of the training loss is found by
power iteration on Hessian-vector products (``minigrad.grad`` with
``create_graph=True``, then a second ``grad``): ``v <- H v / |H v|`` until
``|H v - lambda v|`` is 1% of lambda, and lambda_max = ``v . H v``. The loss is the
mean over a few fixed mini-batches of 64 (BN's output depends on the batch, so this is
the function SGD actually sees).

Printed, over seeds (mean ± std): lambda_max and the training loss at each check at
lr 0.1; per rate, the peak and final lambda_max and lambda_max at equal loss; then
sentences whose direction is computed from those numbers. Picture: lambda_max against
the step (with the stability line 2 / lr); against the training loss (the networks
compared where they fit equally well, not at the same step); its peak against the rate.

What it can show and what it cannot: a lower lambda_max with BN is the smoothness
Santurkar et al. describe, measured in one direction (the sharpest) on this small
problem. It does not show that smoothness is *why* BN trains faster. Nor is lambda_max
a property of the function alone: it changes with the parametrization. A weight matrix
in front of BN can be scaled without changing the network's output, so its curvature
falls as 1/|W|^2 while its norm grows in training; and SGD itself drives lambda_max
towards 2 / lr (Cohen et al. 2021, "Gradient descent on neural networks typically
occurs at the edge of stability").
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import _common as common
import numpy as np
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

import minigrad as mg
from minigrad import grad, optim
from minigrad.nn import functional as F

SIZES = (64, 64, 64, 10)
RATES = (0.03, 0.1, 0.3)  # SGD learning rates; the table and first panel use MAIN_RATE
MAIN_RATE = 0.1
BATCH = 64
HESSIAN_BATCHES = 4  # fixed mini-batches whose mean loss the Hessian is of
RESIDUAL = 0.01  # power iteration stops at |Hv - lambda v| <= RESIDUAL * |lambda|
CONDITIONS = (("without BN", False), ("with BN", True))


def loss_of(net: common.MLP, X: np.ndarray, y: np.ndarray) -> mg.Tensor:
    """Cross-entropy as ``log_softmax`` + ``nll_loss``: primitive ops, twice differentiable
    (the fused ``cross_entropy`` has a hand-written backward that refuses a second one)."""
    return F.nll_loss(F.log_softmax(net(mg.Tensor(X)), dim=1), y)


def hessian_vector_product(
    net: common.MLP, batches: list[tuple[np.ndarray, np.ndarray]], v: list[np.ndarray]
) -> list[np.ndarray]:
    """``H v`` of the mean loss over ``batches``, ``H`` the Hessian in all parameters:
    the gradient as a graph (``create_graph=True``), then the gradient of ``g . v``."""
    params = net.parameters()
    total = [np.zeros_like(p.data) for p in params]
    for X, y in batches:
        g = grad(loss_of(net, X, y), params, create_graph=True)
        g_dot_v = (g[0] * mg.Tensor(v[0])).sum()
        for gi, vi in zip(g[1:], v[1:], strict=True):
            g_dot_v = g_dot_v + (gi * mg.Tensor(vi)).sum()
        for t, hv in zip(total, grad(g_dot_v, params), strict=True):
            t += hv.data / len(batches)
    return total


def largest_eigenvalue(
    net: common.MLP,
    batches: list[tuple[np.ndarray, np.ndarray]],
    v: list[np.ndarray],
    max_iterations: int,
) -> tuple[float, list[np.ndarray], float, int]:
    """Power iteration from ``v``: (lambda_max, its eigenvector, residual, iterations).

    ``v <- H v / |H v|`` converges to the eigenvector whose eigenvalue is largest in
    magnitude; the Rayleigh quotient ``lambda = v . H v`` (``v`` of norm 1) is the
    eigenvalue. The relative residual ``|H v - lambda v| / |lambda|`` says how far
    it got: H is symmetric, so some eigenvalue lies within that fraction of
    ``lambda``. Stops when it is below ``RESIDUAL``, or after ``max_iterations``.
    """
    v = _normalized(v)
    estimate, residual = 0.0, float("inf")
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        hv = hessian_vector_product(net, batches, v)
        estimate = float(sum(np.vdot(a, b) for a, b in zip(v, hv, strict=True)))
        off = [b - estimate * a for a, b in zip(v, hv, strict=True)]
        residual = _norm(off) / max(abs(estimate), 1e-12)
        v = _normalized(hv)
        if residual <= RESIDUAL:
            break
    return estimate, v, residual, iterations


def _norm(v: list[np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in v)))


def _normalized(v: list[np.ndarray]) -> list[np.ndarray]:
    norm = _norm(v)
    return [a / norm for a in v]


def run(
    batchnorm: bool, seed: int, lr: float, steps: int, checks: list[int], power: int, data: tuple
) -> dict[str, Any]:
    """Train one network; at each step in ``checks``: lambda_max, the training loss and
    the norm of the first layer's weights."""
    X_train, y_train, X_test, y_test = data
    net = common.MLP(SIZES, activation="relu", batchnorm=batchnorm, impl="composite", seed=seed)
    optimizer = optim.SGD(net.parameters(), lr=lr)
    rng = np.random.default_rng(1000 + seed)
    fixed = rng.choice(len(X_train), size=(HESSIAN_BATCHES, BATCH), replace=False)
    batches = [(X_train[i], y_train[i]) for i in fixed]
    v = [rng.standard_normal(p.shape).astype(p.data.dtype) for p in net.parameters()]
    stream = common.batches(len(X_train), BATCH, rng)
    keys = ("lambda", "loss", "residual", "iterations", "w1_norm")
    out: dict[str, list[float]] = {k: [] for k in keys}
    label = f"lr {lr}, {'with' if batchnorm else 'without'} BN, seed {seed}"
    for step in common.progress(range(steps + 1), label, steps + 1):
        if step in checks:
            # measuring runs the network in training mode, which would move BN's
            # running statistics: put them back afterwards
            buffers = {k: np.copy(a) for k, a in net.model.state_dict().items()}
            lam, v, residual, iterations = largest_eigenvalue(net, batches, v, power)
            with mg.no_grad():
                loss = float(np.mean([loss_of(net, X, y).item() for X, y in batches]))
            net.model.load_state_dict(buffers)
            for k, x in zip(keys, (lam, loss, residual, iterations), strict=False):
                out[k].append(x)
            out["w1_norm"].append(float(np.linalg.norm(net.linears[0].weight.data)))
        if step < steps:
            idx = next(stream)
            common.train_step(net, optimizer, X_train[idx], y_train[idx])
    _, accuracy = common.evaluate(net, X_test, y_test)
    return {**{k: np.array(x) for k, x in out.items()}, "accuracy": accuracy}


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000, help="SGD steps per run")
    p.add_argument("--power", type=int, default=100, help="most power iterations per check")
    args = common.parse(p, argv)
    steps = 60 if args.quick else args.steps
    power = 20 if args.quick else args.power
    rates = (MAIN_RATE,) if args.quick else RATES
    checks = sorted(
        set(np.linspace(0, steps, 3 if args.quick else 11).round().astype(int).tolist())
    )
    data = common.digits()
    seeds = list(range(args.seeds))
    runs = {
        (lr, name): [run(bn, seed, lr, steps, checks, power, data) for seed in seeds]
        for lr in rates
        for name, bn in CONDITIONS
    }
    lam = {key: np.array([r["lambda"] for r in rs]) for key, rs in runs.items()}
    loss = {key: np.array([r["loss"] for r in rs]) for key, rs in runs.items()}

    print(
        f"lambda_max of the training loss (the mean over {HESSIAN_BATCHES} fixed batches of "
        f"{BATCH}), {'-'.join(map(str, SIZES))} ReLU MLP, SGD, {steps} steps, seeds {seeds}"
    )
    print(f"\nlearning rate {MAIN_RATE} (2 / lr = {2 / MAIN_RATE:g}), mean ± std over seeds:")
    print(
        f"{'step':>6}"
        + "".join(f"  {name + ': lambda_max':>26} {'loss':>14}" for name, _ in CONDITIONS)
    )
    for k, step in enumerate(checks):
        cells = [
            f"  {_mean_std(lam[MAIN_RATE, name][:, k], '{:.2f}'):>26}"
            f" {_mean_std(loss[MAIN_RATE, name][:, k], '{:.3f}'):>14}"
            for name, _ in CONDITIONS
        ]
        print(f"{step:>6}" + "".join(cells))
    residuals = np.array([r["residual"] for rs in runs.values() for r in rs])
    iterations = np.array([r["iterations"] for rs in runs.values() for r in rs])
    print(
        f"power iteration (warm-started from the previous check's vector): "
        f"{iterations.mean():.0f} iterations on average (at most {power}); relative residual "
        f"<= {RESIDUAL:g} at {int((residuals <= RESIDUAL).sum())} of {residuals.size} checks, "
        f"largest {residuals.max():.1e}"
    )

    findings = _findings(runs, lam, loss, rates)
    print("\nper learning rate (median over seeds): peak lambda_max, final lambda_max and loss")
    for row in findings["rows"]:
        print("  " + row)
    print()
    for sentence in findings["sentences"]:
        print("- " + sentence)
    _plot(args, lam, loss, checks, rates, seeds, findings["title"])
    return {"checks": checks, "lambda": lam, "loss": loss, "steps": steps, **findings}


def _mean_std(values: np.ndarray, fmt: str) -> str:
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(values.mean())} ± {fmt.format(values.std(ddof=1))}"


def _findings(runs: dict, lam: dict, loss: dict, rates: Sequence[float]) -> dict[str, Any]:
    """Table rows and sentences whose direction (lower/higher) comes from the numbers."""
    plain, bn = lam[MAIN_RATE, "without BN"], lam[MAIN_RATE, "with BN"]
    lower = int((bn[:, 1:] < plain[:, 1:]).sum())  # after the check at initialization
    total = bn[:, 1:].size
    ratio = float(np.median(plain[:, 1:] / bn[:, 1:]))
    start = float(np.median(bn[:, 0] / plain[:, 0]))
    sentences = [
        f"At lr {MAIN_RATE}, after initialization lambda_max with BN is lower than without "
        f"at {lower} of {total} (seed, check) pairs; median ratio without/with {ratio:.1f}x. "
        f"At initialization it is {'higher' if start > 1 else 'lower'} with BN "
        f"({start:.1f}x the plain network's).",
    ]
    rows, equal, peaks = [], {}, {}
    for lr in rates:
        # equal loss: the lowest loss every run at this rate reaches; lambda read there
        level = max(float(curve.min()) for name, _ in CONDITIONS for curve in loss[lr, name])
        for name, _ in CONDITIONS:
            peak = float(np.median(lam[lr, name].max(axis=1)))
            peaks[lr, name] = peak
            equal[lr, name] = _lambda_at_loss(lam[lr, name], loss[lr, name], level)
            rows.append(
                f"lr {lr:<5} {name:<11} peak {peak:6.2f} ({peak * lr / 2:.0%} of 2/lr = "
                f"{2 / lr:5.1f}), final {np.median(lam[lr, name][:, -1]):6.2f} at loss "
                f"{np.median(loss[lr, name][:, -1]):.4f}; at loss {level:.3f}: "
                f"{equal[lr, name]:.2f}"
            )
        direction = "lower" if equal[lr, "with BN"] < equal[lr, "without BN"] else "higher"
        sentences.append(
            f"At lr {lr}, compared at equal training loss ({level:.3f}), lambda_max with BN is "
            f"{direction}: {equal[lr, 'with BN']:.2f} vs {equal[lr, 'without BN']:.2f}."
        )
    if len(rates) > 1:
        share = [peaks[lr, "without BN"] * lr / 2 for lr in rates]
        closer = all(b > a for a, b in itertools.pairwise(share))
        sentences.append(
            "Without BN, the peak lambda_max "
            + ("gets closer to" if closer else "does not get steadily closer to")
            + " the stability limit 2 / lr as the rate grows ("
            + ", ".join(f"{s:.0%} at lr {lr}" for s, lr in zip(share, rates, strict=True))
            + "): the rate, not only the architecture, sets how sharp a region SGD stays in."
        )
    norms = np.array([r["w1_norm"] for r in runs[MAIN_RATE, "with BN"]])
    growth = float(np.median(norms[:, -1] / norms[:, 0]))
    sentences.append(
        f"With BN, the first layer's weights {'grew' if growth > 1 else 'shrank'} by a factor "
        f"{max(growth, 1 / growth):.2f} in norm (median) at lr {MAIN_RATE}; the loss does not "
        f"change when they are scaled, so from the scale alone the curvature along them "
        f"{'fell' if growth > 1 else 'rose'} by a factor {max(growth, 1 / growth) ** 2:.2f}."
    )
    accuracy = {name: [r["accuracy"] for r in runs[MAIN_RATE, name]] for name, _ in CONDITIONS}
    sentences.append(
        f"Test accuracy at the end (lr {MAIN_RATE}): "
        + ", ".join(f"{name} {common.spread(a)}" for name, a in accuracy.items())
        + "."
    )
    title = (
        f"Largest Hessian eigenvalue of the training loss: "
        f"{'lower' if lower > total / 2 else 'not lower'} with BatchNorm "
        f"({lower} of {total} checks at lr {MAIN_RATE}, median {ratio:.1f}x)"
    )
    return {
        "rows": rows,
        "sentences": sentences,
        "lower_with_bn": lower,
        "pairs": total,
        "median_ratio": ratio,
        "at_equal_loss": equal,
        "peaks": peaks,
        "w1_growth": growth,
        "accuracy": accuracy,
        "title": title,
    }


def _lambda_at_loss(lam: np.ndarray, loss: np.ndarray, level: float) -> float:
    """Median over seeds of lambda_max where the loss first falls to ``level``
    (interpolated in log-loss between checks); nan if a seed never gets there."""
    values = []
    for lam_s, loss_s in zip(lam, loss, strict=True):
        below = np.nonzero(loss_s <= level)[0]
        if not len(below):
            return float("nan")
        k = int(below[0])
        if k == 0:
            values.append(float(lam_s[0]))
            continue
        a, b = np.log(loss_s[k - 1]), np.log(loss_s[k])
        w = (np.log(level) - a) / (b - a) if b != a else 1.0
        values.append(float(lam_s[k - 1] + w * (lam_s[k] - lam_s[k - 1])))
    return float(np.median(values))


def _plot(
    args: Any,
    lam: dict,
    loss: dict,
    checks: list[int],
    rates: Sequence[float],
    seeds: list[int],
    title: str,
) -> None:
    """Three panels: lambda_max along training at MAIN_RATE; against the loss; peak vs rate."""
    ncols = 3 if len(rates) > 1 else 2
    fig, axes = common.figure(ncols=ncols, width=4.8, height=4.2)
    markers = dict(zip(rates, ("v", "o", "^", "s"), strict=False))
    for name, _ in CONDITIONS:
        color = common.COLORS[name]
        main = lam[MAIN_RATE, name]
        axes[0].plot(checks, main.mean(axis=0), color=color, marker="o", ms=3, label=name)
        if len(seeds) > 1:
            axes[0].fill_between(checks, main.min(axis=0), main.max(axis=0), color=color, alpha=0.2)
        for lr in rates:
            for s in range(len(seeds)):
                axes[1].plot(
                    loss[lr, name][s],
                    lam[lr, name][s],
                    color=color,
                    marker=markers[lr],
                    ms=3,
                    lw=0.8,
                    alpha=0.7,
                    label=f"{name}, lr {lr}" if s == 0 else None,
                )
        if ncols == 3:
            peak = [lam[lr, name].max(axis=1) for lr in rates]
            axes[2].errorbar(
                rates,
                [p.mean() for p in peak],
                yerr=[[p.mean() - p.min() for p in peak], [p.max() - p.mean() for p in peak]],
                color=color,
                marker="o",
                capsize=3,
                label=name,
            )
    axes[0].axhline(2 / MAIN_RATE, color="gray", ls=":", label=f"2 / lr = {2 / MAIN_RATE:g}")
    spread_note = f" (mean, min-max of {len(seeds)} seeds)" if len(seeds) > 1 else ""
    axes[0].set(
        xlabel="SGD step",
        ylabel="largest Hessian eigenvalue",
        yscale="log",
        title=f"along training, lr {MAIN_RATE}{spread_note}",
    )
    axes[0].legend(loc="lower right", fontsize=8)
    axes[1].set(
        xlabel="training loss (right: later in training)",
        ylabel="largest Hessian eigenvalue",
        xscale="log",
        yscale="log",
        title="at equal loss (a line per seed and rate)",
    )
    axes[1].invert_xaxis()
    axes[1].legend(loc="lower left", fontsize=7)
    if ncols == 3:
        grid = np.geomspace(min(rates), max(rates), 50)
        axes[2].plot(grid, 2 / grid, color="gray", ls=":", label="2 / lr (stability limit)")
        axes[2].set(
            xlabel="learning rate",
            ylabel="peak of the largest eigenvalue",
            xscale="log",
            yscale="log",
            title="peak over training vs the rate",
        )
        axes[2].set_xticks(rates, [f"{lr:g}" for lr in rates])
        axes[2].xaxis.set_minor_formatter(NullFormatter())
        axes[2].yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axes[2].yaxis.set_major_formatter(ScalarFormatter())
        axes[2].yaxis.set_minor_formatter(NullFormatter())
        axes[2].legend(loc="upper right", fontsize=8)
    fig.suptitle(title)
    common.save(fig, args, "hessian_sharpness.png")


if __name__ == "__main__":
    main()

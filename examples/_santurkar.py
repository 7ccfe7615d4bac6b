"""What the three examples after Santurkar et al. (2018) share: the network, injected
noise after BatchNorm, the gradient at chosen parameter values, and per-seed comparisons
that turn numbers into sentences.

Santurkar, Tsipras, Ilyas and Madry, "How Does Batch Normalization Help Optimization?",
NeurIPS 2018 (arXiv:1805.11604). They test the 2015 explanation of BatchNorm (it reduces
*internal covariate shift*, the drift of a layer's input distribution as earlier layers
train) and propose another: BatchNorm makes the loss landscape smoother.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import _common as common
import numpy as np

import minigrad as mg
from minigrad import nn

REFERENCE = (
    "Santurkar, Tsipras, Ilyas, Madry: How Does Batch Normalization Help Optimization? "
    "NeurIPS 2018, arXiv:1805.11604"
)

# The network of paper_figure1.py (Ioffe & Szegedy's MNIST experiment, on 8x8 digits).
SIZES = (64, 100, 100, 100, 10)
LEARNING_RATE = 0.5
INIT_STD = 0.1
BATCH = 60


class InjectedNoise(nn.Module):
    """After a BatchNorm layer, shift and scale each unit by random amounts, redrawn at
    every training forward pass: ``y[:, j] = scale_j * x[:, j] + shift_j`` with
    ``shift_j ~ U(-shift, shift)`` and ``scale_j ~ U(1 - spread, 1 + spread)``.

    Every unit's distribution then moves from step to step by an amount BatchNorm just
    took away: a deliberate, time-varying covariate shift (Santurkar et al. 2018, section
    2.1, perturb each sample too; we move whole units, the shift the 2015 paper names).
    The noise has mean shift 0 and mean scale 1, so eval mode uses its expectation,
    the identity (as dropout does).
    """

    def __init__(
        self, features: int, shift: float, spread: float, rng: np.random.Generator
    ) -> None:
        super().__init__()
        if shift < 0 or not 0 <= spread < 1:
            raise ValueError(
                f"InjectedNoise: need shift >= 0 and 0 <= spread < 1, got {shift}, {spread}"
            )
        self.features, self.shift, self.spread, self.rng = features, shift, spread, rng

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        if not self.training:
            return x
        shift = self.rng.uniform(-self.shift, self.shift, size=self.features)
        scale = self.rng.uniform(1 - self.spread, 1 + self.spread, size=self.features)
        dtype = x.data.dtype
        return x * mg.Tensor(scale.astype(dtype)) + mg.Tensor(shift.astype(dtype))

    def extra_repr(self) -> str:
        return (
            f"shift=U(-{self.shift}, {self.shift}), scale=U({1 - self.spread}, {1 + self.spread})"
        )


def network(condition: str, seed: int, noise: tuple[float, float] = (0.0, 0.0)) -> common.MLP:
    """The 64-100-100-100-10 sigmoid MLP, for ``condition`` "without BN", "with BN" or
    "noisy BN" (BN, then ``InjectedNoise(*noise)`` before each sigmoid). The same seed
    gives the same initial weights in every condition (BN layers draw no random numbers)."""
    if condition not in ("without BN", "with BN", "noisy BN"):
        raise ValueError(f"network: unknown condition {condition!r}")
    net = common.MLP(
        SIZES,
        activation="sigmoid",
        batchnorm=condition != "without BN",
        init_std=INIT_STD,
        seed=seed,
    )
    if condition == "noisy BN":
        rng = np.random.default_rng(2000 + seed)
        layers: list[Any] = []
        for layer in net.layers:
            layers.append(layer)
            if isinstance(layer, nn.BatchNorm1d):
                layers.append(InjectedNoise(layer.num_features, *noise, rng=rng))
        net.layers = layers
        net.model = nn.Sequential(*layers)
    return net


def layer_parameters(net: common.MLP) -> list[list[Any]]:
    """The parameters in blocks, one per Linear: that Linear's own and those of the BN
    after it (a block is what "layer i" means when we update the layers before it)."""
    blocks: list[list[Any]] = []
    for layer in net.layers:
        if any(layer is linear for linear in net.linears):
            blocks.append([])
        blocks[-1].extend(layer.parameters())
    return blocks


@contextmanager
def kept_state(net: common.MLP) -> Iterator[None]:
    """Probe the network freely: on exit its parameters and BN running statistics are
    put back exactly (a training-mode forward pass updates the running statistics)."""
    state = net.model.state_dict()
    try:
        yield
    finally:
        net.model.load_state_dict(state)


def loss_and_grads(net: common.MLP, X: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """The mini-batch loss (training mode, as a step sees it) and a copy of each
    parameter's gradient, in ``net.parameters()`` order. Leaves no gradients behind."""
    params = net.parameters()
    for p in params:
        p.grad = None
    with np.errstate(over="ignore", invalid="ignore"):
        loss = nn.functional.cross_entropy(net(mg.Tensor(X)), y)
        loss.backward()
    grads = [np.array(p.grad, dtype=np.float64) for p in params]
    for p in params:
        p.grad = None
    return loss.item(), grads


def flat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norms) if norms > 0 else float("nan")


# ---------------------------------------------------------------- sentences from numbers


def per_seed(a: Sequence[float], b: Sequence[float]) -> str:
    """How a compares to b, seed by seed (seeds paired: same initial weights):
    "larger in all 5 seeds", "smaller in 3 of 5 seeds", ..."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    larger, n = int(np.sum(a > b)), len(a)
    if larger == n:
        return f"larger in all {n} seeds" if n > 1 else "larger (1 seed)"
    if larger == 0 and np.all(a < b):
        return f"smaller in all {n} seeds" if n > 1 else "smaller (1 seed)"
    return f"larger in {larger} of {n} seeds"


def always(a: Sequence[float], b: Sequence[float]) -> int:
    """+1 if a > b in every seed, -1 if a < b in every seed, 0 if the seeds disagree."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return 1 if np.all(a > b) else -1 if np.all(a < b) else 0


def ratio(a: Sequence[float], b: Sequence[float]) -> str:
    """mean(a) / mean(b), as "2.3x"."""
    mb = float(np.mean(b))
    return f"{float(np.mean(a)) / mb:.2g}x" if mb != 0 else "inf x"


def lines(results: dict, condition: str, key: str) -> np.ndarray:
    """The curves ``key`` of every seed of ``condition``, stacked (seeds, points)."""
    return np.array([r[key] for r in results[condition]])


def band(ax: Any, x: np.ndarray, curves: np.ndarray, color: str, label: str, **kw: Any) -> None:
    """Mean over seeds as a line, min..max over seeds as a shaded band."""
    ax.plot(x, curves.mean(axis=0), color=color, label=label, **kw)
    if len(curves) > 1:
        ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2)

"""What every example shares: the command line, the data, the networks, the training loop,
and one plotting style. Each example script stays a readable story on top of this.

Every example takes the same options:

* ``--quick``: a few seconds instead of up to two minutes (the test suite uses it);
* ``--out DIR``: where the PNGs go (default ``examples/out/``, ignored by git);
* ``--gallery``: also copy the PNGs to ``docs/images/examples/`` for the README;
* ``--seeds N``: how many seeds a comparison runs (the spread, not one lucky run).
"""

from __future__ import annotations

import argparse
import itertools
import math
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib

matplotlib.use("Agg")  # files only: examples run headless, in tests and on CI

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad import cli_help, datasets, nn
from minigrad.progress import progress as mg_progress

EXAMPLES = Path(__file__).resolve().parent
DEFAULT_OUT = EXAMPLES / "out"
GALLERY = EXAMPLES.parent / "docs" / "images" / "examples"

# One colour per condition, the same in every picture.
COLORS = {"without BN": "#d62728", "with BN": "#1f77b4", "with dropout": "#2ca02c"}

T = TypeVar("T")


# ---------------------------------------------------------------- command line


def parser(description: str, seeds: int = 3) -> argparse.ArgumentParser:
    """The options every example takes; a script adds its own before parsing."""
    p = cli_help.parser(None, description)
    p.add_argument("--quick", action="store_true", help="a few seconds: small budgets, 1 seed")
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for the PNGs (default: examples/out)"
    )
    p.add_argument(
        "--gallery", action="store_true", help="also copy the PNGs to docs/images/examples/"
    )
    p.add_argument("--seeds", type=int, default=seeds, help="seeds per condition")
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, make the output folder, and cut the seeds to 1 in quick mode."""
    args = p.parse_args(None if argv is None else [str(a) for a in argv])
    if args.seeds < 1:
        p.error(f"--seeds must be at least 1, got {args.seeds}")
    if args.quick:
        args.seeds = 1
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    one_blas_thread()
    return args


def one_blas_thread() -> None:
    """Run NumPy's BLAS on one thread. The examples multiply small matrices (a batch of
    60 by 100 units), where a multi-threaded BLAS spends more time waking and syncing
    threads than multiplying; on a busy machine we measured a training step 9x slower
    with OpenBLAS's default threads than with one. ``threadpoolctl`` comes with
    scikit-learn (the examples' extra); without it nothing changes."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterable[T]:
    """A bar on stderr for the long loops in a terminal; one final line in a pipe or log."""
    return mg_progress(iterable, desc, total)


# ---------------------------------------------------------------- pictures


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 4.0) -> Any:
    """A figure in the examples' style: grid, readable fonts, room for a title."""
    plt.rcParams.update({"font.size": 10, "axes.grid": True, "grid.alpha": 0.3})
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, axes.ravel() if nrows * ncols > 1 else axes[0, 0]


def save(fig: Any, args: argparse.Namespace, name: str) -> Path:
    """Write ``name`` (a .png) to ``--out``; with ``--gallery`` copy it for the README."""
    fig.tight_layout()
    path = args.out / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    if args.gallery:
        GALLERY.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, GALLERY / name)
    print(f"picture: {path}")
    return path


def gallery_copy(args: argparse.Namespace, path: Path) -> None:
    """Copy a file some other code wrote (e.g. a rendered graph) into the gallery."""
    if args.gallery:
        GALLERY.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, GALLERY / Path(path).name)


# ---------------------------------------------------------------- numbers


def spread(values: Sequence[float], fmt: str = "{:.3f}") -> str:
    """``mean ± std (min .. max, n seeds)``: how much a figure moves between seeds."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 1:
        return fmt.format(v[0]) + " (1 seed)"
    finite = v[np.isfinite(v)]
    if len(finite) < len(v):  # e.g. steps to a target never reached (inf)
        text = f"not finite (inf/nan) in {len(v) - len(finite)} of {len(v)} seeds"
        return text + (f"; the others: {spread(finite, fmt)}" if len(finite) else "")
    return (
        f"{fmt.format(v.mean())} ± {fmt.format(v.std(ddof=1))} "
        f"({fmt.format(v.min())} .. {fmt.format(v.max())}, {len(v)} seeds)"
    )


def finite(x: float) -> bool:
    return math.isfinite(x)


# ---------------------------------------------------------------- data


def digits(n_train: int | None = None, seed: int = 0) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8x8 digits, a fixed split: 1,297 training and 500 test images.

    float32, pixels in [0, 1]. ``n_train`` keeps only the first ``n_train`` training
    images (for the small-data example); the test set never changes.
    """
    X, y = datasets.load_digits()
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=500, seed=seed)
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return (
        X_train.astype(np.float32),
        y_train,
        X_test.astype(np.float32),
        y_test,
    )


def batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless mini-batches of row indices: each epoch a fresh shuffle, no short batches."""
    if batch_size > n:
        raise ValueError(f"batches: batch_size {batch_size} is larger than the data ({n} rows)")
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]


# ---------------------------------------------------------------- networks


class MLP:
    """A fully connected network, kept as a plain list of layers so an example can look
    inside (``forward(x, record=...)`` hands back any layer's input).

    ``Linear -> [BatchNorm1d] -> activation -> [Dropout]`` per hidden layer, then a
    ``Linear`` to the classes. BatchNorm goes *before* the nonlinearity, as in the paper
    (it normalizes ``Wu``; the Linear's bias is then redundant, beta takes its place, but
    we keep it so both networks have the same layers apart from BN).
    ``init_std``: weights drawn from N(0, init_std^2) (the paper's "small random
    Gaussian values"), or a callable ``fan_in -> std``; ``None`` keeps Linear's default.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activation: str = "sigmoid",
        batchnorm: bool = False,
        init_std: float | Callable[[int], float] | None = None,
        dropout: float = 0.0,
        seed: int = 0,
        momentum: float | None = 0.1,
        impl: str = "fused",
    ) -> None:
        rng = np.random.default_rng(seed)
        activations = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
        self.layers: list[Any] = []
        self.linears: list[Any] = []
        self.activations: list[Any] = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            linear = nn.Linear(fan_in, fan_out, rng=rng)
            if init_std is not None:
                std = init_std(fan_in) if callable(init_std) else init_std
                linear.weight.data[...] = rng.normal(0.0, std, size=linear.weight.shape)
                linear.bias.data[...] = 0.0
            self.layers.append(linear)
            self.linears.append(linear)
            if i == len(sizes) - 2:
                break  # the output layer: logits, no BN, no nonlinearity
            if batchnorm:
                self.layers.append(nn.BatchNorm1d(fan_out, momentum=momentum, impl=impl))
            act = activations[activation]()
            self.layers.append(act)
            self.activations.append(act)
            if dropout:
                self.layers.append(nn.Dropout(dropout, rng=rng))
        self.model = nn.Sequential(*self.layers)

    def __call__(self, x: Any) -> Any:
        return self.model(x)

    def forward(self, x: Any, record: Sequence[Any] = ()) -> tuple[Any, dict[int, Any]]:
        """The logits, and the input to each layer in ``record`` (keyed by its index)."""
        inputs: dict[int, Any] = {}
        wanted = {id(layer) for layer in record}
        for layer in self.layers:
            if id(layer) in wanted:
                inputs[id(layer)] = x
            x = layer(x)
        return x, inputs

    def parameters(self) -> list[Any]:
        return list(self.model.parameters())

    def train(self) -> None:
        self.model.train()

    def eval(self) -> None:
        self.model.eval()


def train_step(
    net: Any, optimizer: Any, X: np.ndarray, y: np.ndarray, record: dict[int, Any] | None = None
) -> float:
    """One SGD step on a mini-batch: forward, cross-entropy, backward, update. Returns the loss.

    ``record``: a dict keyed by ``id(layer)`` for layers of an ``MLP``; each key gets
    that layer's input in this step (what training sees, e.g. a sigmoid's input).
    Some sweeps drive a network to overflow on purpose (that is what they measure), so
    NumPy's overflow warnings are silenced here; a non-finite loss is returned, not hidden.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if record is None:
            logits = net(mg.Tensor(X))
        else:
            layers = [layer for layer in net.layers if id(layer) in record]
            logits, inputs = net.forward(mg.Tensor(X), record=layers)
            record.update(inputs)
        loss = nn.functional.cross_entropy(logits, y)  # y: integer class indices
        optimizer.zero_grad()
        loss.backward()
    value = loss.item()
    if not math.isfinite(value):  # a diverged run stops moving instead of raising mid-sweep
        return value
    try:
        optimizer.step()
    except FloatingPointError:  # a gradient overflowed (the optimizer changed nothing)
        return math.nan
    return value


def evaluate(net: Any, X: np.ndarray, y: np.ndarray, mode: str = "eval") -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on the whole of ``X`` in one batch, without a graph.

    ``mode="eval"`` (the default) uses BatchNorm's running statistics; ``"train"``
    the batch's own; the network is put back in training mode afterwards.
    """
    net.eval() if mode == "eval" else net.train()
    with mg.no_grad(), np.errstate(over="ignore", invalid="ignore"):
        logits = net(mg.Tensor(X))
        loss = nn.functional.cross_entropy(logits, y).item()
        accuracy = float((logits.numpy().argmax(axis=1) == y).mean())
    net.train()
    return loss, accuracy

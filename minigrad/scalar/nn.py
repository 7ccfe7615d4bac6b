"""A neural network from scalar ``Value`` s, micrograd-style: Neuron, Layer, MLP.

A neuron computes ``act(w . x + b)``; a layer is a list of neurons reading the same
input; an MLP is a stack of layers, ReLU on the hidden ones and linear on the last, so
its outputs are raw scores for a loss to judge::

    model = MLP(2, [16, 16, 1], seed=0)
    score = model([0.5, -1.0])           # one example in, a Value out
    loss = (1 - score).relu()
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= 0.1 * p.grad

**One example or a batch.** ``Neuron``, ``Layer`` and ``MLP`` map one example (a list
of numbers or ``Value`` s). A layer that normalizes over the batch, such as
``BatchNorm1d``, cannot: it needs all N examples at once. So every layer here also has
``forward_batch(rows)``, which maps a batch (a list of N rows), and ``MLP`` runs a
batch through its stack with ``forward_batch``. A *batch layer* is any object with

* ``layer(rows) -> rows``: a list of N rows of C values in, N rows out;
* ``parameters() -> list[Value]``, and optionally ``train(mode)`` / ``eval()``.

``MLP(..., norm=BatchNorm1d)`` puts one after every hidden linear layer
(linear -> norm -> activation), built as ``norm(width)``.

Initialization is reproducible: weights are drawn from a ``random.Random`` (given, or
made from ``seed``), never from the global ``random`` state.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from minigrad.autograd import name_scope
from minigrad.batchnorm.scalar import BatchNorm1d  # the scalar BatchNorm, a batch layer
from minigrad.journal import call_with_undo
from minigrad.scalar.value import Value, value_sum

__all__ = ["MLP", "Activation", "BatchNorm1d", "Layer", "Module", "Neuron"]

ACTIVATION_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}  # as reprs show them
ACTIVATIONS = tuple(ACTIVATION_NAMES)

Row = Sequence[Value | float]


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def _check_size(n: int, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return n


class Module:
    """Something with parameters: ``parameters()``, ``zero_grad()``, ``train()``/``eval()``."""

    training: bool = True

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0 (gradients accumulate across backward calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        self.training = bool(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def __call__(self, x: Row) -> Any:
        raise NotImplementedError

    def forward_batch(self, rows: Sequence[Row]) -> list[Any]:
        """A batch of N examples in, N results out: one example at a time."""
        return [self(row) for row in rows]


class Neuron(Module):
    """``act(w . x + b)``: ``nin`` weights drawn uniformly from [-1, 1], a bias starting at 0.

    The weighted sum is one n-ary sum node (``value_sum``), not a chain of binary
    ``+``: the same number, fewer nodes. ``nonlin=False`` leaves out the activation.
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        rng: random.Random | None = None,
        activation: str = "relu",
        name: str = "",
    ) -> None:
        _check_size(nin, "Neuron: nin")
        rng = rng if rng is not None else random.Random()
        self.w = [Value(rng.uniform(-1.0, 1.0), label=f"{name}w{i}") for i in range(nin)]
        self.b = Value(0.0, label=f"{name}b")
        self.nonlin = nonlin
        self.activation = _check_activation(activation)

    def __call__(self, x: Row) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        products = [wi * xi for wi, xi in zip(self.w, x)]
        act = value_sum([*products, self.b])  # w . x + b as one node
        return getattr(act, self.activation)() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        kind = ACTIVATION_NAMES[self.activation] if self.nonlin else "Linear"
        return f"{kind}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; returns a list of ``nout`` Values."""

    def __init__(
        self,
        nin: int,
        nout: int,
        nonlin: bool = True,
        rng: random.Random | None = None,
        activation: str = "relu",
        name: str = "",
    ) -> None:
        _check_size(nout, "Layer: nout")
        rng = rng if rng is not None else random.Random()
        self.neurons = [
            Neuron(nin, nonlin, rng, activation, name=f"{name}n{j}.") for j in range(nout)
        ]

    def __call__(self, x: Row) -> list[Value]:
        # Numbers become nodes once here, not once per neuron: the graph shows each
        # input as one node feeding every neuron (and is smaller).
        x = [xi if isinstance(xi, Value) else Value(xi) for xi in x]
        return [n(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class Activation(Module):
    """An element-wise activation as a layer of its own (used after a norm layer)."""

    def __init__(self, activation: str = "relu") -> None:
        self.activation = _check_activation(activation)

    def __call__(self, x: Row) -> list[Value]:
        name = self.activation
        return [getattr(v if isinstance(v, Value) else Value(v), name)() for v in x]

    def __repr__(self) -> str:
        return f"Activation({self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: ``nin`` inputs, then one layer per entry of ``nouts``.

    Hidden layers apply ``activation`` ("relu", "tanh" or "sigmoid"); the last layer is
    linear. Weights come from ``random.Random(seed)``: the same seed gives the same
    network. ``norm`` (optional) makes a batch layer for a width, e.g. ``BatchNorm1d``;
    it goes between each hidden linear layer and its activation, and then the model
    must be run on batches (``forward_batch``) in training mode.

    ``model(x)`` returns a ``Value`` when the last layer has one output, else a list.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        seed: int = 0,
        activation: str = "relu",
        norm: Callable[[int], Any] | None = None,
    ) -> None:
        _check_size(nin, "MLP: nin")
        if not nouts:
            raise ValueError("MLP: nouts must list at least one layer width")
        _check_activation(activation)
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        self.layers: list[Any] = []
        for i in range(len(nouts)):
            last = i == len(nouts) - 1
            if norm is None or last:
                self.layers.append(
                    Layer(sizes[i], sizes[i + 1], not last, rng, activation, name=f"L{i}.")
                )
            else:
                self.layers.append(Layer(sizes[i], sizes[i + 1], False, rng, name=f"L{i}."))
                self.layers.append(norm(sizes[i + 1]))
                self.layers.append(Activation(activation))
        self._has_batch_layers = any(not isinstance(layer, Module) for layer in self.layers)
        # Each layer's nodes get a name scope, so a drawing can box (or collapse) a layer.
        self._scopes = [f"layer {i}: {type(layer).__name__}" for i, layer in enumerate(self.layers)]

    def __call__(self, x: Row) -> Value | list[Value]:
        if self._has_batch_layers:  # a norm layer needs a batch: run a batch of one
            return self.forward_batch([x])[0]
        out: Any = x
        for layer, scope in zip(self.layers, self._scopes):
            with name_scope(scope):
                out = layer(out)
        return out[0] if len(out) == 1 else out

    def forward_batch(self, rows: Sequence[Row]) -> list[Any]:
        """N examples in, N outputs out (each as ``model(x)`` would return it).

        Per-example layers map row by row; batch layers (``norm``) see the whole batch.
        If a layer raises, what earlier layers changed (a norm layer's running
        statistics) is put back (``minigrad.journal``).
        """
        return call_with_undo(self._forward_batch, (rows,), {})

    def _forward_batch(self, rows: Sequence[Row]) -> list[Any]:
        batch: list[Any] = list(rows)
        for layer, scope in zip(self.layers, self._scopes):
            with name_scope(scope):
                batch = layer.forward_batch(batch) if isinstance(layer, Module) else layer(batch)
        return [row[0] if len(row) == 1 else row for row in batch]

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def train(self, mode: bool = True) -> MLP:
        """Training mode (``mode=True``) or eval mode, for every layer that has one."""
        self.training = bool(mode)
        for layer in self.layers:
            if hasattr(layer, "train"):
                layer.train(mode)
        return self

    def eval(self) -> MLP:
        return self.train(False)

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"

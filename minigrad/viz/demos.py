"""The graphs ``python -m minigrad render`` draws (and the README shows).

Each demo builds a computation, runs its backward (so every box has a gradient) and
returns a picture. They are small on purpose, except ``mlp_collapsed``, whose graph
has thousands of nodes and is readable only because its name scopes collapse.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import name_scope
from minigrad.scalar.value import Value, value_sum
from minigrad.viz.graph import draw_graph
from minigrad.viz.output import GraphPicture
from minigrad.viz.side_by_side import draw_graphs_side_by_side

__all__ = ["DEMOS", "scalar_mlp_loss", "tensor_available"]


def expression() -> GraphPicture:
    """micrograd's first example, with one value used twice (its gradient is a sum)."""
    a = Value(2.0)
    b = Value(-3.0)
    c = Value(10.0)
    e = a * b
    d = e + c
    f = Value(-2.0)
    L = d * f + a  # a feeds two ops: dL/da = f * b + 1
    L.backward()
    return draw_graph(L, names=locals())


def scalar_mlp_loss(
    sizes: tuple[int, ...] = (2, 4, 4, 1), batch: int = 4, seed: int = 0
) -> tuple[Value, list[Value]]:
    """A micrograd-style MLP (tanh hidden layers) and its mean squared error on a batch.

    Every layer runs inside ``name_scope("layerK")`` and the loss inside
    ``name_scope("loss")``, so a picture can collapse each into one box. Returns the
    loss (after ``backward()``) and the parameters.
    """
    rng = random.Random(seed)
    layers = []
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        neurons = [
            (
                [Value(rng.uniform(-1, 1), label=f"w{k}[{j},{i}]") for i in range(n_in)],
                Value(0.0, label=f"b{k}[{j}]"),
            )
            for j in range(n_out)
        ]
        layers.append(neurons)
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    predictions = []
    for s in range(batch):
        h = [Value(rng.uniform(-2, 2), label=f"x[{s},{i}]") for i in range(sizes[0])]
        for k, layer in enumerate(layers, start=1):
            with name_scope(f"layer{k}"):
                h = [value_sum(w * x for w, x in zip(ws, h, strict=True)) + b for ws, b in layer]
                if k < len(layers):
                    h = [v.tanh() for v in h]
        predictions.append(h[0])
    targets = [rng.choice((-1.0, 1.0)) for _ in range(batch)]
    with name_scope("loss"):
        loss = value_sum((p - t) ** 2 for p, t in zip(predictions, targets, strict=True)) / batch
    loss.label = "loss"
    loss.backward()
    return loss, params


def mlp_collapsed() -> GraphPicture:
    """A 2-16-16-1 MLP on a batch of 24: about 10,000 nodes, one box per layer."""
    loss, params = scalar_mlp_loss((2, 16, 16, 1), batch=24)
    return draw_graph(loss, collapse_scopes=True, params=params)


def neuron_highlight() -> GraphPicture:
    """One tanh neuron; the path from weight w1 to the output is highlighted."""
    x1, x2 = Value(2.0), Value(0.0)
    w1, w2 = Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    with name_scope("neuron"):
        n = x1 * w1 + x2 * w2 + b
        o = n.tanh()
    o.backward()
    return draw_graph(o, names=locals(), highlight=w1, params=[w1, w2, b], show_saved=True)


def batchnorm_scalar() -> GraphPicture:
    """BatchNorm over one feature of a batch of 4, composite vs fused, with what each saves."""
    from minigrad.batchnorm.scalar import batch_norm_composite, batch_norm_fused

    xs = [0.5, -1.0, 2.0, 0.25]
    upstream = [1.0, -2.0, 0.5, 3.0]
    outs, params = {}, []
    for name, fn in (("composite", batch_norm_composite), ("fused", batch_norm_fused)):
        column = [Value(x, label=f"x[{i}]") for i, x in enumerate(xs)]
        gamma, beta = Value(1.5, label="gamma"), Value(0.1, label="beta")
        params += [gamma, beta]  # drawn as parameters, as the tensor picture draws them
        ys = fn(column, gamma, beta)
        loss = value_sum(g * y for g, y in zip(upstream, ys, strict=True))
        loss.label = "L"
        loss.backward()
        outs[name] = loss
    return draw_graphs_side_by_side(outs, show_saved=True, params=params)


def tensor_available() -> bool:
    """Whether the tensor engine is importable (it is written alongside this package)."""
    try:
        from minigrad.tensor import Tensor  # noqa: F401
    except ImportError:
        return False
    return True


def tensor_mlp() -> GraphPicture:
    """A tensor MLP layer pair: matmul, a broadcast bias (its edge is marked), relu, mean."""
    from minigrad.tensor import Tensor

    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(8, 3)))
    x.label = "x"
    W1 = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    b1 = Tensor(np.zeros(4), requires_grad=True)
    W2 = Tensor(rng.normal(size=(4, 1)), requires_grad=True)
    with name_scope("layer1"):
        h = (x @ W1 + b1).relu()
    with name_scope("layer2"):
        out = h @ W2
    loss = (out * out).mean()
    loss.backward()
    return draw_graph(loss, names=locals())


def batchnorm_tensor() -> GraphPicture:
    """Tensor BatchNorm on a (6, 2) batch, composite vs fused, with the arrays each saves."""
    from minigrad.batchnorm.tensor import batch_norm_composite, batch_norm_fused
    from minigrad.tensor import Tensor

    data = np.random.default_rng(1).normal(size=(6, 2))
    upstream = np.random.default_rng(2).normal(size=(6, 2))
    outs, inputs = {}, []
    for name, fn in (("composite", batch_norm_composite), ("fused", batch_norm_fused)):
        x = Tensor(data, requires_grad=True)
        x.label = "x"
        inputs.append(x)  # an input (it requires grad only for dx), as in the scalar picture
        gamma = Tensor(np.ones(2), requires_grad=True)
        gamma.label = "gamma"
        beta = Tensor(np.zeros(2), requires_grad=True)
        beta.label = "beta"
        y = fn(x, gamma, beta)
        y.label = "y"
        y.backward(upstream, retain_graph=True)  # keep saved arrays, so they can be drawn
        outs[name] = y
    return draw_graphs_side_by_side(outs, show_saved=True, inputs=inputs)


# name -> (builder, needs the tensor engine)
DEMOS: dict[str, tuple[Callable[[], Any], bool]] = {
    "expression": (expression, False),
    "neuron_highlight": (neuron_highlight, False),
    "batchnorm_scalar": (batchnorm_scalar, False),
    "mlp_collapsed": (mlp_collapsed, False),
    "tensor_mlp": (tensor_mlp, True),
    "batchnorm_tensor": (batchnorm_tensor, True),
}

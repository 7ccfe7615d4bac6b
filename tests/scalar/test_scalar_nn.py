"""micrograd-style nn on the scalar engine: structure, reproducibility, batches, learning."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad import Value
from minigrad.datasets import make_moons
from minigrad.scalar.nn import MLP, Activation, BatchNorm1d, Layer, Module, Neuron


def test_mlp_structure_parameters_and_repr():
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert repr(model).startswith("MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2)")
    assert repr(model).endswith("Layer of [LinearNeuron(16)]]")
    assert repr(Neuron(3, rng=random.Random(0), activation="tanh")) == "TanhNeuron(3)"
    assert isinstance(model([0.5, -1.0]), Value)
    out = MLP(3, [4, 2])([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 2


def test_same_seed_same_network_and_global_random_untouched():
    random.seed(123)
    before = random.getstate()
    a, b, c = MLP(2, [8, 1], seed=7), MLP(2, [8, 1], seed=7), MLP(2, [8, 1], seed=8)
    assert random.getstate() == before
    data = lambda m: [p.data for p in m.parameters()]  # noqa: E731
    assert data(a) == data(b) != data(c)
    assert all(-1 <= w <= 1 for w in data(a))
    assert a.layers[0].neurons[0].b.data == 0.0


def test_neuron_matches_pytorch_forward_and_backward():
    rng = random.Random(3)
    neuron = Neuron(4, rng=rng)
    neuron.b.data = 0.25
    x = [0.5, -1.0, 2.0, 0.1]
    out = neuron(x)
    out.backward()
    w = torch.tensor([p.data for p in neuron.w], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.25, dtype=torch.float64, requires_grad=True)
    ref = torch.relu(w @ torch.tensor(x, dtype=torch.float64) + b)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-14)
    assert [p.grad for p in neuron.w] == pytest.approx(w.grad.tolist(), rel=1e-14)
    assert neuron.b.grad == pytest.approx(b.grad.item())


def test_neuron_weighted_sum_is_one_node():
    neuron = Neuron(5, nonlin=False, rng=random.Random(0))
    out = neuron([1.0] * 5)
    assert out._op == "sum" and len(out._prev) == 6  # five products and the bias


def test_mlp_gradcheck_against_central_differences():
    model = MLP(3, [4, 3, 1], seed=1, activation="tanh")

    def squared_score(*params):  # gradcheck nudges the parameters' .data in place
        return model([0.3, -0.8, 1.1]) ** 2

    mg.gradcheck(squared_score, model.parameters())


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(2, [3, 1], activation="gelu")
    with pytest.raises(ValueError, match="nouts must list at least one layer"):
        MLP(2, [])
    with pytest.raises(ValueError, match="Neuron: nin must be a positive int"):
        Neuron(0)
    with pytest.raises(ValueError, match="Neuron: expected 2 inputs, got 3"):
        MLP(2, [3, 1])([1.0, 2.0, 3.0])


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_forward_batch_equals_one_example_at_a_time():
    model = MLP(2, [5, 3], seed=2)
    rows = [[0.1, 0.2], [-1.0, 0.5], [2.0, -0.3]]
    batch = model.forward_batch(rows)
    for row, out in zip(rows, batch, strict=True):
        assert [v.data for v in out] == [v.data for v in model(row)]
    layer = Layer(2, 3, rng=random.Random(0))
    assert len(layer.forward_batch(rows)) == 3 and len(layer(rows[0])) == 3


def test_mlp_with_batchnorm_between_linear_layers():
    model = MLP(2, [4, 4, 1], seed=0, norm=BatchNorm1d)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "Layer",
        "BatchNorm1d",
        "Activation",
        "Layer",
        "BatchNorm1d",
        "Activation",
        "Layer",
    ]
    assert isinstance(model.layers[2], Activation) and isinstance(model.layers[0], Module)
    assert len(model.parameters()) == (2 * 4 + 4) + 2 * 4 + (4 * 4 + 4) + 2 * 4 + (4 + 1)
    rows = [[0.1, 0.2], [-1.0, 0.5], [2.0, -0.3], [0.7, 0.7]]
    outs = model.forward_batch(rows)
    assert len(outs) == 4 and all(isinstance(o, Value) for o in outs)
    mg.value_sum(outs).backward()
    gamma = model.layers[1].weight[0]
    assert gamma.grad != 0.0
    # hidden pre-activations are normalized over the batch: mean 0 in training mode
    hidden = model.layers[1]([[v for v in model.layers[0](r)] for r in rows])
    assert abs(sum(row[0].data for row in hidden)) < 1e-9
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        model([0.1, 0.2])  # one example cannot be normalized over a batch in training mode
    model.eval()
    assert not model.training and not model.layers[1].training
    assert isinstance(model([0.1, 0.2]), Value)  # eval mode uses running statistics


def test_mlp_learns_two_moons():
    X, y = make_moons(32, noise=0.1, seed=0)
    rows, targets = X.tolist(), (2.0 * y - 1.0).tolist()
    model = MLP(2, [12, 12, 1], seed=0)
    params = model.parameters()
    for step in range(40):
        scores = [model(row) for row in rows]
        hinge = mg.value_sum((1 - t * s).relu() for t, s in zip(targets, scores, strict=True))
        loss = hinge / len(rows) + 1e-4 * mg.value_sum(p * p for p in params)
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * step / 40
        for p in params:
            p.data -= lr * p.grad
    with mg.no_grad():
        predictions = np.array([model(row).data > 0 for row in rows])
    accuracy = float((predictions == (y == 1)).mean())
    assert accuracy >= 0.95, accuracy


def test_each_layer_is_a_name_scope_so_a_big_mlp_graph_collapses():
    model = MLP(2, [16, 16, 1], seed=0)
    X, _ = make_moons(24, noise=0.1, seed=0)
    loss = mg.value_sum(model(list(map(float, row))).relu() for row in X)
    order = mg.topological_order(loss)
    scopes = {n._scope for n in order}
    assert {("layer 0: Layer",), ("layer 1: Layer",), ("layer 2: Layer",)} <= scopes
    assert len(order) > 5000  # too many to draw one by one, so the drawing collapses layers
    source = mg.draw_graph(loss).source
    assert "layer 1: Layer" in source and source.count("->") < 200

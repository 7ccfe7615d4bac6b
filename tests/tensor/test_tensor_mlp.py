"""A tiny MLP written with raw Tensor ops (no nn, no optim) learns two moons."""

from __future__ import annotations

import itertools

import numpy as np

import minigrad as mg
from minigrad.datasets import make_moons


def test_raw_tensor_mlp_learns_two_moons():
    x_np, y_np = make_moons(200, noise=0.1, seed=0)
    x = mg.Tensor(x_np.astype(np.float32))
    y = mg.Tensor(y_np)
    rng = np.random.default_rng(0)
    sizes = [2, 16, 16, 2]
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        w = mg.randn(n_in, n_out, rng=rng) * float(np.sqrt(2.0 / n_in))
        params += [w.detach().requires_grad_(), mg.zeros(n_out, requires_grad=True)]

    def forward(inputs):
        h = inputs
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = h.relu()
        return h

    rows = np.arange(len(y_np))
    first_loss = None
    for _ in range(300):
        loss = -forward(x).log_softmax(dim=1)[rows, y.data].mean()
        first_loss = first_loss if first_loss is not None else loss.item()
        for p in params:
            p.grad = None
        loss.backward()
        with mg.no_grad():
            for p in params:
                p.data -= 0.5 * p.grad

    assert loss.dtype == np.float32
    assert loss.item() < 0.1 < first_loss
    with mg.no_grad():
        accuracy = (forward(x).argmax(dim=1).data == y_np).mean()
    assert accuracy > 0.97

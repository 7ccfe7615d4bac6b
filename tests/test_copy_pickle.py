"""copy.deepcopy and pickle in both engines: flat whatever the graph's depth.

The rule, as PyTorch's for tensors: deepcopy copies leaves and refuses a node an op made
(copying it would copy the graph behind it); pickle saves any node as a leaf, without
its graph. Models and optimizers round-trip as before.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad import Tensor, nn, optim
from minigrad.scalar.nn import MLP
from minigrad.scalar.value import Value

DEPTH = 5000


def tensor_chain() -> tuple[Tensor, Tensor]:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(DEPTH):
        y = y * 1.0
    return x, y


def value_chain() -> tuple[Value, Value]:
    x = Value(1.5)
    y = x
    for _ in range(DEPTH):
        y = y * 1.0
    return x, y


def test_deepcopy_of_a_deep_non_leaf_is_refused_as_in_pytorch():
    _, y = tensor_chain()
    with pytest.raises(RuntimeError, match=r"deepcopy: only leaf tensors .* made by 'mul'"):
        copy.deepcopy(y)
    t = torch.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
        copy.deepcopy(t)  # the behaviour we follow
    _, v = value_chain()
    with pytest.raises(RuntimeError, match=r"deepcopy: only leaf Values .* made by '\*'"):
        copy.deepcopy(v)


def test_pickle_of_a_deep_non_leaf_gives_a_leaf_as_in_pytorch():
    _, y = tensor_chain()
    z = pickle.loads(pickle.dumps(y))
    assert z.is_leaf and z.requires_grad and z.grad_fn is None
    np.testing.assert_array_equal(z.data, y.data)
    t = pickle.loads(pickle.dumps(torch.ones(2, requires_grad=True) * 2))
    assert t.is_leaf and t.requires_grad  # PyTorch does the same
    _, v = value_chain()
    w = pickle.loads(pickle.dumps(v))
    assert type(w) is Value and w._prev == () and w.data == v.data


def test_backward_still_handles_the_chain():
    x, y = tensor_chain()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_leaves_copy_with_their_grad_and_class():
    p = nn.Parameter(np.arange(3.0))
    p.grad = np.ones(3)
    for clone in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(clone) is nn.Parameter and clone.requires_grad
        np.testing.assert_array_equal(clone.data, p.data)
        np.testing.assert_array_equal(clone.grad, p.grad)
        clone.data += 1
        assert p.data[0] == 0.0
    v = Value(2.0, label="v")
    v.grad = 0.5
    for clone in (copy.deepcopy(v), pickle.loads(pickle.dumps(v))):
        assert (clone.data, clone.grad, clone.label) == (2.0, 0.5, "v") and clone is not v


def test_shared_parameters_stay_shared_in_a_copy():
    p = nn.Parameter(np.ones(2))
    a, b = copy.deepcopy([p, p])
    assert a is b


def test_a_model_and_its_optimizer_round_trip_together():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3), nn.Linear(3, 1, rng=1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = Tensor(np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32))
    model(x).sum().backward()
    opt.step()
    for m2, o2 in (copy.deepcopy((model, opt)), pickle.loads(pickle.dumps((model, opt)))):
        params = list(m2.parameters())
        assert set(o2.state) == set(params)  # the state follows the copied parameters
        assert o2.state[params[0]]["step"] == 1
        for before, after in zip(model.state_dict().values(), m2.state_dict().values()):
            np.testing.assert_array_equal(before, after)
        m2(x).sum().backward()
        o2.step()  # trains on


def test_a_scalar_mlp_round_trips_after_a_forward():
    mlp = MLP(2, [4, 1])
    out = mlp([1.0, -1.0])
    for clone in (copy.deepcopy(mlp), pickle.loads(pickle.dumps(mlp))):
        assert [p.data for p in clone.parameters()] == [p.data for p in mlp.parameters()]
        out2 = clone([1.0, -1.0])
        assert (out2[0] if isinstance(out2, list) else out2).data == (
            out[0] if isinstance(out, list) else out
        ).data

"""Module: registration, walking, modes, dtype, state_dict (against PyTorch), repr."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_nn import to_torch

from minigrad import Tensor, nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4, rng=0)
        self.act = nn.Tanh()
        self.register_buffer("steps", Tensor(np.zeros(2, dtype=np.float32)))
        self.register_buffer("scratch", Tensor(np.zeros(1, dtype=np.float32)), persistent=False)
        self.note = "not registered"

    def forward(self, x):
        return self.act(self.fc(x))


class TorchBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.act = torch.nn.Tanh()
        self.register_buffer("steps", torch.zeros(2))
        self.register_buffer("scratch", torch.zeros(1), persistent=False)

    def forward(self, x):
        return self.act(self.fc(x))


def mlp(seed=0, dtype=None):
    return nn.Sequential(
        nn.Linear(2, 16, rng=seed, dtype=dtype),
        nn.ReLU(),
        nn.Linear(16, 16, rng=seed + 1, dtype=dtype),
        nn.Tanh(),
        nn.Linear(16, 3, rng=seed + 2, dtype=dtype),
    )


def torch_mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(2, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 3),
    )


# ---------------------------------------------------------------- registration and walking


def test_attributes_are_filed_by_kind():
    block = Block()
    assert list(block._parameters) == []
    assert list(block._modules) == ["fc", "act"]
    assert list(block._buffers) == ["steps", "scratch"]
    assert [n for n, _ in block.named_parameters()] == ["fc.weight", "fc.bias"]
    assert [n for n, _ in block.named_buffers()] == ["steps", "scratch"]
    assert block.note == "not registered" and "note" not in block._parameters
    assert list(block.children()) == [block.fc, block.act]
    assert [n for n, _ in block.named_modules()] == ["", "fc", "act"]


def test_named_parameters_match_pytorch_names_and_order():
    ours, theirs = nn.Sequential(Block(), mlp()), torch.nn.Sequential(TorchBlock(), torch_mlp())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_a_shared_parameter_is_listed_once_and_reassignment_replaces():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[1].weight = model[0].weight
    assert len(list(model.parameters())) == 3
    model[1].weight = nn.Parameter(np.ones((2, 2), dtype=np.float32))
    assert len(list(model.parameters())) == 4
    assert np.all(model.state_dict()["1.weight"] == 1)


def test_reassigning_a_registered_name_to_another_kind_moves_it():
    block = Block()
    block.fc = None  # a declared sub-module set to None disappears from the walk
    assert [n for n, _ in block.named_parameters()] == []
    block.fc = nn.Parameter(np.zeros(3, dtype=np.float32))
    assert "fc" in block._parameters and "fc" not in block._modules
    del block.fc
    assert "fc" not in block._parameters and not hasattr(block, "fc")


def test_registration_errors():
    class Forgetful(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Forgetful()
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        layer.weight = Tensor(np.zeros((2, 2), dtype=np.float32))
    assert isinstance(layer.weight, nn.Parameter)
    with pytest.raises(TypeError, match="cannot assign 'ndarray' as buffer 'steps'"):
        Block().steps = np.zeros(2)
    with pytest.raises(KeyError, match="be empty or contain"):
        layer.register_buffer("a.b", Tensor(np.zeros(1)))
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), "relu")


def test_parameter_is_a_leaf_tensor_requiring_grad():
    p = nn.Parameter(np.arange(3.0))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf and p.dtype == np.float64
    assert repr(p).startswith("Parameter containing:\ntensor(")
    shared = Tensor(np.zeros(2, dtype=np.float32))
    assert nn.Parameter(shared).data is shared.data


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Empty has no forward"):
        type("Empty", (nn.Module,), {})()(Tensor(np.zeros(1)))


# ---------------------------------------------------------------- modes and gradients


def test_train_and_eval_reach_every_module():
    model = nn.Sequential(Block(), nn.Sequential(nn.Dropout(0.5), nn.ReLU()))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError, match="mode must be a bool"):
        model.train("no")


def test_zero_grad_sets_none_or_zeros():
    model = mlp()
    model(Tensor(np.ones((4, 2), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None and np.any(p.grad != 0) for p in model.parameters())
    grads = [p.grad for p in model.parameters()]
    model.zero_grad(set_to_none=False)
    for p, g in zip(model.parameters(), grads, strict=True):
        assert p.grad is g and not np.any(g)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------- dtype


def test_default_dtype_is_float32_and_to_converts_in_place():
    model = nn.Sequential(Block(), mlp())
    params = list(model.parameters())
    assert {p.dtype for p in params} == {np.dtype(np.float32)}
    assert model.double() is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # same objects
    assert {t.dtype for t in [*model.parameters(), *model.buffers()]} == {np.dtype(np.float64)}
    model.float()
    assert {t.dtype for t in [*model.parameters(), *model.buffers()]} == {np.dtype(np.float32)}
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int64"):
        model.to(np.int64)


def test_to_keeps_integer_buffers_and_converts_gradients():
    bn = nn.BatchNorm1d(3)
    model = nn.Sequential(nn.Linear(3, 3))
    model.register_buffer("count", Tensor(np.array(0, dtype=np.int64)))
    model(Tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    model.double()
    assert model.count.dtype == np.int64
    assert model[0].weight.grad.dtype == np.float64
    bn.double()
    assert bn.num_batches_tracked.dtype == np.int64 and bn.running_mean.dtype == np.float64


def test_dtype_mismatch_is_an_error_naming_both():
    layer = nn.Linear(2, 3)
    with pytest.raises(
        TypeError, match="Linear: input dtype float64 does not match weight dtype float32"
    ):
        layer(Tensor(np.zeros((4, 2))))
    out = layer.double()(Tensor(np.zeros((4, 2))))
    assert out.dtype == np.float64


# ---------------------------------------------------------------- state_dict


def test_state_dict_loads_into_torch_and_gives_the_same_outputs():
    model, theirs = mlp(dtype=np.float64), torch_mlp().double()
    to_torch(model, theirs)
    x = np.random.default_rng(0).standard_normal((8, 2))
    np.testing.assert_allclose(
        model(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-12, atol=1e-12
    )


def test_torch_state_dict_loads_into_ours():
    torch.manual_seed(0)
    theirs = torch_mlp()
    model = mlp()
    result = model.load_state_dict(theirs.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = np.random.default_rng(1).standard_normal((5, 2)).astype(np.float32)
    np.testing.assert_allclose(
        model(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_state_dict_round_trip_and_values_are_copies():
    a, b = mlp(seed=0), mlp(seed=10)
    state = a.state_dict()
    a[0].weight.data += 1  # training goes on; the saved state must not follow
    assert not np.allclose(state["0.weight"], a[0].weight.data)
    weight_object = b[0].weight
    b.load_state_dict(state)
    assert b[0].weight is weight_object  # loaded in place
    for key, value in b.state_dict().items():
        np.testing.assert_array_equal(value, state[key])


def test_buffers_are_in_state_dict_unless_non_persistent():
    block = Block()
    assert list(block.state_dict()) == ["steps", "fc.weight", "fc.bias"]  # own state first
    assert list(block.state_dict()) == list(TorchBlock().state_dict())


def _snapshot(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("2.bias"), r"missing key\(s\): '2.bias'"),
        (lambda s: s.update({"9.weight": np.zeros(1)}), r"unexpected key\(s\): '9.weight'"),
        (
            lambda s: s.update({"2.weight": np.zeros((16, 17), dtype=np.float32)}),
            r"size mismatch for '2.weight': the checkpoint has shape \(16, 17\), "
            r"the model has shape \(16, 16\)",
        ),
    ],
)
def test_a_bad_state_dict_names_the_key_and_loads_nothing(change, message):
    model, other = mlp(seed=0), mlp(seed=5)
    state = other.state_dict()
    state["0.weight"] = state["0.weight"] + 100  # would be loaded first if loading were eager
    change(state)
    before = _snapshot(model)
    with pytest.raises(RuntimeError, match=message):
        model.load_state_dict(state)
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())


def test_non_strict_load_reports_missing_and_unexpected_keys():
    model = mlp()
    state = mlp(seed=3).state_dict()
    del state["0.bias"]
    state["extra"] = np.zeros(1)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model[0].weight.data, state["0.weight"])
    with pytest.raises(RuntimeError, match="size mismatch"):
        state["0.weight"] = np.zeros((2, 16))
        model.load_state_dict(state, strict=False)


def test_loading_casts_to_the_model_dtype_but_not_floats_into_ints():
    model = mlp(dtype=np.float32)
    state = {k: v.astype(np.float64) for k, v in mlp(seed=4, dtype=np.float64).state_dict().items()}
    model.load_state_dict(state)
    assert model[0].weight.dtype == np.float32
    np.testing.assert_allclose(model[0].weight.data, state["0.weight"], rtol=1e-6)
    counter = nn.Module()
    counter.register_buffer("n", Tensor(np.array(0, dtype=np.int64)))
    with pytest.raises(
        RuntimeError, match="dtype mismatch for 'n': cannot load float64 into int64"
    ):
        counter.load_state_dict({"n": np.array(1.5)})


# ---------------------------------------------------------------- repr and Sequential


def test_repr_matches_pytorch():
    ours = nn.Sequential(
        nn.Linear(2, 16),
        nn.ReLU(),
        nn.Sequential(nn.Linear(16, 4, bias=False), nn.Sigmoid()),
        nn.Identity(),
        nn.Flatten(),
        nn.Tanh(),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(2, 16),
        torch.nn.ReLU(),
        torch.nn.Sequential(torch.nn.Linear(16, 4, bias=False), torch.nn.Sigmoid()),
        torch.nn.Identity(),
        torch.nn.Flatten(),
        torch.nn.Tanh(),
    )
    assert repr(ours) == repr(theirs)
    assert repr(ours).startswith(
        "Sequential(\n  (0): Linear(in_features=2, out_features=16, bias=True)\n"
    )


def test_sequential_indexing_and_growth():
    model = mlp()
    assert len(model) == 5 and isinstance(model[-1], nn.Linear)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear", "Tanh", "Linear"]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and head[0] is model[0]
    with pytest.raises(IndexError, match="index 5 is out of range for 5 modules"):
        model[5]
    model.append(nn.ReLU())
    assert list(model._modules)[-1] == "5"
    x = Tensor(np.ones((3, 2), dtype=np.float32))
    assert model(x).shape == (3, 3) and np.all(model(x).data >= 0)


def test_a_model_with_batchnorm_buffers_round_trips_through_torch():
    ours = nn.Sequential(
        nn.Linear(3, 5, dtype=np.float64, rng=0),
        nn.BatchNorm1d(5, dtype=np.float64),
        nn.ReLU(),
        nn.Linear(5, 2, dtype=np.float64, rng=1),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Linear(5, 2)
    ).double()
    rng = np.random.default_rng(0)
    for _ in range(3):  # training steps move the running statistics
        ours(Tensor(rng.standard_normal((8, 3))))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "1.num_batches_tracked" in ours.state_dict()
    to_torch(ours, theirs)
    assert int(theirs[1].num_batches_tracked) == 3
    ours.eval(), theirs.eval()
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(
        ours(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-12, atol=1e-12
    )
    fresh = nn.Sequential(
        nn.Linear(3, 5, dtype=np.float64),
        nn.BatchNorm1d(5, dtype=np.float64),
        nn.ReLU(),
        nn.Linear(5, 2, dtype=np.float64),
    )
    fresh.load_state_dict(theirs.state_dict())
    fresh.eval()
    np.testing.assert_allclose(fresh(Tensor(x)).data, ours(Tensor(x)).data, rtol=1e-12, atol=1e-12)


def test_deepcopy_and_pickle_keep_registries_and_attributes_in_step():
    import copy
    import pickle

    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3), nn.Dropout(0.1, rng=0))
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert clone[0].weight is clone[0]._parameters["weight"]
        assert list(clone.state_dict()) == list(model.state_dict())
        clone[0].weight.data += 1  # an independent copy
        np.testing.assert_allclose(clone[0].weight.data, model[0].weight.data + 1)


def test_sequential_gives_each_child_a_name_scope_for_drawings():
    import minigrad as mg

    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    out = model(mg.tensor(np.ones((4, 2), dtype=np.float32))).sum()
    scopes = {node._scope for node in mg.topological_order(out)}
    assert {("0: Linear",), ("1: ReLU",), ("2: Linear",)} <= scopes
    assert "cluster" in mg.draw_graph(out).source and "1: ReLU" in mg.draw_graph(out).source

"""PyTorch's habits in minigrad, each checked against PyTorch itself.

A PyTorch user's first lines: ``x.size()``, ``x.dim()``, ``x.clone()``, ``x.pow(2)``,
``mg.exp(x)``, ``mg.sum(x, dim=1)``, ``mg.float32``, ``mg.manual_seed(0)``,
``mg.datasets``, ``mg.save`` / ``mg.load``. (The whole first script is in
``tests/test_pytorch_script.py``.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import minigrad as mg


def _pair(shape=(3, 4), seed=0):
    data = np.random.default_rng(seed).normal(size=shape)
    return mg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


def test_size_dim_numel_as_pytorch_and_size_as_numpy():
    x, t = _pair((2, 3, 5))
    assert x.size() == tuple(t.size()) == (2, 3, 5)
    for d in (0, 1, 2, -1, -3):
        assert x.size(d) == t.size(d)
    assert x.dim() == t.dim() == 3 and x.numel() == t.numel() == 30
    assert x.size == 30 and x.size == x.data.size  # NumPy's habit still holds
    for bad in (3, -4):
        with pytest.raises(IndexError, match=r"size: dimension out of range.*\(2, 3, 5\)"):
            x.size(bad)
        with pytest.raises(IndexError):
            t.size(bad)


def test_clone_is_a_copy_in_the_graph():
    x, t = _pair()
    y, u = x.clone(), t.clone()
    (y * y).sum().backward()
    (u * u).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy())
    y.data[0, 0] = 100.0  # a copy: the original does not change
    assert x.data[0, 0] != 100.0
    plain = mg.tensor([1, 2, 3]).clone()  # integer tensors too, outside the graph
    assert plain.dtype == np.int64 and plain.tolist() == [1, 2, 3] and plain.grad_fn is None


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("exp", (), {}),
        ("log", (), {}),
        ("sqrt", (), {}),
        ("tanh", (), {}),
        ("sigmoid", (), {}),
        ("relu", (), {}),
        ("abs", (), {}),
        ("clamp", (), {"min": -0.5, "max": 0.5}),
        ("pow", (3,), {}),
        ("clone", (), {}),
        ("sum", (), {}),
        ("sum", (), {"dim": 1, "keepdim": True}),
        ("mean", (), {"dim": 0}),
        ("var", (), {"dim": 1}),
        ("logsumexp", (), {"dim": 1}),
        ("softmax", (), {"dim": 1}),
        ("log_softmax", (), {"dim": 1}),
        ("reshape", ((4, 3),), {}),
        ("flatten", (), {}),
        ("transpose", (0, 1), {}),
        ("permute", ((1, 0),), {}),
        ("unsqueeze", (0,), {}),
    ],
)
def test_function_forms_and_methods_match_pytorch(name, args, kwargs):
    positive = name in ("log", "sqrt")
    x, t = _pair()
    if positive:
        x, t = mg.tensor(np.abs(x.data) + 0.1, requires_grad=True), None
        t = torch.tensor(x.data.copy(), requires_grad=True)
    weights = np.random.default_rng(1).normal(size=getattr(torch, name)(t, *args, **kwargs).shape)
    for form in ("function", "method"):
        x.grad, t.grad = None, None
        if form == "function":
            y, u = getattr(mg, name)(x, *args, **kwargs), getattr(torch, name)(t, *args, **kwargs)
        else:
            y, u = getattr(x, name)(*args, **kwargs), getattr(t, name)(*args, **kwargs)
        np.testing.assert_allclose(y.data, u.detach().numpy(), rtol=1e-12, atol=1e-12)
        (y * mg.tensor(weights)).sum().backward()
        (u * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(TypeError, match=rf"{name}\(\): argument 'input' must be a Tensor"):
        getattr(mg, name)(x.data, *args, **kwargs)


def test_matmul_argmax_from_numpy_all_any():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(
        mg.matmul(mg.tensor(a), mg.tensor(b)).data, torch.matmul(torch.tensor(a), torch.tensor(b))
    )
    x = mg.tensor(b)
    assert mg.argmax(x, dim=1).tolist() == torch.argmax(torch.tensor(b), dim=1).tolist()
    shared = mg.from_numpy(a)
    a[0, 0] = 7.0  # shares memory, as torch.from_numpy
    assert shared.data[0, 0] == 7.0 and shared.dtype == torch.from_numpy(a).numpy().dtype
    mask = mg.tensor([1.0, 2.0]) == mg.tensor([1.0, 3.0])
    assert mask.any().item() is True and mask.all().item() is False


def test_dtype_names():
    pairs = {
        "float32": torch.float32,
        "float": torch.float,
        "float64": torch.float64,
        "double": torch.double,
        "int64": torch.int64,
        "long": torch.long,
        "int32": torch.int32,
        "bool": torch.bool,
    }
    for name, torch_dtype in pairs.items():
        ours = mg.tensor([1, 0], dtype=getattr(mg, name))
        theirs = torch.tensor([1, 0], dtype=torch_dtype)
        assert ours.dtype == getattr(mg, name)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


def test_manual_seed_drives_every_default_draw():
    def draws():
        mg.manual_seed(123)
        layer = mg.nn.Linear(3, 2)
        mask = mg.nn.Dropout(0.5)(mg.ones(20))
        return [mg.randn(4).data, mg.rand(2, 2).data, layer.weight.data, layer.bias.data, mask.data]

    first, second = draws(), draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    mg.manual_seed(124)
    assert not np.array_equal(mg.randn(4).data, first[0])
    with pytest.raises(ValueError, match="manual_seed: seed must be an integer >= 0"):
        mg.manual_seed(-1)


def test_datasets_attribute_and_dtype_for_a_float32_model():
    import subprocess
    import sys

    # a fresh interpreter: `import minigrad as mg; mg.datasets` with nothing else imported
    code = "import minigrad as mg; print(mg.datasets.make_moons(4)[0].dtype)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "float64"
    X, y = mg.datasets.make_moons(16, seed=0, dtype=mg.float32)
    X64, y64 = mg.datasets.make_moons(16, seed=0)
    assert X.dtype == np.float32 and np.array_equal(y, y64)
    np.testing.assert_array_equal(X, X64.astype(np.float32))
    model = mg.nn.Linear(2, 2)  # float32, as torch.nn.Linear
    assert model(mg.tensor(X)).dtype == np.float32
    assert torch.nn.Linear(2, 2)(torch.tensor(X)).dtype == torch.float32
    for make in (mg.datasets.make_circles, mg.datasets.make_spirals):
        assert make(12, dtype=mg.float32)[0].dtype == np.float32
    with pytest.raises(ValueError, match="make_moons: dtype must be float32 or float64, got int64"):
        mg.datasets.make_moons(4, dtype=np.int64)
    with pytest.raises(TypeError, match="Linear: input dtype float64 does not match"):
        model(mg.tensor(X64))  # PyTorch refuses this too


def test_save_and_load_a_state_dict_both_ways(tmp_path: Path):
    model = mg.nn.Sequential(mg.nn.Linear(2, 3), mg.nn.BatchNorm1d(3))
    path = tmp_path / "model.pt"
    mg.save(model.state_dict(), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]  # the name as given
    loaded = mg.load(path)
    assert list(loaded) == list(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded[key], value)
    twin = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in loaded.items()})
    np.testing.assert_array_equal(twin[0].weight.detach().numpy(), model[0].weight.data)
    with pytest.raises(TypeError, match="save: expected a mapping"):
        mg.save([1, 2], tmp_path / "bad.pt")
    with pytest.raises(TypeError, match="save: 'a' is not an array"):
        mg.save({"a": object()}, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()  # refused before the file was made

"""A PyTorch user's first script for a toy MLP, run with ``torch`` and with ``minigrad``.

``first_script`` is written the way a PyTorch tutorial writes it, with the framework
passed in as ``torch``: every line must run unchanged with ``import minigrad as torch``.
The two runs start from the same weights (random initializations differ between the
libraries, so minigrad's are loaded into the torch model, itself a PyTorch habit) and
must then agree step by step: losses, accuracy, predictions, the saved state.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as real_torch

import minigrad


def first_script(torch: Any, workdir: Path, start_from: dict | None = None) -> dict:
    """The script. ``start_from``: initial weights to load (for the comparison only)."""
    nn, optim = torch.nn, torch.optim

    torch.manual_seed(0)
    X, y = minigrad.datasets.make_moons(128, noise=0.1, seed=0)  # the same numbers both ways
    X = torch.tensor(X, dtype=torch.float32)
    y = torch.tensor(y)  # int64 class labels
    assert tuple(X.shape) == (128, 2) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert X.size() == (128, 2) and X.size(0) == 128 and X.dim() == 2

    model = nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2)
    )
    if start_from is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in start_from.items()})
    initial = copy.deepcopy(model.state_dict())  # PyTorch's state_dict shares the weights' memory
    loss_fn = nn.CrossEntropyLoss()
    sgd = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    losses = []
    model.train()
    for step in range(60):
        if step == 30:  # switch optimizer halfway, as people do when experimenting
            sgd = optim.Adam(model.parameters(), lr=1e-2)
        logits = model(X)
        loss = loss_fn(logits, y)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
        losses.append(loss.item())

    model.eval()
    with torch.no_grad():
        logits = model(X)
        pred = logits.argmax(dim=1)
        accuracy = (pred == y).float().mean().item()
        probs = torch.softmax(logits, dim=1)
        total = torch.sum(torch.exp(logits.clone()).pow(2))  # functional forms, clone, pow

    path = workdir / "model.pt"
    torch.save(model.state_dict(), path)
    reloaded = nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2)
    )
    reloaded.load_state_dict(torch.load(path))
    reloaded.eval()
    with torch.no_grad():
        same = (reloaded(X).argmax(dim=1) == pred).all().item()

    return {
        "initial": {k: _as_numpy(v) for k, v in initial.items()},
        "losses": np.array(losses),
        "accuracy": accuracy,
        "pred": _as_numpy(pred),
        "probs": _as_numpy(probs),
        "total": total.item(),
        "reloaded_same": bool(same),
        "logits_shape": tuple(logits.shape),
        "logits_dtype": str(logits.dtype).replace("torch.", ""),
    }


def _as_numpy(value: Any) -> np.ndarray:
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    ours = first_script(minigrad, tmp_path_factory.mktemp("minigrad"))
    theirs = first_script(real_torch, tmp_path_factory.mktemp("torch"), start_from=ours["initial"])
    return ours, theirs


def test_every_line_runs_and_the_numbers_agree_with_pytorch(both: tuple[dict, dict]) -> None:
    ours, theirs = both
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4, atol=1e-5)
    assert ours["losses"][-1] < 0.5 * ours["losses"][0]  # it learned something
    assert ours["accuracy"] == pytest.approx(theirs["accuracy"], abs=1 / 128)
    assert (ours["pred"] != theirs["pred"]).sum() <= 1
    np.testing.assert_allclose(ours["probs"], theirs["probs"], atol=1e-4)
    assert ours["total"] == pytest.approx(theirs["total"], rel=1e-4)
    assert ours["reloaded_same"] and theirs["reloaded_same"]
    assert ours["logits_shape"] == theirs["logits_shape"] == (128, 2)
    assert ours["logits_dtype"] == theirs["logits_dtype"] == "float32"


def test_manual_seed_makes_the_script_repeatable(tmp_path: Path) -> None:
    first = first_script(minigrad, tmp_path)
    second = first_script(minigrad, tmp_path)
    for key in ("initial",):
        for name in first[key]:
            np.testing.assert_array_equal(first[key][name], second[key][name])
    np.testing.assert_array_equal(first["losses"], second["losses"])

"""The reference the backprop player's tests compare pages with.

``reference_run`` builds the same graph again and records its backward pass with
``record_backward()`` directly, so a page is compared with what minigrad computed,
not with the player's own bookkeeping.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from minigrad import record_backward, topological_order

CHROMIUM = os.environ.get("MINIGRAD_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def reference_run(build: Callable[[], Any]) -> dict[str, Any]:
    """Build the graph, run backward under ``record_backward()``; what to expect, per step.

    Returns the graph's ``order``, the index of each step's node, and after each step
    the gradient of every node that has one so far (the root's seed from step 1 on;
    every other node the sum of what it received, distinct parents once per visit).
    """
    root = build()
    order = topological_order(root)
    index = {id(n): k for k, n in enumerate(order)}
    with record_backward() as events:
        if hasattr(root, "requires_grad"):
            root.backward(retain_graph=True)
        else:
            root.backward()
    seed = np.asarray(root.grad, dtype=np.float64)
    shown: dict[int, np.ndarray] = {index[id(root)]: seed}
    after_step = []
    for e in events:
        seen: set[int] = set()
        for parent, delta in e.contributions:
            k = index[id(parent)]
            if delta is None or k in seen:  # a parent used twice: one delta covers both uses
                continue
            seen.add(k)
            shown[k] = shown.get(k, 0.0) + np.asarray(delta, dtype=np.float64)
        after_step.append(dict(shown))
    finals = {
        k: np.asarray(n.grad, dtype=np.float64) for k, n in enumerate(order) if n.grad is not None
    }
    return {
        "root": root,
        "order": order,
        "parents": [[index[id(p)] for p in n._prev] for n in order],
        "step_nodes": [index[id(e.node)] for e in events],
        "after_step": after_step,
        "finals": finals,
    }


def torch_batchnorm_example_grads() -> dict[str, Any]:
    """PyTorch's gradients for the ``bn-*`` examples: BatchNorm over x = [1, 2.5, -0.5]
    with gamma 1.5, beta 0.2, loss = 0.3 y0 - y1 + 2 y2 (float64)."""
    import torch

    x = torch.tensor([1.0, 2.5, -0.5], dtype=torch.float64, requires_grad=True)
    gamma = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    beta = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.batch_norm(
        x.reshape(3, 1), None, None, gamma.reshape(1), beta.reshape(1), training=True, eps=1e-5
    )
    (y.reshape(3) * torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)).sum().backward()
    return {"x": x.grad.tolist(), "gamma": gamma.grad.item(), "beta": beta.grad.item()}


def tensor_batchnorm(impl: str) -> tuple[Any, dict[str, Any], np.ndarray]:
    """Tensor BatchNorm (``impl``: fused or composite) on a (4, 2) batch, output ``y``,
    loss a weighted sum; returns the loss, the leaves and the weights."""
    import minigrad as mg
    from minigrad.batchnorm.tensor import batch_norm_composite, batch_norm_fused

    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.normal(size=(4, 2)), requires_grad=True)
    gamma = mg.Tensor(np.array([1.5, 0.5]), requires_grad=True)
    beta = mg.Tensor(np.array([0.1, -0.2]), requires_grad=True)
    x.label, gamma.label, beta.label = "x", "gamma", "beta"
    weights = rng.normal(size=(4, 2))
    norm = batch_norm_fused if impl == "fused" else batch_norm_composite
    y = norm(x, gamma, beta)
    y.label = "y"
    return (y * mg.Tensor(weights)).sum(), {"x": x, "gamma": gamma, "beta": beta}, weights

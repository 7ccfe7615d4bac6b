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

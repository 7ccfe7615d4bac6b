"""Optimizer state of a 0-d parameter survives state_dict / load_state_dict."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad import nn, optim


@pytest.mark.parametrize(
    ("name", "kwargs"), [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.1})]
)
def test_a_zero_dimensional_parameter_continues_exactly_after_a_reload(name, kwargs):
    def run(reload_after: int | None) -> float:
        p = nn.Parameter(np.array(1.0))
        opt = getattr(optim, name)([p], **kwargs)
        for step in range(6):
            if step == reload_after:
                fresh = getattr(optim, name)([p], **kwargs)
                fresh.load_state_dict(opt.state_dict())
                opt = fresh
            p.grad = np.array(0.5 + step)
            opt.step()
        return float(p.data)

    assert run(reload_after=3) == run(reload_after=None)

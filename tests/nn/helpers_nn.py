"""Shared helpers for the nn tests: move a minigrad model's state into PyTorch."""

from __future__ import annotations

import numpy as np
import torch


def to_torch(model, torch_model) -> None:
    """Load ``model``'s state_dict into ``torch_model`` (same keys, same shapes)."""
    state = {k: torch.from_numpy(v) for k, v in model.state_dict().items()}
    torch_model.load_state_dict(state, strict=True)


def torch_dtype(dtype) -> torch.dtype:
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32

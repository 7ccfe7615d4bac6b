"""``save`` and ``load``: a ``state_dict`` to a file and back, PyTorch's habit.

    mg.save(model.state_dict(), "model.pt")
    model.load_state_dict(mg.load("model.pt"))

The file is a NumPy ``.npz`` archive (whatever the name says) holding one array per key,
written and read without pickle, so loading a file runs no code (PyTorch's
``weights_only=True``). Only a flat mapping of names to arrays, tensors or numbers can be
saved: a state dict, not arbitrary objects as ``torch.save`` takes.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["load", "save"]

PathOrFile = str | os.PathLike | IO[bytes]


def save(obj: Mapping[str, Any], f: PathOrFile) -> None:
    """Write a mapping name -> array / Tensor / number to ``f`` (a path or a binary file)."""
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"save: expected a mapping of names to arrays (a state_dict), got {type(obj).__name__}"
        )
    arrays: dict[str, np.ndarray] = {}
    for key, value in obj.items():  # check everything before the file is touched
        if not isinstance(key, str):
            raise TypeError(f"save: keys must be strings, got {key!r}")
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype == object:
            raise TypeError(f"save: {key!r} is not an array or a number ({type(value).__name__})")
        arrays[key] = array
    if isinstance(f, str | os.PathLike):
        with open(f, "wb") as file:  # a path is used as given: np.savez would add ".npz"
            np.savez(file, **arrays)
    else:
        np.savez(f, **arrays)


def load(f: PathOrFile) -> OrderedDict[str, np.ndarray]:
    """The mapping ``save`` wrote, as NumPy arrays in the saved order (no pickle)."""
    with np.load(f, allow_pickle=False) as archive:
        return OrderedDict((key, archive[key]) for key in archive.files)

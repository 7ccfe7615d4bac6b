"""dtype names as PyTorch spells them: ``mg.float32``, ``mg.float64``, ``mg.long``, ...

They are NumPy's scalar types, so ``x.dtype == mg.float32`` and
``mg.tensor(data, dtype=mg.float32)`` work as in PyTorch, and NumPy accepts them too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bool", "double", "float", "float32", "float64", "int32", "int64", "long"]

# PyTorch's names; float and bool shadow Python's builtins in this module, which uses neither
float32 = float = np.float32
float64 = double = np.float64
int32 = np.int32
int64 = long = np.int64
bool = np.bool_

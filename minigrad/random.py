"""The global random generator, PyTorch's ``manual_seed`` habit on NumPy.

Every random draw that is not given its own ``rng`` (``randn``, ``rand``, ``nn.Linear``'s
initialization, ``nn.Dropout``'s masks) comes from one module-level
``numpy.random.Generator``. ``manual_seed(0)`` replaces it with a fresh
``default_rng(0)``, so a script that starts with it gives the same numbers every run.
The numbers are NumPy's (PCG64), not PyTorch's (Mersenne Twister): the same seed gives
different weights in the two libraries.
"""

from __future__ import annotations

import numpy as np

__all__ = ["default_generator", "manual_seed"]

_state: dict[str, np.random.Generator] = {"generator": np.random.default_rng()}


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator (``torch.manual_seed``); returns it."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"manual_seed: seed must be an integer >= 0, got {seed!r}")
    _state["generator"] = np.random.default_rng(int(seed))
    return _state["generator"]


def default_generator() -> np.random.Generator:
    """The global generator: what random functions draw from when given no ``rng``."""
    return _state["generator"]

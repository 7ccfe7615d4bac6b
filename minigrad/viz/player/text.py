"""Numbers as the page writes them: one formatter (``viz.labels.number``), arrays in
full when small, else summarized; and plain JSON-ready copies for the page's script."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.viz.labels import number

# Arrays with at most this many elements are written out in full, else summarized.
SMALL_ARRAY = 12
# Significant digits of every number on the page (the JSON keeps full precision).
DIGITS = 5


def num(x: float) -> str:
    return number(x, DIGITS)


def factor(x: float) -> str:
    """A number as a factor in a formula: negative ones in parentheses."""
    t = num(x)
    return f"({t})" if float(x) < 0 else t


def text(v: Any) -> str:
    """A float, or an array in full when small (nested brackets), else its statistics."""
    if v is None:
        return "None"
    if not isinstance(v, np.ndarray):
        return num(v)
    if v.ndim == 0:
        return num(v.item())
    if v.size <= SMALL_ARRAY:
        return nested(v)
    f = v.astype(np.float64, copy=False)
    return (
        f"{v.shape}: mean {num(f.mean())}, norm {num(np.linalg.norm(f.ravel()))}, "
        f"min {num(f.min())}, max {num(f.max())}"
    )


def rows(v: Any) -> list[str] | None:
    """A small 2-D (or higher) array as lines of text, one per row, for under its box."""
    if not isinstance(v, np.ndarray) or v.ndim < 2 or v.size > SMALL_ARRAY:
        return None
    return [nested(row) for row in v.reshape(-1, v.shape[-1])]


def nested(a: np.ndarray) -> str:
    if a.ndim == 1:
        return "[" + ", ".join(num(x) for x in a.tolist()) + "]"
    return "[" + ", ".join(nested(row) for row in a) + "]"


def plain(v: Any) -> Any:
    """A JSON-ready copy of a gradient or value: a float or nested lists of floats."""
    if v is None:
        return None
    if isinstance(v, np.ndarray):
        return np.asarray(v, dtype=np.float64).tolist()
    return float(v)


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by None (JSON has neither)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj

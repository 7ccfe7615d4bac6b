"""What a node says: the text and colours of every box in a graph picture.

Labels are Graphviz *HTML-like* labels (``<...>``), so a node can hold a small table:
name, data and grad side by side for a scalar; shape, values (or summary statistics)
and gradient (values, or its norm and a heat strip) for a tensor. Every piece of user
text goes through ``escape`` first: in an HTML-like label a bare ``<``, ``>`` or ``&``
would end the label or break the parse.

The same number formatting serves the plain-text tree (``minigrad.viz.text``).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

__all__ = [
    "COLORS",
    "SMALL_TENSOR",
    "array_text",
    "caption",
    "escape",
    "fanout_text",
    "grad_cells",
    "number",
    "op_label",
    "scope_label",
    "shape_text",
    "value_label",
]

# A tensor with at most this many elements shows every value; a bigger one, statistics.
SMALL_TENSOR = 12

# One colour per kind of node; the legend shows the same ones.
COLORS = {
    "leaf": "#dbeafe",  # blue: an input or constant
    "parameter": "#fde68a",  # amber: a trainable leaf
    "intermediate": "#ffffff",
    "root": "#bbf7d0",  # green: where backward starts
    "op": "#e5e7eb",
    "fused": "#fdba74",  # orange: one op with a hand-written backward
    "scope": "#ede9fe",  # violet: a collapsed name scope
    "highlight": "#dc2626",
    "broadcast": "#c2410c",
    "cluster": "#f8fafc",
    "cluster_border": "#64748b",
}


def escape(text: object) -> str:
    """``text`` made safe inside an HTML-like label: ``& < > " '`` become entities.

    Control characters (a newline in a user's label, say) become spaces, since the
    label grammar has no raw line breaks; any other unicode passes through as UTF-8.
    """
    s = str(text)
    if any(ord(c) < 32 or ord(c) == 127 for c in s):
        s = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in s)
    return html.escape(s, quote=True)


def number(x: float, precision: int) -> str:
    """``x`` with ``precision`` significant digits (``-0`` shown as ``0``)."""
    x = float(x)
    if x == 0.0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{precision}g}"


def shape_text(shape: tuple[int, ...]) -> str:
    """``(4, 3)``, ``(3,)``, or ``()`` for a 0-d tensor."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def array_text(a: np.ndarray, precision: int) -> str:
    """Every value of a small array (nested brackets), else mean / std / min / max."""
    a = np.asarray(a)
    if a.size == 0:
        return "[]"
    if a.size <= SMALL_TENSOR:
        if a.ndim == 0:
            return number(a.item(), precision)
        return _nested(a, precision)
    f = a.astype(np.float64, copy=False)
    return (
        f"mean {number(f.mean(), precision)}  std {number(f.std(), precision)}  "
        f"min {number(f.min(), precision)}  max {number(f.max(), precision)}"
    )


def _nested(a: np.ndarray, precision: int) -> str:
    if a.ndim == 1:
        return "[" + ", ".join(number(x, precision) for x in a.tolist()) + "]"
    return "[" + ", ".join(_nested(row, precision) for row in a) + "]"


def fanout_text(uses: int) -> str:
    """Why this node's gradient is a sum: one contribution per use."""
    return f"grad = sum of {uses} contributions (+=)"


# ---------------------------------------------------------------- HTML pieces


def _table(rows: list[str]) -> str:
    body = "".join(f"<TR>{r}</TR>" for r in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">{body}</TABLE>>'


def _small(text: str) -> str:
    return f'<FONT POINT-SIZE="10">{text}</FONT>'


def _heat_color(t: float) -> str:
    """t in [-1, 1] -> blue (negative) through white (0) to red (positive); NaN grey."""
    if math.isnan(t):
        return "#9ca3af"
    t = max(-1.0, min(1.0, t))
    fade = round(255 * (1.0 - abs(t)))
    return f"#ff{fade:02x}{fade:02x}" if t >= 0 else f"#{fade:02x}{fade:02x}ff"


def grad_cells(grad: np.ndarray, cells: int = 24) -> str:
    """A heat strip: the flattened gradient in ``cells`` chunks, coloured by chunk mean.

    Red is positive, blue negative, white zero, scaled by the largest |chunk mean|, so
    a learner sees at a glance where the gradient is large and which way it points.
    """
    flat = np.asarray(grad, dtype=np.float64).ravel()
    chunks = np.array_split(flat, min(cells, flat.size))
    means = np.array([c.mean() for c in chunks])
    finite = np.abs(means[np.isfinite(means)])
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    tds = "".join(
        f'<TD BGCOLOR="{_heat_color(m / scale)}" WIDTH="6" HEIGHT="8" FIXEDSIZE="TRUE"></TD>'
        for m in means
    )
    return (
        f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{tds}</TR></TABLE>'
    )


def value_label(
    name: str,
    data: Any,
    grad: Any,
    *,
    show_data: bool,
    show_grad: bool,
    precision: int,
    uses: int,
) -> str:
    """The box of a value node: a ``Value`` (one row) or a ``Tensor`` (a few rows).

    ``uses`` is how many times ops consumed the node; more than one means its gradient
    is a sum of contributions, and the box says so.
    """
    title = f"<B>{escape(name)}</B>"
    fanout = _small(escape(fanout_text(uses))) if uses > 1 and show_grad else ""
    if not isinstance(data, np.ndarray):  # a scalar Value: name | data | grad
        cells = [f"<TD>{title}</TD>"]
        if show_data:
            cells.append(f"<TD>data {escape(number(data, precision))}</TD>")
        if show_grad:
            cells.append(f"<TD>grad {escape(number(grad, precision))}</TD>")
        rows = ["".join(cells)]
        if fanout:
            rows.append(f'<TD COLSPAN="{len(cells)}">{fanout}</TD>')
        return _table(rows)
    info = escape(f"{shape_text(data.shape)} {data.dtype}")
    wide = '<TD ALIGN="LEFT" COLSPAN="2">'
    rows = [f"{wide}{title}  {_small(info)}</TD>"]
    if show_data:
        rows.append(f"{wide}data {_array_html(data, precision)}</TD>")
    if show_grad:
        rows.append(_tensor_grad_row(grad, precision, wide))
    if fanout:
        rows.append(f"{wide}{fanout}</TD>")
    return _table(rows)


def _array_html(a: np.ndarray, precision: int) -> str:
    """``array_text``, escaped; a small matrix gets one line per row (a column, one line)."""
    if a.ndim >= 2 and a.shape[-1] > 1 and 0 < a.size <= SMALL_TENSOR:
        rows = [escape(_nested(row, precision)) for row in a.reshape(-1, a.shape[-1])]
        return '<BR ALIGN="LEFT"/>'.join(rows) + '<BR ALIGN="LEFT"/>'
    return escape(array_text(a, precision))


def _tensor_grad_row(grad: Any, precision: int, wide: str) -> str:
    """The gradient's values when small; else its norm and a heat strip (two cells)."""
    if grad is None:
        return f"{wide}grad None</TD>"
    g = np.asarray(grad)
    if g.size <= SMALL_TENSOR:
        return f"{wide}grad {_array_html(g, precision)}</TD>"
    norm = float(np.linalg.norm(g.astype(np.float64, copy=False).ravel()))
    return (
        f'<TD ALIGN="LEFT">grad norm {escape(number(norm, precision))}</TD><TD>{grad_cells(g)}</TD>'
    )


def op_label(op: str, *, fused: bool, saved: str = "") -> str:
    """An op: its name; a fused op also says so (and is drawn in another shape and colour)."""
    rows = [f"<TD><B>{escape(op or '?')}</B></TD>"]
    if fused:
        rows.append(f"<TD>{_small('fused op: hand-written backward')}</TD>")
    if saved:
        rows.append(f"<TD>{_small(escape(saved))}</TD>")
    return _table(rows)


def scope_label(path: tuple[str, ...], count: int, op_counts: dict[str, int]) -> str:
    """A collapsed scope: its path, how many nodes it hides and its most common ops."""
    common = sorted(op_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
    ops = ", ".join(f"{n:,} {op}" for op, n in common)
    collapsed = f"{count:,} {'node' if count == 1 else 'nodes'} collapsed"
    rows = [
        f"<TD><B>{escape('/'.join(path))}</B></TD>",
        f"<TD>{_small(escape(collapsed))}</TD>",
    ]
    if ops:
        rows.append(f"<TD>{_small(escape(ops))}</TD>")
    return _table(rows)


def caption(lines: list[str], title: str = "") -> str:
    """A picture's caption (graph label): an optional bold title over a few lines of text."""
    rows = [f'<TD ALIGN="LEFT"><B>{escape(title)}</B></TD>'] if title else []
    rows += [f'<TD ALIGN="LEFT">{_small(escape(line))}</TD>' for line in lines]
    return _table(rows)

"""The page: one self-contained HTML file that plays the recorded steps.

Inline SVG (the graph as ``draw_graph`` draws it, values only: the page writes each
gradient under its box as the steps arrive), inline CSS and script (``player.css``,
``player.js`` beside this module), the steps as inline JSON. It loads nothing from the
network.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from minigrad.viz.player.nodes import is_tensor
from minigrad.viz.player.record import backprop_steps, check_root
from minigrad.viz.player.text import json_safe

__all__ = ["BackpropPlayer", "backprop_player"]


class BackpropPlayer:
    """A made page: ``html`` (the whole file), ``steps`` (the data it plays), ``path``.

    In Jupyter the object displays the page inline (in an iframe, so its script and
    styles stay apart from the notebook's).
    """

    def __init__(self, html_text: str, steps: dict[str, Any], path: Path | None) -> None:
        self.html = html_text
        self.steps = steps
        self.path = path

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path else ""
        return f"BackpropPlayer({len(self.steps['steps'])} steps{where})"

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            'style="width:100%;height:680px;border:1px solid #cbd5e1" '
            'sandbox="allow-scripts"></iframe>'
        )

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (UTF-8) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.html, encoding="utf-8")
        self.path = target
        return target


def _graph_svg(root: Any) -> str:
    """The graph as inline SVG: ``draw_graph`` with values and no gradients.

    The page writes the gradients in itself, step by step, under each box; the SVG's
    prolog and doctype are dropped so it can sit inside HTML.
    """
    from minigrad.viz.graph import draw_graph

    picture = draw_graph(root, show_grad=False, max_nodes=None, legend=False)
    # room under each box for the gradient the page writes there
    # (a small tensor's gradient takes a line per row: more room between boxes)
    tensors = is_tensor(root)
    picture.attr(nodesep="0.9" if tensors else "0.45", ranksep="0.55")
    svg = picture.pipe(format="svg").decode("utf-8")
    svg = svg[svg.index("<svg") :]
    return re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)


def _asset(name: str) -> str:
    return resources.files("minigrad.viz.player").joinpath(name).read_text(encoding="utf-8")


def _page(title: str, svg: str, steps: dict[str, Any]) -> str:
    # "</" inside a script block would end it early; JSON allows "<\/" for "</".
    # JSON has no NaN or inf (the page's text still says "nan"); "</" would end the script
    data = json.dumps(json_safe(steps), ensure_ascii=False, allow_nan=False)
    data = data.replace("</", "<\\/")
    t = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{t}</title>
<style>
{_asset("player.css")}
</style>
</head>
<body>
<header>
  <h1>{t}</h1>
  <div id="mg-controls">
    <button id="mg-prev" title="previous step (←)">◀ prev</button>
    <button id="mg-play" title="play / pause">▶ play</button>
    <button id="mg-next" title="next step (→)">next ▶</button>
    <label>speed <select id="mg-speed">
      <option value="0.5">0.5×</option><option value="1" selected>1×</option>
      <option value="2">2×</option><option value="4">4×</option>
    </select></label>
    <input id="mg-slider" type="range" min="0" max="{len(steps["steps"])}" value="0"
      aria-label="step">
    <span id="mg-counter"></span>
    <button id="mg-zoom" title="fit the graph to the pane, or show it at full size"></button>
  </div>
</header>
<main>
  <section id="mg-graph">{svg}</section>
  <aside id="mg-panel">
    <div id="mg-explain"><h2 id="mg-step-title"></h2><div id="mg-lines"></div>
      <p id="mg-check-row"><button id="mg-check">check</button>
        <span id="mg-selected"></span></p>
      <div id="mg-check-result"></div></div>
    <h2>steps</h2>
    <ol id="mg-steps" start="0"></ol>
  </aside>
</main>
<script type="application/json" id="mg-data">{data}</script>
<script>
{_asset("player.js")}
</script>
</body>
</html>
"""


def backprop_player(
    root: Any,
    path: str | Path | None = None,
    *,
    title: str | None = None,
    forward: Callable[[], Any] | None = None,
) -> BackpropPlayer:
    """Run ``root.backward()`` while recording it and make a page that plays it, step by step.

    ``root`` is a scalar ``Value`` or a one-element ``Tensor`` (a loss) whose backward has
    not run yet (leaves accumulate, as always). ``path``: where to write the page (one
    self-contained HTML file; nothing is written when None). ``title``: the page's
    heading. ``forward``: optional, a function that re-computes the root from the same
    leaves; with it the check button estimates the leaves' gradients by central
    differences through it (tensor graphs need it; a scalar graph's ops are re-run
    from the graph itself, for every node).

    Returns a ``BackpropPlayer`` (Jupyter shows the page inline).
    """
    if title is not None and not isinstance(title, str):
        raise TypeError(f"backprop_player: title must be a string, got {type(title).__name__}")
    check_root(root)
    svg = _graph_svg(root)  # before backward, so a missing `dot` fails before any change
    steps = backprop_steps(root, forward=forward)
    steps["title"] = title or "backprop, step by step"
    player = BackpropPlayer(_page(steps["title"], svg, steps), steps, None)
    if path is not None:
        player.save(path)
    return player

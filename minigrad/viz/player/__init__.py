"""Step through backprop: one self-contained HTML page that plays the backward pass.

A learner understands backprop when the chain rule is applied one node at a time, with
numbers. ``backprop_player(root, "page.html")`` runs ``root.backward()`` under
``record_backward()`` and turns what the driver did into a page:

* step 0 is the forward pass: the graph (drawn by ``draw_graph``) with every value and
  no gradient;
* each further step is one visit of the backward driver, in its order: the node and its
  inputs are highlighted and the op's own backward formula is written out with the
  numbers put in; every gradient known so far is written under its box; a value used by
  several ops shows each contribution as it arrives, with the running total (``+=``);
* the last step shows the finished gradients, which are what ``.grad`` holds.

The package, one idea per module, in reading order:

* ``nodes``: what a node is, what it is called on the page, what its inputs received;
* ``explain``: one step in words, from the op's ``backward_formula`` (or a plain line);
* ``check``: the "check" button's central differences, independent of every backward;
* ``record``: the recorded pass as plain data (``backprop_steps``, ``backprop_steps_json``);
* ``page``: the HTML page (``backprop_player``, ``BackpropPlayer``; ``player.js``/``.css``);
* ``examples`` and ``cli``: the built-in graphs and ``python -m minigrad play``;
* ``text``: numbers as the page writes them.
"""

from minigrad.viz.player.cli import main
from minigrad.viz.player.examples import EXAMPLES
from minigrad.viz.player.page import BackpropPlayer, backprop_player
from minigrad.viz.player.record import backprop_steps, backprop_steps_json

__all__ = [
    "EXAMPLES",
    "BackpropPlayer",
    "backprop_player",
    "backprop_steps",
    "backprop_steps_json",
    "main",
]

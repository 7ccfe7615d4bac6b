"""``python -m minigrad play``: write a page that plays an example's backward pass."""

from __future__ import annotations

import argparse
import textwrap

from minigrad.viz.player.examples import EXAMPLES
from minigrad.viz.player.page import backprop_player

__all__ = ["main", "parser"]

DEFAULT_EXAMPLE = "expr"
DEFAULT_OUT = "backprop.html"


def parser() -> argparse.ArgumentParser:
    """The command's options, each with its help and its default."""
    listing = "\n".join(f"  {name:<13} {about}" for name, (_, about) in EXAMPLES.items())
    p = argparse.ArgumentParser(
        prog="python -m minigrad play",
        description=textwrap.fill(
            "Write one self-contained HTML page that steps through the backward pass of "
            "an example graph, one node at a time, with the chain rule and its numbers.",
            width=78,
        ),
        epilog=f"examples:\n{listing}\n\nOpen the page in any browser; it loads nothing "
        "from the network.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--example",
        choices=sorted(EXAMPLES),
        default=DEFAULT_EXAMPLE,
        help="which graph to play (listed below; default: %(default)s)",
    )
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="PATH",
        help="the page to write (default: %(default)s, in the current directory)",
    )
    p.add_argument(
        "--title",
        default=None,
        help="the page's heading (default: 'backprop: ' and the example's description)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, build the example, write the page; 0 on success."""
    args = parser().parse_args(argv)
    build, about = EXAMPLES[args.example]
    player = backprop_player(build(), args.out, title=args.title or f"backprop: {about}")
    print(f"wrote {player.path} ({len(player.steps['steps'])} steps); open it in a browser")
    return 0

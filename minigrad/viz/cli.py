"""``python -m minigrad render``: draw the demo graphs into files.

    python -m minigrad render                       # svg files into ./minigrad-graphs
    python -m minigrad render --out docs/images --format png
    python -m minigrad render --only expression --text   # also print the text tree

Without the Graphviz ``dot`` program nothing can be drawn: the command says how to
install it, prints the first demo as a text tree instead, and exits with status 1.
"""

from __future__ import annotations

import time
from pathlib import Path

from minigrad import cli_help
from minigrad.viz.demos import DEMOS, tensor_available
from minigrad.viz.output import FORMATS, GraphPicture, GraphvizNotFoundError, render
from minigrad.viz.text import print_graph

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = cli_help.parser("python -m minigrad render", "Draw the demo computation graphs.")
    parser.add_argument("--out", default="minigrad-graphs", help="folder for the pictures")
    parser.add_argument("--format", default="svg", choices=FORMATS, help="picture format")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(DEMOS),
        metavar="DEMO",
        help=f"draw only this demo, repeatable: {', '.join(sorted(DEMOS))} (default: all)",
    )
    parser.add_argument("--text", action="store_true", help="also print each graph as a text tree")
    args = parser.parse_args(argv)
    names = args.only or list(DEMOS)
    out = Path(args.out)
    for name in names:
        build, needs_tensor = DEMOS[name]
        if needs_tensor and not tensor_available():
            print(f"{name}: skipped (the tensor engine is not available)")
            continue
        picture = build()
        if args.text:
            print(f"== {name}")
            _print_roots(picture)
        start = time.perf_counter()
        try:
            path = render(picture, out / f"{name}.{args.format}")
        except GraphvizNotFoundError as err:
            print(f"render: {err}\n\nThe '{name}' graph as text instead:")
            _print_roots(picture)
            return 1
        print(f"{name}: {path} ({time.perf_counter() - start:.2f} s)")
    return 0


def _print_roots(picture: GraphPicture) -> None:
    """The picture's graph(s) as text trees, with the names the picture shows (a, b, L)."""
    roots = picture.roots
    for group in roots.values() if isinstance(roots, dict) else [roots]:
        print_graph(group, names=picture.names)

"""``python -m minigrad COMMAND [options]``: the command line.

Each command lives in the module that owns the idea; this file only dispatches.
A command is ``module:function`` where the function takes the remaining argv.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    # name: ("module:function", one-line help)
    "demo": ("minigrad.demo:main", "the main demo: BatchNorm both ways, graphs, a toy MLP trained"),
    "bn-compare": (
        "minigrad.batchnorm.command:main",
        "BatchNorm composite vs fused: gradient table, graph sizes, times (--out: both graphs)",
    ),
    "render": ("minigrad.viz.cli:main", "draw the demo graphs to svg/png/pdf (--out, --format)"),
    "play": (
        "minigrad.viz.player:main",
        "a page that steps through backprop (--example expr|mlp|bn-composite|bn-fused, --out)",
    ),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-V", "--version"):
        from minigrad import __version__

        print(f"minigrad {__version__}")
        return 0
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(usage())
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nunknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    target, _ = COMMANDS[argv[0]]
    module_name, function_name = target.split(":")
    return int(getattr(importlib.import_module(module_name), function_name)(argv[1:]) or 0)


def usage() -> str:
    """The top-level help: the commands, and where each one's options are."""
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(
        [
            "usage: python -m minigrad COMMAND [options]",
            "       python -m minigrad --version",
            "",
            "commands:",
            *lines,
            "",
            "python -m minigrad COMMAND --help shows a command's options and their defaults.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

"""One style for every command's ``--help``: each option says what it is and its default.

``parser(prog, description)`` is ``argparse.ArgumentParser`` with ``HelpFormatter``,
which ends every option's help with its default (``(default: 4)``; a flag says
``(default: off)``), keeps the description's line breaks, and takes a docstring as the
description after ``plain`` has removed its reST markup (````x```` -> ``x``).
"""

from __future__ import annotations

import argparse
import re

__all__ = ["HelpFormatter", "parser", "plain"]


def plain(doc: str) -> str:
    """``doc`` without reST markup: double backquotes, single backquotes, ``::`` endings."""
    text = re.sub(r"``(.+?)``", r"\1", doc)
    text = re.sub(r"(?<![\w`])`([^`\n]+?)`(?![\w`])", r"\1", text)
    text = re.sub(r"::\s*$", ":", text, flags=re.M)
    return text.strip("\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help texts end with the option's default; descriptions keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "(default" in text or action.default is argparse.SUPPRESS:
            return text
        if action.nargs == 0:  # a flag (store_true, ...): off unless given
            return f"{text} (default: off)" if action.default is False else text
        if action.default is None:
            return text  # the help says what happens without it
        return f"{text} (default: %(default)s)"


def parser(prog: str | None, description: str, **kwargs: object) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with ``HelpFormatter`` and a reST-free description."""
    return argparse.ArgumentParser(
        prog=prog, description=plain(description), formatter_class=HelpFormatter, **kwargs
    )

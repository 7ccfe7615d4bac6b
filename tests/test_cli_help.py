"""The command line explains itself: --version, COMMAND --help, every option's help text
with its default, no reST markup in help, and examples/run_all.py's list and subsets."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path

import pytest

import minigrad
from minigrad.__main__ import COMMANDS
from minigrad.__main__ import main as cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# `play` is the backprop player's, being reworked on another branch: its options are
# checked there (the lead adds it here when merging).
NOT_CHECKED_HERE = {"play"}


def test_version_and_top_level_help(capsys):
    assert cli(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"minigrad {minigrad.__version__}"
    assert cli(["--help"]) == 0
    out = capsys.readouterr().out
    assert "COMMAND --help" in out and all(name in out for name in COMMANDS)
    assert cli(["no-such-command"]) == 2


class _Captured(Exception):
    pass


def _parser_of(run, monkeypatch) -> argparse.ArgumentParser:
    """The parser a command builds, caught at its parse_args call."""
    seen = []

    def capture(self, *args, **kwargs):
        seen.append(self)
        raise _Captured

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_Captured):
        run()
    return seen[0]


def _commands_and_examples():
    for name, (target, _) in COMMANDS.items():
        if name not in NOT_CHECKED_HERE:
            module, function = target.split(":")
            yield name, lambda m=module, f=function: getattr(importlib.import_module(m), f)([])
    sys.path.insert(0, str(EXAMPLES))
    for script in sorted(EXAMPLES.glob("[a-z]*.py")):
        if script.stem != "run_all":
            yield script.stem, lambda s=script.stem: importlib.import_module(s).main([])


@pytest.mark.parametrize("name, run", list(_commands_and_examples()))
def test_every_option_has_help_with_its_default_and_no_rest(name, run, monkeypatch):
    parser = _parser_of(run, monkeypatch)
    text = parser.format_help()
    assert "``" not in text and not re.search(r"(?<!`)`[^`\s]+`", text), text
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        option = action.option_strings[0] if action.option_strings else action.dest
        assert action.help, f"{name}: {option} has no help text"
        shown = formatter._expand_help(action)  # the text --help prints for this option
        assert "default" in shown, f"{name}: {option}'s help does not show its default: {shown!r}"


def test_run_all_lists_the_examples_and_runs_a_chosen_subset(tmp_path, capsys):
    sys.path.insert(0, str(EXAMPLES))
    run_all = importlib.import_module("run_all")
    assert run_all.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in run_all.EXAMPLES) and "``" not in out
    assert run_all.main(["bn_two_ways", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "= bn_two_ways =" in out and "= paper_figure1 =" not in out
    assert run_all.main(["no_such_example", "--quick"]) == 2
    assert "unknown example 'no_such_example'" in capsys.readouterr().out

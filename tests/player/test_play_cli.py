"""``python -m minigrad play``: its help says what each option does and its default, in
plain text, and the page it writes by default is git-ignored."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from minigrad.viz.player import EXAMPLES, main
from minigrad.viz.player.cli import DEFAULT_OUT, parser

ROOT = Path(__file__).resolve().parents[2]


def help_text(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines at any width


def test_every_option_has_help_that_shows_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    options = [a for a in parser()._actions if not isinstance(a, argparse._HelpAction)]
    assert {a.dest for a in options} == {"example", "out", "title"}
    for action in options:
        assert action.help, f"--{action.dest} has no help"
        assert "default" in action.help, f"--{action.dest} does not say its default"
    text = help_text(capsys)
    assert f"(default: {DEFAULT_OUT}, in the current directory)" in text
    assert "(listed below; default: expr)" in text
    for name, (_, about) in EXAMPLES.items():  # each example with what it shows
        assert name in text and about in text


def test_help_has_no_raw_markup(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)
    for markup in ("``", ":func:", ":class:", ":meth:", ".. ", "**"):
        assert markup not in text, markup


def test_the_default_page_is_git_ignored() -> None:
    if (ROOT / ".git").exists() and shutil.which("git"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", DEFAULT_OUT], cwd=ROOT, check=False
        ).returncode
        assert ignored == 0, f"{DEFAULT_OUT} is not git-ignored"
    else:  # a copy without git: the rule is in the file
        rules = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
        assert f"/{DEFAULT_OUT}" in rules or DEFAULT_OUT in rules

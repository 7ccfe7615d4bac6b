"""Without chromium the browser tests skip with one line (not root), or fail (root, CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import missing_browser

BROWSER_TESTS = Path(__file__).resolve().parent / "test_player_browser.py"


def test_the_rule():
    assert missing_browser("/x", ci=False, root=False)[0] == "skip"
    assert "sudo apt-get install chromium" in missing_browser("/x", ci=False, root=False)[1]
    assert missing_browser("/x", ci=False, root=True)[0] == "fail"
    assert missing_browser("/x", ci=True, root=False)[0] == "fail"
    assert "CI=true" in missing_browser("/x", ci=True, root=True)[1]


def _run_browser_tests(ci: bool) -> subprocess.CompletedProcess:
    """pytest on the browser tests as a non-root user with no chromium (patched geteuid)."""
    env = {**os.environ, "MINIGRAD_CHROMIUM": "/nonexistent/chromium"}
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    stop = ", '-x'" if ci else ""  # one failure is enough to see
    code = (
        "import os, sys, pytest; os.geteuid = lambda: 1000; "
        f"sys.exit(pytest.main([{str(BROWSER_TESTS)!r}, '-q', '-ra', '-p', 'no:cacheprovider', "
        f"'-p', 'no:xdist'{stop}]))"
    )
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("ci", [False, True])
def test_a_machine_without_chromium(ci):
    run = _run_browser_tests(ci)
    if ci:
        assert run.returncode != 0 and "CI=true" in run.stdout, run.stdout
        return
    assert run.returncode == 0, run.stdout
    skipped = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and "sudo apt-get install chromium" in skipped[0], run.stdout
    assert " error" not in run.stdout and "passed" not in run.stdout

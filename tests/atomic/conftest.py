"""The atomicity harness: every failing public call must leave all state as it was.

At the end of a run, the summary says how many failing calls the harness checked
(hypothesis examples included), adding up the xdist workers' counts.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # state_snapshot, next to the tests

import state_snapshot

_FROM_WORKERS = []


def pytest_sessionfinish(session) -> None:
    if hasattr(session.config, "workeroutput"):  # an xdist worker: report to the controller
        session.config.workeroutput["atomic_checked"] = state_snapshot.CHECKED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    _FROM_WORKERS.append(getattr(node, "workeroutput", {}).get("atomic_checked", 0))


def pytest_terminal_summary(terminalreporter) -> None:
    checked = state_snapshot.CHECKED + sum(_FROM_WORKERS)
    if checked:
        terminalreporter.write_line(
            f"atomic harness: {checked} failing calls checked, all state unchanged after each"
        )

"""The atomicity harness: every failing public call must leave all state as it was."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # state_snapshot, next to the tests

import state_snapshot


def pytest_terminal_summary(terminalreporter) -> None:
    """How many failing calls the harness checked in this process (0 under xdist's master)."""
    if state_snapshot.CHECKED:
        terminalreporter.write_line(
            f"atomic harness: {state_snapshot.CHECKED} failing calls checked, state unchanged"
        )

"""A real browser for the backprop player's tests.

Debian's ``chromium`` driven by Playwright (used only as a driver: ``scripts/test.sh``
installs both; ``playwright install`` is never run). One browser serves a whole test
module. A missing driver fails the tests. A missing browser skips them with one line
saying how to enable them when the user is not root (``scripts/test.sh`` cannot install
it then); as root (where ``scripts/test.sh`` installs it) and under ``CI=true`` (where
the browser tests must run) it is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from player_helpers import CHROMIUM, CHROMIUM_FLAGS


def missing_browser(path: str, *, ci: bool, root: bool) -> tuple[str, str]:
    """("skip" or "fail", the one-line message) when no chromium is at ``path``."""
    enable = (
        "sudo apt-get install chromium (or set MINIGRAD_CHROMIUM to a chromium binary), "
        "then run them again"
    )
    if ci:
        return "fail", f"chromium not found at {path}, and under CI=true the browser tests must run"
    if root:
        return "fail", (
            f"chromium not found at {path}: bash scripts/test.sh installs it when run as root "
            "(apt-get install chromium); or set MINIGRAD_CHROMIUM to a chromium binary"
        )
    return "skip", f"browser tests skipped: no chromium at {path}; to run them: {enable}"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Check the driver and the browser before a test that needs them.

    A hook rather than the fixture, so a skip is reported at this one place: pytest
    then prints a single "SKIPPED [7] ..." line instead of one line per test.
    """
    if "browser" not in getattr(item, "fixturenames", ()):
        return
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(
            "the browser tests need Playwright as a driver: run bash scripts/test.sh, "
            "or .venv/bin/pip install playwright (never `playwright install`)"
        )
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        verdict, message = missing_browser(
            CHROMIUM, ci=os.environ.get("CI", "").lower() == "true", root=os.geteuid() == 0
        )
        (pytest.skip if verdict == "skip" else pytest.fail)(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium (one per test module), as a Playwright browser context."""
    from playwright.sync_api import sync_playwright  # checked in pytest_runtest_setup

    profile = tempfile.mkdtemp(prefix="minigrad-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 850},
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[Path], Any]]:
    """Open a page file; the page records its console errors and every request it makes."""
    pages = []

    def _open(path: Path) -> Any:
        page = browser.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.requests = []  # type: ignore[attr-defined]
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("request", lambda r: page.requests.append(r.url))
        page.goto(path.resolve().as_uri())
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()

"""A real browser for the backprop player's tests.

Debian's ``chromium`` driven by Playwright (used only as a driver: ``scripts/test.sh``
installs both; ``playwright install`` is never run). One browser serves a whole test
module; a missing browser or driver fails the tests with a clear message.
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium (one per test module), as a Playwright browser context."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the browser tests need Playwright as a driver: run bash scripts/test.sh, "
            "or .venv/bin/pip install playwright (never `playwright install`)"
        )
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(
            f"chromium not found at {CHROMIUM}: bash scripts/test.sh installs it when run as "
            "root (apt-get install chromium); or set MINIGRAD_CHROMIUM to a chromium binary"
        )
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

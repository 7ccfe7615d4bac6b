"""The built documentation site, and a browser that cannot reach the network.

The site: ``MINIGRAD_DOCS_SITE=site`` tests a site ``bash scripts/docs.sh`` built (CI does
that after the build, so the executed notebooks are tested too); otherwise the tests build
one themselves, once per test run (shared by the pytest workers), with the notebooks not
executed: the page machinery is what is tested here, and the test suite runs the
notebooks separately. The browser is the backprop player's: Debian's chromium driven by
Playwright, launched the same way (``tests/player/player_helpers.py``).
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "player"))
from player_helpers import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[2]
NEEDS_DOCS = (
    "the docs site tests need the docs extra (Sphinx, MyST-NB, Furo): "
    "bash scripts/test.sh installs it, or .venv/bin/pip install -e '.[docs]'"
)


def _require_docs_extra() -> None:
    needed = ("sphinx", "myst_nb", "furo", "mathjax")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        message = f"{NEEDS_DOCS} (missing: {', '.join(missing)})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _build(out: Path) -> None:
    """A strict build of the site into ``out/html`` (notebooks not executed)."""
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         "-D", "nb_execution_mode=off", "-d", str(out / "doctrees"), "docs", str(out / "html")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if run.returncode != 0:
        pytest.fail(f"the docs build failed:\n{run.stderr[-4000:]}")
    (out / "done").touch()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The folder of a built site (its index.html at the top)."""
    given = os.environ.get("MINIGRAD_DOCS_SITE")
    if given:
        path = (ROOT / given).resolve()
        if not (path / "index.html").exists():
            pytest.fail(f"MINIGRAD_DOCS_SITE={given}: no index.html there (bash scripts/docs.sh)")
        return path
    _require_docs_extra()
    # one build for all workers: the first to take the lock builds, the others wait
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if worker_id != "master" else base) / "docs-site"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (shared / "done").exists():
                _build(shared)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return shared / "html"


@pytest.fixture(scope="module")
def offline_browser() -> Iterator[Any]:
    """Headless chromium in which any request that is not for a local file is aborted."""
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
    profile = tempfile.mkdtemp(prefix="minigrad-docs-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 800},
            offline=True,  # the network is off for every page
        )
        blocked: list[str] = []

        def only_local_files(route: Any) -> None:
            url = route.request.url
            if url.startswith(("file://", "data:", "about:", "blob:")):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        context.route("**/*", only_local_files)
        context.blocked = blocked  # type: ignore[attr-defined]
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)

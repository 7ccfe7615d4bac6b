"""Every ```python block of README.md and of the docs pages runs, each on its own in a
fresh process, and prints what the page says it prints.

A ```text block right after a ```python block (blank lines between are fine) is that
block's printed output, compared line by line (trailing spaces ignored). A block with no
such ```text block must still run without error. A docs page (not the README) may mark a
block that cannot run on its own with a ``<!-- no-run: why -->`` line right above it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(`{3,})(\w*)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
NO_RUN = "<!-- no-run"


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    code: str
    expected: str | None  # the following ```text block, if any

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def python_blocks(page: Path) -> list[Block]:
    """The page's ```python blocks that run, each with the ```text block after it."""
    text = page.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    blocks = []
    for k, fence in enumerate(fences):
        if fence.group(2) != "python":
            continue
        before = text[: fence.start()].rstrip().splitlines()
        if before and before[-1].strip().startswith(NO_RUN):
            if page.name == "README.md":
                raise AssertionError(f"README.md:{fence.start()}: every README block must run")
            continue
        expected = None
        if k + 1 < len(fences):
            nxt = fences[k + 1]
            between = text[fence.end() : nxt.start()]
            if nxt.group(2) == "text" and not between.strip():
                expected = nxt.group(3)
        line = text.count("\n", 0, fence.start()) + 1
        blocks.append(Block(page, line, fence.group(3), expected))
    return blocks


BLOCKS = [b for page in PAGES for b in python_blocks(page)]


def normalized(output: str) -> list[str]:
    return [line.rstrip() for line in output.strip("\n").splitlines()]


def test_the_readme_has_blocks_with_printed_output() -> None:
    """The runner finds the README's blocks (a parser that finds nothing passes nothing)."""
    readme = [b for b in BLOCKS if b.page.name == "README.md"]
    assert len(readme) >= 2
    assert any(b.expected is not None for b in readme)


def test_the_readme_is_a_front_door() -> None:
    """At most about 200 lines; the reference lives in the docs site."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move reference text to docs/"


def test_no_page_suggests_installing_minigrad_from_pypi() -> None:
    """`minigrad` on PyPI is an unrelated project: install hints name the checkout."""
    pypi = re.compile(r"pip3? install\s+(-U\s+|--upgrade\s+)?[\"']?minigrad\b")
    found = [
        f"{page.relative_to(ROOT)}:{k}: {line.strip()}"
        for page in PAGES
        for k, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if pypi.search(line)
    ]
    assert not found, "install hints that would fetch PyPI's minigrad:\n" + "\n".join(found)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_block_runs_and_prints_what_the_page_says(block: Block, tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", block.code],
        cwd=tmp_path,  # files a block writes land here
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"{block.id} failed:\n{run.stderr[-3000:]}"
    if block.expected is not None:
        assert normalized(run.stdout) == normalized(block.expected), (
            f"{block.id} printed something else than the page shows"
        )

"""Progress bars: a bar in a terminal, one final line in a pipe (never a repeated bar)."""

from __future__ import annotations

import io
import subprocess
import sys

from minigrad.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_one_final_line_and_a_terminal_a_bar():
    pipe = io.StringIO()
    assert list(progress(range(50), "steps", 50, file=pipe)) == list(range(50))
    lines = pipe.getvalue().splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("steps: 50/50 in ") and "\r" not in pipe.getvalue()
    )

    pipe = io.StringIO()
    for i in progress(range(50), "steps", 50, file=pipe):
        if i == 9:
            break
    assert len(pipe.getvalue().splitlines()) == 1
    assert "10/50" in pipe.getvalue() and "(stopped early)" in pipe.getvalue()

    terminal = Terminal()
    assert sum(progress(range(5), "steps", 5, file=terminal)) == 10
    assert "\r" in terminal.getvalue()  # tqdm redraws in place


def test_the_demo_piped_prints_one_line_per_loop(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "minigrad", "demo", "--epochs", "2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = run.stderr.splitlines()
    assert "\r" not in run.stderr
    assert [line.split(":")[0] for line in lines] == ["tensor MLP", "scalar MLP"], run.stderr

"""Progress for long loops: a tqdm bar in a terminal, one final line anywhere else.

A bar redrawn into a pipe or a log file does not advance: it is repeated, once per
refresh. So when the stream is not a terminal (or tqdm is not installed), ``progress``
draws nothing while the loop runs and writes one line when it ends:
``tensor MLP: 30/30 in 1.2 s``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

__all__ = ["progress", "say"]

T = TypeVar("T")


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def progress(
    iterable: Iterable[T], desc: str, total: int | None = None, file: IO[str] | None = None
) -> Iterable[T]:
    """``iterable`` with a bar on ``file`` (default stderr) if it is a terminal, else
    with one summary line written when the loop ends."""
    stream = sys.stderr if file is None else file
    if _is_terminal(stream):
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(iterable, desc=desc, total=total, leave=False, file=stream, mininterval=0.5)
    return _final_line(iterable, desc, total, stream)


def _final_line(
    iterable: Iterable[T], desc: str, total: int | None, stream: IO[str]
) -> Iterator[T]:
    start, count = time.perf_counter(), 0
    try:
        for item in iterable:
            count += 1  # items handed out, including one the loop broke on
            yield item
    finally:  # also when the loop stops early (the generator is closed)
        of = f"/{total}" if total is not None else ""
        stopped = " (stopped early)" if total is not None and count < total else ""
        stream.write(f"{desc}: {count}{of} in {time.perf_counter() - start:.1f} s{stopped}\n")
        stream.flush()


def say(line: str) -> None:
    """Print ``line`` to stdout without tearing a progress bar in two."""
    try:
        from tqdm import tqdm
    except ImportError:
        print(line)
    else:
        tqdm.write(line, file=sys.stdout)

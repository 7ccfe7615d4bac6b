"""Run every benchmark in this folder, one after the other, and print all their tables.

    .venv/bin/python benchmarks/run_all.py            # everything
    .venv/bin/python benchmarks/run_all.py --quick    # each benchmark's quick mode
    .venv/bin/python benchmarks/run_all.py scalar     # only the named ones

A benchmark is a module ``benchmarks/NAME.py`` with a function ``main(argv)`` that
prints its tables (``--quick`` is passed on when given). A benchmark that fails is
reported and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def discover() -> dict[str, Path]:
    """Every ``benchmarks/*.py`` except this runner, by name, in alphabetical order."""
    return {
        path.stem: path
        for path in sorted(HERE.glob("*.py"))
        if path.stem != Path(__file__).stem and not path.stem.startswith("_")
    }


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    available = discover()
    parser = argparse.ArgumentParser(
        prog="benchmarks/run_all.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "names", nargs="*", help=f"which to run (default all: {', '.join(available)})"
    )
    parser.add_argument("--quick", action="store_true", help="pass --quick to each benchmark")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {', '.join(available)}")
    chosen = args.names or list(available)
    passed_on = ["--quick"] if args.quick else []

    failed = []
    for name in chosen:
        print(f"\n{'=' * 20} benchmarks/{name}.py {'=' * 20}\n", flush=True)
        start = time.perf_counter()
        try:
            module = load(name, available[name])
            if not hasattr(module, "main"):
                raise AttributeError(f"benchmarks/{name}.py has no main(argv)")
            module.main(passed_on)
        except (Exception, SystemExit) as error:  # one broken benchmark must not hide the rest
            if isinstance(error, SystemExit) and error.code in (0, None):
                pass
            else:
                failed.append(name)
                traceback.print_exc()
        print(f"\n({name}: {time.perf_counter() - start:.0f} s)", flush=True)

    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

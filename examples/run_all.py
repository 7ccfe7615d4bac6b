"""Run the examples in turn (all of them, or the ones named), passing the same options to each.

    python examples/run_all.py --quick                         # every example, a few seconds each
    python examples/run_all.py --gallery                       # full runs; refresh the gallery
    python examples/run_all.py paper_figure1 running_stats     # just these two

Each example is also a script on its own (python examples/learning_rates.py --help);
options other than the names are passed to every example.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

EXAMPLES = (
    "bn_two_ways",
    "paper_figure1",
    "learning_rates",
    "init_scale",
    "saturation",
    "regularization",
    "running_stats",
    "scalar_moons",
    "noisy_batchnorm",
    "ics_measured",
    "loss_smoothness",
    "newton_vs_gd",
    "hessian_sharpness",
)


def _first_line(name: str) -> str:
    """The example's one-line claim (the first line of its docstring), read without
    importing it (importing loads matplotlib)."""
    source = (Path(__file__).resolve().parent / f"{name}.py").read_text()
    return source.split('"""', 2)[1].strip().splitlines()[0]


def usage() -> str:
    from minigrad.cli_help import plain

    width = max(map(len, EXAMPLES))
    names = [f"  {name:<{width}}  {plain(_first_line(name))}" for name in EXAMPLES]
    common = [
        "  --quick        a few seconds each: small budgets, 1 seed (default: off)",
        "  --out DIR      folder for the PNGs (default: examples/out)",
        "  --gallery      also copy the PNGs to docs/images/examples/ (default: off)",
        "  --seeds N      seeds per condition (default: each example's own)",
    ]
    return "\n".join(
        [
            "usage: python examples/run_all.py [EXAMPLE ...] [--quick] [--out DIR] "
            "[--gallery] [--seeds N]",
            "",
            plain(__doc__),
            "",
            "examples (default: all, in this order):",
            *names,
            "",
            "options, passed to each example:",
            *common,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(usage())
        return 0
    chosen = [a for a in argv if a in EXAMPLES]
    unknown = [a for a in argv if not a.startswith("-") and a not in EXAMPLES]
    # an option's value (--out DIR, --seeds 3) is not an example name
    values = {argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--out", "--seeds")}
    unknown = [a for a in unknown if a not in values]
    if unknown:
        print(f"run_all: unknown example {unknown[0]!r}; choose from {', '.join(EXAMPLES)}")
        return 2
    options = [a for a in argv if a not in chosen]
    for name in chosen or EXAMPLES:
        print(f"\n{'=' * 30} {name} {'=' * 30}", flush=True)
        start = time.perf_counter()
        importlib.import_module(name).main(options)
        print(f"({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every example in turn, passing the same options to each.

    python examples/run_all.py --gallery      # full runs; refresh docs/images/examples/
    python examples/run_all.py --quick        # a smoke test, a few seconds each

Each example is also a script on its own (``python examples/learning_rates.py -h``).
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
    "newton_vs_gd",
    "hessian_sharpness",
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    for name in EXAMPLES:
        print(f"\n{'=' * 30} {name} {'=' * 30}", flush=True)
        start = time.perf_counter()
        importlib.import_module(name).main(argv)
        print(f"({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

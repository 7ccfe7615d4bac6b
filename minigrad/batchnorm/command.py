"""``python -m minigrad bn-compare``: ``compare_batchnorm``'s table from the command line."""

from __future__ import annotations

from pathlib import Path

from minigrad.batchnorm.compare import compare_batchnorm, example_batch
from minigrad.cli_help import parser as make_parser

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``python -m minigrad bn-compare``: the table, and the picture with ``--out``."""
    parser = make_parser(
        "python -m minigrad bn-compare",
        "BatchNorm composite (autodiff) vs fused (hand-derived backward): gradients\n"
        "element by element against central differences, graph sizes, times.\n"
        "The batch is N(0, 1) draws from the seed (the demo's and compare_batchnorm's rule).",
    )
    parser.add_argument(
        "--engine", choices=("scalar", "tensor"), default="scalar", help="the engine of both graphs"
    )
    parser.add_argument("--batch", type=int, default=4, help="N, the batch size (>= 2)")
    parser.add_argument("--features", type=int, default=2, help="C, the number of features")
    parser.add_argument(
        "--length", type=int, default=0, help="L for an (N, C, L) input, tensor engine; 0: (N, C)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the batch, gamma, beta and dL/dy"
    )
    parser.add_argument("--rows", type=int, default=24, help="most table rows to print")
    parser.add_argument(
        "--out",
        type=Path,
        help="also draw both graphs side by side into this file, .svg/.png/.pdf "
        "(default: no picture)",
    )
    parser.add_argument(
        "--order",
        type=int,
        choices=(1, 2),
        default=1,
        help="1: the gradients; 2: the double backward, with PyTorch's beside it (tensor engine)",
    )
    args = parser.parse_args(argv)
    shape = (args.batch, args.features) + ((args.length,) if args.length else ())
    if args.batch < 2 or args.features < 1 or args.length < 0:
        parser.error(f"need --batch >= 2 and --features >= 1, got shape {shape}")
    if args.engine == "scalar" and args.length:
        parser.error("--length (an (N, C, L) input) is for --engine tensor")
    if args.order == 2 and args.engine != "tensor":
        parser.error("--order 2 (the double backward) is for --engine tensor")
    x = example_batch(shape, args.seed)
    result = compare_batchnorm(x, engine=args.engine, seed=args.seed, order=args.order)
    result.max_rows = args.rows
    print(result)
    if args.out is not None:
        try:
            print(f"\nboth graphs, side by side: {result.render(args.out)}")
        except Exception as err:  # the numbers above stand without the picture
            print(f"\n(graphs not drawn: {err})")
            return 1
    return 0

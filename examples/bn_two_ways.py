"""BatchNorm two ways: the composite (autodiff) and the fused op (a hand-derived backward).

The claim it checks: BatchNorm normalizes each feature over the mini-batch (mean 0,
variance 1), then scales by gamma and shifts by beta, and that transform can be built
either from primitive ops (mean, subtract, square, mean, add eps, sqrt, divide, scale,
shift; autodiff derives the gradient) or as one op whose backward is the paper's
formula derived by hand:

    dx = gamma / (m * sigma) * (m * dy - sum(dy) - xhat * sum(dy * xhat))

Both must give the same gradients, and both must match central differences.
``minigrad.compare_batchnorm`` does the work, in both engines; this script prints its
table, checks the normalized batch really has mean 0 and variance 1 per feature, and
draws both graphs side by side.

Printed: every element of dx, dgamma, dbeta (composite, fused, numerical, difference),
the largest difference, and the graph sizes.
"""

from __future__ import annotations

from collections.abc import Sequence

import _common as common
import numpy as np

import minigrad as mg
from minigrad import nn


def normalized_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The per-feature mean and (biased) variance of BN(x) with gamma = 1, beta = 0."""
    bn = nn.BatchNorm1d(x.shape[1], dtype=np.float64)
    with mg.no_grad():
        y = bn(mg.Tensor(x, dtype=np.float64)).numpy()
    return y.mean(axis=0), y.var(axis=0)


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0], seeds=1)
    p.add_argument("--batch", type=int, default=4, help="N, the batch size")
    p.add_argument("--features", type=int, default=2, help="C, the number of features")
    args = common.parse(p, argv)
    rng = np.random.default_rng(0)
    # a batch far from normalized: mean about 3, spread about 2
    x = 3.0 + 2.0 * rng.standard_normal((args.batch, args.features))

    mean, var = normalized_moments(x)
    print(
        f"One batch {x.shape}, float64. Before BN: mean {np.round(x.mean(axis=0), 3)}, "
        f"variance {np.round(x.var(axis=0), 3)}"
    )
    print(
        f"after BN (gamma 1, beta 0): mean {np.array2string(mean, precision=1)}, "
        f"variance {np.array2string(var, precision=6)} "
        "(just under 1: eps = 1e-5 is added to the variance)\n"
    )

    summary: dict = {"mean": mean, "var": var}
    for engine in ("scalar", "tensor"):
        result = mg.compare_batchnorm(x, engine=engine, seed=0)
        print(result)
        print()
        summary[engine] = result.max_difference
        paths = []
        for fmt in ("svg", "png"):
            try:
                paths.append(result.render(args.out / f"bn_two_ways_{engine}.{fmt}"))
            except Exception as err:  # the numbers above stand without a picture
                print(f"(graphs not drawn: {err})")
                break
        for path in paths:
            print(f"both graphs, side by side ({engine} engine): {path}")
            if path.endswith(".png"):
                common.gallery_copy(args, path)
    print(
        "largest |composite - fused| over y, dx, dgamma, dbeta: "
        f"scalar engine {summary['scalar']:.1e}, tensor engine {summary['tensor']:.1e}"
    )
    return summary


if __name__ == "__main__":
    main()

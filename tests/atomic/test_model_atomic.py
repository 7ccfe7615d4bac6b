"""A model's forward in training that fails in a later layer puts back what the earlier
layers changed: a Dropout's random generator, a BatchNorm's running statistics and
batch count (``minigrad.journal``), however deep the failing layer sits."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from state_snapshot import assert_atomic

import minigrad as mg
from minigrad import Tensor, nn
from minigrad.autograd import AnomalyError


class Block(nn.Module):
    """A user's own module: Linear, Dropout, BatchNorm, with the functional dropout too."""

    def __init__(self, n_in: int, n_out: int, impl: str, seed: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out, dtype=np.float64, rng=seed)
        self.norm = nn.BatchNorm1d(n_out, impl=impl, dtype=np.float64)
        self.rng = np.random.default_rng(seed)

    def forward(self, x: Tensor) -> Tensor:
        h = nn.functional.dropout(self.linear(x), 0.3, self.training, self.rng)
        return self.norm(h).relu()


def model(impl: str, depth: int) -> nn.Sequential:
    widths = [3, 4, 5, 4, 3][: depth + 1]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(widths)):
        layers += [Block(a, b, impl, i), nn.Dropout(0.2, rng=10 + i)]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 2, dtype=np.float64, rng=99))


@settings(max_examples=30, deadline=None)
@given(
    impl=st.sampled_from(["fused", "composite"]),
    depth=st.integers(1, 4),
    fault=st.sampled_from(["bad_setting", "wrong_width", "anomaly"]),
    where=st.integers(0, 3),
)
def test_a_later_layer_failing_undoes_the_earlier_layers(impl, depth, fault, where):
    m = model(impl, depth)
    m(Tensor(np.random.default_rng(0).standard_normal((6, 3))))  # state to protect
    blocks = [layer for layer in m if isinstance(layer, Block)]
    last = blocks[where % len(blocks)]
    x = Tensor(np.random.default_rng(1).standard_normal((6, 3)))
    if fault == "bad_setting":
        last.norm.momentum = 2.0
        assert_atomic(lambda: m(x), m, raises=ValueError, match="^BatchNorm1d: momentum")
    elif fault == "wrong_width":
        m[len(m) - 1].weight = nn.Parameter(np.ones((2, 7)))  # the final Linear no longer fits
        assert_atomic(lambda: m(x), m, raises=ValueError)
    else:
        last.linear.weight.data[0, 0] = np.inf  # NaN/inf appears at that block
        with mg.detect_anomaly(), np.errstate(all="ignore"):
            assert_atomic(lambda: m(x), m, raises=AnomalyError)


def test_a_successful_call_keeps_its_changes_and_the_journal_is_dropped():
    m = model("fused", 2)
    x = Tensor(np.random.default_rng(1).standard_normal((6, 3)))
    m(x)
    assert int(m[0].norm.num_batches_tracked.data) == 1
    m(x)
    assert int(m[0].norm.num_batches_tracked.data) == 2
    from minigrad.journal import journaling

    assert not journaling()


@settings(max_examples=15, deadline=None)
@given(
    impl=st.sampled_from(["fused", "composite"]),
    fault=st.sampled_from(["bad_setting", "anomaly"]),
    which=st.integers(0, 1),
)
def test_a_scalar_mlp_with_batchnorm_undoes_earlier_layers(impl, fault, which):
    from minigrad.batchnorm.scalar import BatchNorm1d as ScalarBatchNorm1d
    from minigrad.scalar.nn import MLP

    mlp = MLP(2, [3, 3, 1], seed=0, norm=lambda n: ScalarBatchNorm1d(n, impl=impl))
    rows = [[0.5, -1.0], [1.5, 0.25], [-0.5, 2.0]]
    mlp.forward_batch(rows)  # running statistics to protect
    norms = [layer for layer in mlp.layers if isinstance(layer, ScalarBatchNorm1d)]
    later = norms[1]  # the earlier norm layer runs, then this one fails
    if fault == "bad_setting":
        later.eps = -1.0
        assert_atomic(lambda: mlp.forward_batch(rows), mlp, *norms, raises=ValueError)
    else:
        bad = [[0.5, -1.0], [1.5, 0.25], [-0.5, 2.0]]
        weights = mlp.layers[3].parameters()  # the second linear layer feeds the later norm
        weights[which].data = 1e308
        with mg.detect_anomaly():
            assert_atomic(
                lambda: mlp.forward_batch(bad), mlp, *norms, raises=(AnomalyError, OverflowError)
            )

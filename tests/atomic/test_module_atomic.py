"""``Module.load_state_dict``: any bad checkpoint (hypothesis picks the key and the fault)
loads nothing, not even the entries before the bad one."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from state_snapshot import assert_atomic

from minigrad import Tensor, nn


def model() -> nn.Sequential:
    m = nn.Sequential(
        nn.Linear(3, 4, dtype=np.float64, rng=0),
        nn.BatchNorm1d(4, dtype=np.float64),
        nn.ReLU(),
        nn.Linear(4, 2, dtype=np.float64, rng=1),
    )
    m(Tensor(np.random.default_rng(0).standard_normal((5, 3))))
    return m


FAULTS = ["shape", "complex", "object", "string", "missing", "unexpected", "ragged", "not_a_map"]


@settings(max_examples=40, deadline=None)
@given(fault=st.sampled_from(FAULTS), index=st.integers(0, 6), training=st.booleans())
def test_a_bad_checkpoint_loads_nothing(fault, index, training):
    m = model().train(training)
    source = model()
    for p in source.parameters():
        p.data += 1.0  # a checkpoint that differs everywhere
    saved = dict(source.state_dict())
    key = sorted(saved)[index % len(saved)]
    value = saved[key]
    if fault == "shape":
        saved[key] = np.zeros((*value.shape, 2))
    elif fault == "complex":
        saved[key] = value + 1j
    elif fault == "object":
        saved[key] = value.astype(object)
    elif fault == "string":
        saved[key] = value.astype(str)
    elif fault == "missing":
        del saved[key]
    elif fault == "unexpected":
        saved[key + "_extra"] = value
    elif fault == "ragged":
        saved[key] = [[1.0, 2.0], [3.0]]
    else:
        saved = [(k, v) for k, v in saved.items()]
    assert_atomic(lambda: m.load_state_dict(saved), m, raises=(RuntimeError, TypeError, ValueError))

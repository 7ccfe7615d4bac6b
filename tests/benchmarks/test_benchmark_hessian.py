"""benchmarks/hessian.py times minigrad's Hessian-vector products against PyTorch's; the
timed computations must give the same numbers, or the ratios mean nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def load():
    path = Path(__file__).parents[2] / "benchmarks" / "hessian.py"
    spec = importlib.util.spec_from_file_location("hessian_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlp_gradient_and_hessian_vector_product_agree_with_pytorch():
    bench = load()
    sizes, batch, _ = bench.CONFIGS["small"]
    grads, hvps, graph = bench.mlp_contenders(sizes, batch)
    assert set(grads) == set(hvps) == {"minigrad", "torch"}
    assert bench.check_agree(grads, "gradient", 1e-5) <= 1e-5
    assert bench.check_agree(hvps, "Hessian-vector product", 1e-4) <= 1e-4
    forward, gradient, second = graph
    assert forward < gradient < second  # each pass adds its own nodes


def test_batchnorm_double_backward_agrees_with_pytorch():
    bench = load()
    runs, refused = bench.bn_contenders()
    assert "composite" in runs and "torch" in runs
    theirs = bench._flat(runs["torch"](), lambda t: t.detach().numpy())
    for name in runs.keys() - {"torch"}:
        ours = bench._flat(runs[name](), lambda t: np.asarray(t.data))
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * np.abs(theirs).max())
    for error in refused.values():  # an implementation that cannot, says so
        assert "differentiated" in error

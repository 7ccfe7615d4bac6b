"""compare_grads, compare_batchnorm and the bn-compare command."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad import Value, compare_batchnorm
from minigrad.__main__ import main as cli
from minigrad.check import compare_grads


def test_compare_grads_finds_a_difference_and_agrees_with_numerical():
    a, b = Value(1.5), Value(-0.5)
    right = compare_grads(
        lambda x, y: x * y + x, lambda x, y: (y + 1.0) * x, [a, b], numerical=True
    )
    assert right.max_abs_diff < 1e-15
    assert right.max_numerical_diffs(0)[0] < 1e-8
    wrong = compare_grads(lambda x, y: x * y, lambda x, y: x * y + 0.5 * y * y, [a, b])
    assert wrong.max_output_diff == pytest.approx(0.5 * 0.25)
    assert wrong.max_abs_diffs[0] < 1e-15
    # d(0.5 y^2)/dy = y, times the upstream gradient
    assert wrong.max_abs_diffs[1] == pytest.approx(abs(wrong.upstream) * 0.5)


def test_compare_grads_rejects_mismatched_upstream():
    with pytest.raises(ValueError, match="upstream has shape"):
        compare_grads(lambda x: x, lambda x: x, [Value(1.0)], upstream=np.ones(3))


@pytest.mark.parametrize("engine", ["scalar", "tensor"])
def test_compare_batchnorm_table(engine):
    x = np.random.default_rng(0).normal(size=(4, 2))
    result = compare_batchnorm(x, engine=engine, seed=0)
    assert result.max_difference < 1e-12
    for which in (0, 1):
        assert max(result.grads.max_numerical_diffs(which)) < 1e-6
    text = str(result)
    assert "dx[3,1]" in text and "dgamma[1]" in text and "dbeta[0]" in text
    sizes = result.sizes
    assert sizes["fused"].ops < sizes["composite"].ops
    assert sizes["fused"].values < sizes["composite"].values
    assert set(result.graphs()) == {"composite", "fused"}
    assert "composite" in result.timing_summary()


def test_compare_batchnorm_truncates_big_tables_and_checks_input():
    result = compare_batchnorm(
        np.random.default_rng(1).normal(size=(32, 3)), engine="tensor", numerical=False
    )
    text = str(result)
    assert "more dx rows" in text and "dbeta[2]" in text
    wide = compare_batchnorm(np.random.default_rng(1).normal(size=(4, 40)), numerical=False)
    wide_text = str(wide)
    assert "more dgamma rows" in wide_text and "more dbeta rows" in wide_text
    assert len(wide_text.splitlines()) < 40
    given = compare_batchnorm(np.ones((2, 1)) * [[1.0], [2.0]], upstream=np.ones((2, 1)))
    assert "upstream dL/dy given" in str(given)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        compare_batchnorm(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"scalar engine takes an \(N, C\) batch"):
        compare_batchnorm(np.ones((2, 3, 4)), engine="scalar")


def test_cli_prints_the_table(capsys):
    assert cli(["bn-compare", "--engine", "scalar", "--batch", "3", "--features", "2"]) == 0
    out = capsys.readouterr().out
    assert "dx[2,1]" in out and "max |composite - fused|" in out and "graph:" in out


def test_render_draws_both_graphs(tmp_path):
    import shutil
    from pathlib import Path

    if shutil.which("dot") is None:
        pytest.fail("the Graphviz dot program is part of the test environment")
    result = compare_batchnorm(np.random.default_rng(2).normal(size=(3, 2)), engine="scalar")
    path = result.render(tmp_path / "bn.svg")
    text = Path(path).read_text()
    assert path.endswith(".svg") and "<svg" in text
    assert "batchnorm" in text and "composite" in text and "fused" in text


def _table(text: str) -> list[str]:
    """The gradient rows of a printed comparison (times left out: they vary)."""
    return [line for line in text.splitlines() if line.startswith(("dx[", "dgamma[", "dbeta["))]


def test_cli_demo_and_readme_call_start_from_the_same_batch(tmp_path, capsys, monkeypatch):
    from minigrad import demo
    from minigrad.batchnorm.compare import BatchNormComparison

    assert cli(["bn-compare", "--engine", "scalar", "--batch", "4", "--features", "2"]) == 0
    from_cli = _table(capsys.readouterr().out)
    monkeypatch.setattr(BatchNormComparison, "render", _no_render)  # the numbers only
    demo.batchnorm_both_ways(tmp_path, seed=0)
    from_demo = _table(capsys.readouterr().out)
    readme = compare_batchnorm(np.random.default_rng(0).normal(size=(4, 2)), engine="scalar")
    assert len(from_cli) == 12 and from_cli == from_demo == _table(str(readme))


def _no_render(self, path, format=None):
    raise RuntimeError("not drawn in this test")

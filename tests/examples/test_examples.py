"""Every example runs in ``--quick`` mode, writes its pictures, prints finite numbers, and
(where the direction of the claim is robust even in a few seconds) shows it.

The scripts are imported and their ``main(argv)`` called in this process: faster than a
subprocess. What is asserted is only what holds for every seed we tried; claims that
are not robust on this data (the regularization effect) are checked for sanity only.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))  # the scripts import their helpers as ``_common``


@pytest.fixture(autouse=True)
def _restore_blas_threads():
    """The examples pin NumPy's BLAS to one thread; give the rest of the suite its default."""
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    with threadpool_limits(limits=None):
        yield


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[object, str]:
    summary = load(name).main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    return summary, out


def pngs(tmp_path: Path) -> list[str]:
    files = sorted(p.name for p in tmp_path.glob("*.png"))
    for name in files:
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG"
        assert len(data) > 10_000, f"{name} is suspiciously small ({len(data)} bytes)"
    return files


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"(?<![\w.])[-+]?\d+\.\d+(?:e[-+]?\d+)?", text)]


def test_bn_two_ways(tmp_path, capsys):
    summary, out = run("bn_two_ways", tmp_path, capsys)
    assert pngs(tmp_path) == ["bn_two_ways_scalar.png", "bn_two_ways_tensor.png"]
    assert (tmp_path / "bn_two_ways_scalar.svg").exists()
    # composite and fused agree to rounding, in both engines; the table is printed
    assert summary["scalar"] < 1e-10 and summary["tensor"] < 1e-10
    assert out.count("numerical") >= 2 and "dgamma[0]" in out
    # the normalized batch: mean 0, variance 1 (less eps's share) per feature
    np.testing.assert_allclose(summary["mean"], 0.0, atol=1e-12)
    np.testing.assert_allclose(summary["var"], 1.0, atol=1e-4)


def test_paper_figure1(tmp_path, capsys):
    summary, out = run("paper_figure1", tmp_path, capsys)
    assert pngs(tmp_path) == ["paper_figure1.png"]
    assert all(math.isfinite(x) for x in numbers(out))
    with_bn, without = summary["with BN"], summary["without BN"]
    # robust in 150 steps: with BN the network reaches 90% test accuracy, without it does not
    assert max(with_bn["steps_to_target"]) < min(without["steps_to_target"])
    assert min(with_bn["final_accuracy"]) > max(without["final_accuracy"]) + 0.3


def test_learning_rates(tmp_path, capsys):
    summary, out = run("learning_rates", tmp_path, capsys)
    assert pngs(tmp_path) == ["learning_rates.png"]
    assert "largest rate that trains" in out
    # with BN the largest rate that still trains is higher (no rate trains at all: 0)
    without = 0.0 if math.isnan(summary["without BN"]) else summary["without BN"]
    assert summary["with BN"] > without


def test_init_scale(tmp_path, capsys):
    summary, _ = run("init_scale", tmp_path, capsys)
    assert pngs(tmp_path) == ["init_scale.png"]
    # with a negligible eps the identity holds (to eps / var(aWu), ~1e-9 at a = 0.01)
    for row in summary["invariance"][1e-12]:
        assert row["max_output_diff"] < 1e-7
        assert row["a_times_ratio"] == pytest.approx(1.0, abs=1e-7)
        assert row["input_grad_diff"] < 1e-7
    # with BN's default eps, it holds closely once var(aWu) >> eps
    for row in summary["invariance"][1e-5]:
        if row["a"] >= 0.1:
            assert row["max_output_diff"] < 1e-3
            assert row["a_times_ratio"] == pytest.approx(1.0, abs=1e-3)
    # BN trains at every scale of the quick sweep; without BN some scale fails
    assert len(summary["with BN"]["good_scales"]) > len(summary["without BN"]["good_scales"])


def test_saturation(tmp_path, capsys):
    summary, out = run("saturation", tmp_path, capsys)
    assert pngs(tmp_path) == ["saturation.png"]
    assert all(math.isfinite(x) for x in numbers(out))
    large_plain = summary[("large init", "without BN")]
    large_bn = summary[("large init", "with BN")]
    # the large init starts with many saturated units; with BN, they are far fewer by the end
    assert large_plain["saturated_start"].mean() > 0.2
    assert large_bn["saturated_end"].mean() < 0.5 * large_plain["saturated_end"].mean()


def test_regularization(tmp_path, capsys):
    summary, out = run("regularization", tmp_path, capsys)
    assert pngs(tmp_path) == ["regularization.png"]
    assert all(math.isfinite(x) for x in numbers(out))
    # not robust in a few seconds (nor, on this data, in a full run): sanity only
    for name in ("without BN", "with BN", "with dropout"):
        for train, test, gap in zip(
            *(summary[name][k] for k in ("train", "test", "gap")), strict=True
        ):
            assert 0.0 <= test <= 1.0 and 0.0 <= train <= 1.0
            assert gap == pytest.approx(train - test)


def test_running_stats(tmp_path, capsys):
    summary, out = run("running_stats", tmp_path, capsys)
    assert pngs(tmp_path) == ["running_stats.png"]
    # eval mode: one example at a time gives the batch's predictions
    assert summary["eval"] == summary["eval_single"]
    assert summary["single_vs_batch"] < 1e-4
    # forgetting eval(): a one-class batch loses its class signal; buffers get rewritten
    train_mode, eval_mode = summary["one_class"]
    assert train_mode < eval_mode - 0.3
    assert summary["rewritten_buffers"] == 2
    assert "Expected more than 1 value per channel" in out
    # a larger momentum gets the running mean close sooner
    fast = summary["momentum"][0.5]["within_10pct"]
    slow = summary["momentum"][0.01]["within_10pct"]
    assert fast != "never" and (slow == "never" or int(fast) < int(slow))


def test_scalar_moons(tmp_path, capsys):
    summary, _ = run("scalar_moons", tmp_path, capsys)
    assert pngs(tmp_path) == ["scalar_moons.png", "scalar_moons_graph.png"]
    assert summary["accuracy"] >= 0.8
    assert all(math.isfinite(x) for x in summary["losses"])
    assert summary["graph_nodes"] > 50


def test_newton_vs_gd(tmp_path, capsys):
    summary, out = run("newton_vs_gd", tmp_path, capsys)
    assert pngs(tmp_path) == ["newton_vs_gd.png", "newton_vs_gd_graph.png"]
    assert all(math.isfinite(x) for x in numbers(out))
    assert (tmp_path / "newton_vs_gd_graph.svg").exists()
    # the Hessian-vector product by double backward matches central differences of the
    # gradient (and PyTorch's to rounding, where PyTorch is installed)
    for check in summary["hvp_check"].values():
        assert check["vs_central_differences"] < 1e-6
        assert check.get("vs_pytorch", 0.0) < 1e-12
    for result in summary["results"].values():
        newton, gd = result["newton"], result["gd"]
        # Newton-CG reaches the tolerance in a few dozen steps; GD needs far more
        assert newton["iterations"] is not None and newton["iterations"] <= 30
        assert gd["iterations"] is None or gd["iterations"] > 10 * newton["iterations"]
        assert np.all(np.diff(newton["losses"]) <= 0) and np.all(np.diff(gd["losses"]) <= 0)
    # the graph of f = x^3's second derivative at 0.5: f' = 3x^2, f'' = 6x
    graph = summary["graph"]
    assert graph["d1"] == pytest.approx(0.75) and graph["d2"] == pytest.approx(3.0)
    assert any(s.startswith("second backward") for s in graph["scopes"])


def test_hessian_sharpness(tmp_path, capsys):
    summary, out = run("hessian_sharpness", tmp_path, capsys)
    assert pngs(tmp_path) == ["hessian_sharpness.png"]
    assert all(math.isfinite(x) for x in numbers(out))
    for key, lam in summary["lambda"].items():
        assert lam.shape == (1, len(summary["checks"])), key
        assert np.all(lam > 0), key  # a trained network's sharpest direction curves upward
    # robust in 60 steps: with BN the training loss falls much further
    (rate,) = {lr for lr, _ in summary["loss"]}
    assert (
        summary["loss"][rate, "with BN"][0, -1] < 0.5 * summary["loss"][rate, "without BN"][0, -1]
    )
    assert "compared at equal training loss" in out and "lambda_max with BN is" in out


def test_hessian_sharpness_power_iteration_finds_the_largest_eigenvalue():
    """On a network small enough to write its Hessian down (from H e_i, column by column),
    power iteration on Hessian-vector products finds its largest eigenvalue."""
    import _common as common

    module = load("hessian_sharpness")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=16)
    for batchnorm in (False, True):
        net = common.MLP((3, 4, 2), activation="relu", batchnorm=batchnorm, impl="composite")
        batches = [(X[:8], y[:8]), (X[8:], y[8:])]
        params = net.parameters()
        sizes = [p.data.size for p in params]
        columns = []
        for i in range(sum(sizes)):
            e = np.zeros(sum(sizes), dtype=np.float32)
            e[i] = 1.0
            parts = np.split(e, np.cumsum(sizes)[:-1])
            v = [a.reshape(p.shape) for a, p in zip(parts, params, strict=True)]
            hv = module.hessian_vector_product(net, batches, v)
            columns.append(np.concatenate([h.ravel() for h in hv]))
        hessian = np.array(columns, dtype=np.float64)
        np.testing.assert_allclose(hessian, hessian.T, atol=1e-5)  # symmetric, as it must be
        eigenvalues = np.linalg.eigvalsh((hessian + hessian.T) / 2)
        top = eigenvalues[np.argmax(np.abs(eigenvalues))]
        start = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
        lam, _, residual, _ = module.largest_eigenvalue(net, batches, start, 500)
        assert residual <= module.RESIDUAL
        assert lam == pytest.approx(top, rel=2e-2)


def test_gallery_flag_copies(tmp_path, monkeypatch, capsys):
    """``--gallery`` copies the pictures next to the README (here: a temporary folder)."""
    import _common

    monkeypatch.setattr(_common, "GALLERY", tmp_path / "gallery")
    args = _common.parse(_common.parser("test"), ["--quick", "--out", str(tmp_path), "--gallery"])
    fig, ax = _common.figure()
    ax.plot([0, 1], [0, 1])
    _common.save(fig, args, "line.png")
    assert (tmp_path / "gallery" / "line.png").read_bytes() == (tmp_path / "line.png").read_bytes()
    assert _common.spread([1.0, 2.0, 3.0], "{:.1f}").startswith("2.0 ± 1.0")


def test_readme_gallery_pictures_exist():
    """Every picture the README's examples section shows is committed, and every example
    script has its entry in the gallery."""
    root = EXAMPLES.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section:examples -->")[1].split("<!-- /section:examples -->")[0]
    pictures = re.findall(r"\((docs/images/examples/[\w.]+\.png)\)", section)
    assert len(pictures) >= 8
    for picture in pictures:
        assert (root / picture).is_file(), f"README shows {picture}, which is not committed"
    scripts = [p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")]
    for script in scripts:
        if script != "run_all.py":
            assert f"`{script}`" in section, f"{script} is missing from the README gallery"

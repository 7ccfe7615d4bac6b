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


def test_noisy_batchnorm(tmp_path, capsys):
    summary, out = run("noisy_batchnorm", tmp_path, capsys)
    assert pngs(tmp_path) == ["noisy_batchnorm.png"]
    assert all(math.isfinite(x) for x in numbers(out))
    assert "Santurkar" in out and "U(-1, 1)" in out  # the reference and the noise's strength
    plain, bn, noisy = (summary[c] for c in ("without BN", "with BN", "noisy BN"))
    for c in (plain, bn, noisy):
        assert len(c["drift"]) == len(c["final_accuracy"]) == 1
    # robust in every seed we ran (5 full, 1 quick): the noise makes the inputs drift more,
    # and the noisy network still reaches 90% test accuracy long before the plain one
    assert min(noisy["drift"]) > 2 * max(bn["drift"])
    assert max(noisy["steps_to_target"]) < min(plain["steps_to_target"])


def test_injected_noise_is_off_in_eval_and_moves_units_in_training():
    import _santurkar

    import minigrad as mg

    noise = _santurkar.InjectedNoise(4, 1.0, 0.5, rng=np.random.default_rng(0))
    x = mg.Tensor(np.zeros((3, 4)))
    noise.eval()
    assert np.array_equal(noise(x).numpy(), x.numpy())
    noise.train()
    first, second = noise(x).numpy(), noise(x).numpy()
    # one shift per unit (the same down a column), redrawn at every call, within U(-1, 1)
    assert np.ptp(first, axis=0).max() == 0 and not np.array_equal(first, second)
    assert np.abs(first).max() <= 1.0
    with pytest.raises(ValueError, match="InjectedNoise"):
        _santurkar.InjectedNoise(4, 1.0, 1.5, rng=np.random.default_rng(0))


def test_ics_measured(tmp_path, capsys):
    summary, out = run("ics_measured", tmp_path, capsys)
    assert pngs(tmp_path) == ["ics_measured.png"]
    assert all(math.isfinite(x) for x in numbers(out))
    assert "Santurkar" in out
    assert summary["layers"] == [2, 3, 4]
    for c in ("without BN", "with BN"):
        for window in ("run", "early"):
            m = summary[c][window]
            assert m["l2"].shape == m["cosine"].shape == (1, 3)
            assert np.all(m["l2"] >= 0) and np.all(np.abs(m["cosine"]) <= 1 + 1e-12)
            assert np.all(m["relative"] >= 0)


def test_probes_leave_the_network_as_it_was():
    """The ICS and smoothness probes move parameters and run training-mode forward
    passes; afterwards parameters and running statistics are exactly as before."""
    import _common
    import _santurkar
    import ics_measured
    import loss_smoothness

    X, y, _, _ = _common.digits()
    net = _santurkar.network("with BN", seed=0)
    before = net.model.state_dict()
    result = ics_measured.ics(net, X[:60], y[:60], lr=0.5)
    probe = loss_smoothness.along_gradient(net, X[:60], y[:60])
    after = net.model.state_dict()
    assert before.keys() == after.keys()
    for key in before:
        assert np.array_equal(before[key], after[key]), key
    assert all(p.grad is None for p in net.parameters())
    assert result["cosine"].shape == (3,)
    assert probe["grad_change_max"] >= probe["grad_change_min"] > 0
    assert probe["beta"] > 0 and probe["loss_range"] >= 0


def test_loss_smoothness(tmp_path, capsys):
    summary, out = run("loss_smoothness", tmp_path, capsys)
    assert pngs(tmp_path) == ["loss_smoothness.png"]
    assert all(math.isfinite(x) for x in numbers(out))
    assert "Santurkar" in out
    for c in ("without BN", "with BN"):
        assert len(summary[c]["beta"]) == 1
        assert summary[c]["beta"][0] > 0 and summary[c]["loss_range"][0] >= 0
        assert summary[c]["grad_change_max"][0] > 0


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


def test_gallery_pictures_exist():
    """Every picture the docs' examples gallery (docs/examples/*.md) shows is committed,
    and every example script has its entry in the gallery."""
    gallery = EXAMPLES.parent / "docs" / "examples"
    pages = {p: p.read_text(encoding="utf-8") for p in sorted(gallery.glob("*.md"))}
    text = "\n".join(pages.values())
    pictures = [
        (page, picture)
        for page, page_text in pages.items()
        for picture in re.findall(r"\((\.\./images/examples/[\w.]+\.png)\)", page_text)
    ]
    assert len(pictures) >= 8
    for page, picture in pictures:
        assert (page.parent / picture).is_file(), f"{page.name} shows {picture}: not committed"
    scripts = [p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")]
    for script in scripts:
        if script != "run_all.py":
            assert f"`{script}`" in text, f"{script} is missing from docs/examples/"


def test_titles_and_sentences_that_state_a_result_follow_the_numbers():
    """A title or sentence stating a result is computed from it: flip the numbers and the
    words flip too (a quick run once titled panel (c) "moves far less" when it moved more)."""
    figure1, stats = load("paper_figure1"), load("running_stats")

    def summary(reach_bn, reach_plain, wander_bn, wander_plain):
        return {
            "with BN": {"steps_to_target": reach_bn, "wander": wander_bn},
            "without BN": {"steps_to_target": reach_plain, "wander": wander_plain},
        }

    a, b, c = figure1.panel_titles(summary([40.0], [400.0], 0.2, 0.8))
    assert "10.0x fewer steps" in a and "0.80" in b and "4.0x less" in c
    a, _, c = figure1.panel_titles(summary([40.0], [math.inf], 1.2, 0.6))
    assert a == "(a) only BN reaches 90% test accuracy" and "2.0x more (this run)" in c
    a, _, _ = figure1.panel_titles(summary([400.0], [40.0], 0.1, 0.6))
    assert "later" in a

    errors = np.array([0.9, 0.5, 0.05])
    assert (
        stats.within_phrase("mean", errors, 0.1, "0.1 std") == "mean within 0.1 std after 3 batches"
    )
    assert stats.within_phrase("mean", errors, 0.01, "0.01 std") == (
        "mean not within 0.01 std in 3 batches"
    )
    assert "after 1 batch" in stats.within_phrase("var", errors, 1.0, "10%")

    def momenta(fast_at, fast_floor, slow_at, slow_floor):
        return {
            0.5: {"within_10pct": fast_at, "floor": fast_floor, "batches": 60},
            0.1: {"within_10pct": slow_at, "floor": slow_floor, "batches": 60},
        }

    assert "0.5 is sooner, 0.1 less noisy" in stats.momentum_title(momenta("6", 0.06, "22", 0.02))
    assert "no trade-off" in stats.momentum_title(momenta("30", 0.01, "22", 0.02))
    assert "sooner" in stats.momentum_title(momenta("6", 0.01, "never", 0.5))

"""The backprop player's data and page, without a browser: the steps are the recorded
backward pass, the numbers match PyTorch and central differences, the page is one
self-contained file."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from player_helpers import reference_run, tensor_batchnorm, torch_batchnorm_example_grads

import minigrad as mg
import minigrad.__main__
from minigrad.viz.player import EXAMPLES, backprop_player, backprop_steps, main


def expr_graph() -> tuple[mg.Value, dict[str, mg.Value]]:
    a, b, c, f = mg.Value(2.0, "a"), mg.Value(-3.0, "b"), mg.Value(10.0, "c"), mg.Value(-2.0, "f")
    loss = (a * b + c) * f + a.tanh()
    loss.label = "L"
    return loss, {"a": a, "b": b, "c": c, "f": f}


def test_steps_follow_the_recorded_backward_and_end_at_dot_grad() -> None:
    loss, leaves = expr_graph()
    data = backprop_steps(loss)
    ref = reference_run(lambda: expr_graph()[0])
    assert [s["node"] for s in data["steps"]] == ref["step_nodes"]
    # replaying the updates ends exactly at .grad, for every node
    shown: dict[int, object] = {}
    for step in data["steps"]:
        for u in step["updates"]:
            shown[u["node"]] = u["grad"]
    order = mg.topological_order(loss)
    assert set(shown) == set(range(len(order)))
    for k, node in enumerate(order):
        assert shown[k] == node.grad
    # and .grad is right: PyTorch on the same expression
    ta, tb, tc, tf = (
        torch.tensor(v.data, dtype=torch.float64, requires_grad=True) for v in leaves.values()
    )
    ((ta * tb + tc) * tf + ta.tanh()).backward()
    for t, v in zip((ta, tb, tc, tf), leaves.values(), strict=True):
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-12)


def test_fan_out_shows_each_contribution_and_the_running_total() -> None:
    loss, leaves = expr_graph()
    data = backprop_steps(loss)
    a = next(k for k, n in enumerate(data["nodes"]) if n["name"] == "a")
    updates = [u for s in data["steps"] for u in s["updates"] if u["node"] == a]
    assert [(u["count"], u["of"]) for u in updates] == [(1, 2), (2, 2)]
    tanh_part = 1 - math.tanh(2.0) ** 2  # d tanh(a)/da: the first contribution
    assert updates[0]["grad"] == pytest.approx(tanh_part, rel=1e-15)
    assert updates[1]["grad"] == leaves["a"].grad == pytest.approx(tanh_part + 6.0, rel=1e-15)
    assert data["nodes"][a]["uses"] == 2
    lines = [line for s in data["steps"] for line in s["lines"]]
    assert "a.grad += (1 - t²) × t.grad" not in " ".join(lines)  # unnamed t: its DOT id
    assert any("contribution 2 of 2" in line for line in lines)


def test_the_chain_rule_is_written_with_numbers() -> None:
    """Each input's line ends with what it received, however the op states its formula
    (the op's own text is tested in test_formulas.py)."""
    data = backprop_steps(EXAMPLES["expr"][0]())
    lines = [line for s in data["steps"] for line in s["lines"]]
    assert lines[0] == "L.grad = 1 (the seed, d(root)/d(root))"
    for name, received in (("g", "1"), ("d", "-2"), ("a", "0.070651"), ("e", "-2")):
        assert any(re.search(rf"\b{re.escape(name)}\.grad \+= (.* = )?{received}$", line)
                   for line in lines), (name, lines)  # fmt: skip


def test_a_value_used_twice_by_one_op_is_one_contribution() -> None:
    x = mg.Value(3.0, "x")
    loss = x * x
    data = backprop_steps(loss)
    (step,) = data["steps"]
    (update,) = [u for u in step["updates"] if u["node"] == 0]
    assert update["grad"] == x.grad == 6.0 and update["of"] == 1
    assert any(re.search(r"\bx\.grad \+= (.* = )?6$", line) for line in step["lines"]), step[
        "lines"
    ]
    assert sum("x.grad += " in line for line in step["lines"]) == 1  # one contribution


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_check_is_a_central_difference_that_agrees(name: str) -> None:
    data = backprop_steps(EXAMPLES[name][0]())
    checked = [n for n in data["nodes"] if n["check"] is not None]
    values = [n for n in data["nodes"] if n["kind"] != "op"]
    assert len(checked) == len(values)  # every value node of a scalar graph
    for n in checked:
        assert n["check"]["estimate"] == pytest.approx(n["grad"], rel=1e-6, abs=1e-7), n["name"]


def test_fused_batchnorm_step_shows_the_formula_and_matches_torch() -> None:
    data = backprop_steps(EXAMPLES["bn-fused"][0]())
    (fused,) = [s for s in data["steps"] if data["nodes"][s["node"]]["kind"] == "op"]
    assert fused["title"].startswith("batchnorm (fused, one backward for all 3 outputs)")
    grads = {n["name"]: n["grad"] for n in data["nodes"]}
    want = torch_batchnorm_example_grads()
    for i in range(3):
        assert grads[f"x[{i}]"] == pytest.approx(want["x"][i], rel=1e-9, abs=1e-12)
    assert grads["gamma"] == pytest.approx(want["gamma"], rel=1e-9)
    assert grads["beta"] == pytest.approx(want["beta"], rel=1e-9)


def test_composite_and_fused_batchnorm_agree_on_the_inputs() -> None:
    grads = {}
    for impl in ("composite", "fused"):
        data = backprop_steps(EXAMPLES[f"bn-{impl}"][0]())
        grads[impl] = {n["name"]: n["grad"] for n in data["nodes"] if n["kind"] == "leaf"}
    for name in ("x[0]", "x[1]", "x[2]", "gamma", "beta"):
        assert grads["composite"][name] == pytest.approx(grads["fused"][name], abs=1e-12)


def test_tensor_graph_steps_and_forward_check() -> None:
    x = mg.Tensor(np.array([[1.0, 2.0], [3.0, -1.0]]), requires_grad=True)
    w = mg.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    x.label, w.label = "x", "w"

    def forward() -> mg.Tensor:
        return ((x * w).tanh() ** 2).sum()

    data = backprop_steps(forward(), forward=forward)
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["x"]["shape"] == [2, 2] and nodes["w"]["shape"] == [2]
    tx = torch.tensor(x.data, requires_grad=True)
    tw = torch.tensor(w.data, requires_grad=True)
    ((tx * tw).tanh() ** 2).sum().backward()
    np.testing.assert_allclose(nodes["x"]["grad"], tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(nodes["w"]["grad"], tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(nodes["w"]["check"]["estimate"], tw.grad.numpy(), rtol=1e-6)
    assert nodes["x"]["check"]["diff"] < 1e-6


def test_page_is_one_self_contained_file(tmp_path: Path) -> None:
    player = backprop_player(EXAMPLES["bn-composite"][0](), tmp_path / "p.html", title="a <title>")
    text = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert text == player.html and "<svg" in text and "<h1>a &lt;title&gt;</h1>" in text
    urls = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", text)
    payload = re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', text, re.S)
    assert payload is not None
    assert json.loads(payload.group(1))["steps"] == json.loads(json.dumps(player.steps["steps"]))
    assert player._repr_html_().startswith("<iframe srcdoc=")


def test_json_export_round_trips() -> None:
    text = mg.backprop_steps_json(EXAMPLES["mlp"][0]())
    data = json.loads(text)
    assert len(data["steps"]) > 10 and data["nodes"][data["root"]]["name"] == "L"


def test_bad_input_is_refused_before_anything_changes() -> None:
    x = mg.Value(1.0)
    with pytest.raises(ValueError, match="root is a leaf"):
        backprop_player(x)
    with pytest.raises(TypeError, match="expected a Value or a Tensor, got float"):
        backprop_player(1.0)
    t = mg.Tensor(np.ones(3), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"one number \(a loss\), got shape \(3,\)"):
        backprop_player(t)
    loss = x * 2.0
    with pytest.raises(TypeError, match="title must be a string"):
        backprop_player(loss, title=3)  # type: ignore[arg-type]
    assert x.grad == 0.0


def test_play_command_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "page.html"
    assert mg.__main__.main(["play", "--example", "bn-fused", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.exists() and f"wrote {out} (8 steps)" in printed
    page = out.read_text(encoding="utf-8")
    assert "<h1>backprop: BatchNorm as one fused op with a hand-derived backward</h1>" in page


def test_main_rejects_an_unknown_example() -> None:
    with pytest.raises(SystemExit):
        main(["--example", "nope"])


@pytest.mark.parametrize("impl", ["fused", "composite"])
def test_tensor_batchnorm_steps_match_torch(impl: str) -> None:
    loss, leaves, weights = tensor_batchnorm(impl)
    data = backprop_steps(loss)
    grads = {n["name"]: np.array(n["grad"]) for n in data["nodes"] if n["kind"] == "leaf"}
    tx = torch.tensor(leaves["x"].data, requires_grad=True)
    tg = torch.tensor(leaves["gamma"].data, requires_grad=True)
    tb = torch.tensor(leaves["beta"].data, requires_grad=True)
    y = torch.nn.functional.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5)
    (y * torch.tensor(weights)).sum().backward()
    for name, t in (("x", tx), ("gamma", tg), ("beta", tb)):
        np.testing.assert_allclose(grads[name], t.grad.numpy(), rtol=1e-9, atol=1e-12)
    if impl == "composite":  # the composite's steps sit in the batchnorm scope, one run of steps
        scoped = [s["scope"][:1] == ["batchnorm"] for s in data["steps"]]
        assert sum(scoped) >= 8


def test_leaves_keep_gradients_from_an_earlier_pass() -> None:
    loss, leaves = expr_graph()
    loss.backward()  # a first pass: the leaves accumulate, as always
    first = {name: v.grad for name, v in leaves.items()}
    data = backprop_steps(loss)
    names = [n["name"] for n in data["nodes"]]
    start = {names[u["node"]]: u["grad"] for u in data["steps"][0]["updates"] if u["count"] == 0}
    assert start == {"L": 1.0, **first}
    assert any("from earlier backward passes" in line for line in data["steps"][0]["lines"])
    for name, v in leaves.items():
        assert v.grad == pytest.approx(2 * first[name], rel=1e-15)
        assert data["nodes"][names.index(name)]["grad"] == v.grad


def test_a_graph_too_big_to_step_through_is_refused() -> None:
    x = mg.Value(1.0, "x")
    y = x
    for _ in range(1100):
        y = y * 1.0
    with pytest.raises(ValueError, match="more than 2,000"):
        backprop_player(y)
    assert x.grad == 0.0


def test_nodes_without_a_check_say_why() -> None:
    data = backprop_steps(EXAMPLES["bn-fused"][0]())
    (op,) = [n for n in data["nodes"] if n["kind"] == "op"]
    assert op["check"] is None and "is an op, not a value" in op["checkNote"]
    loss = tensor_graph_for_notes()
    notes = {n["name"]: n["checkNote"] for n in backprop_steps(loss)["nodes"]}
    assert "forward=" in notes["w"]


def tensor_graph_for_notes() -> mg.Tensor:
    w = mg.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    w.label = "w"
    return (w * w).sum()


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[list[float], list[tuple[str, int, int]]]:
    """Leaves' values and a recipe of ops, each on earlier nodes (so values get reused)."""
    leaves = draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=4))
    recipe = []
    for i in range(draw(st.integers(1, 10))):
        available = len(leaves) + i
        op = draw(st.sampled_from(["+", "-", "*", "tanh", "sigmoid", "relu"]))
        recipe.append(
            (op, draw(st.integers(0, available - 1)), draw(st.integers(0, available - 1)))
        )
    return leaves, recipe


def build_random(leaves: list[float], recipe: list[tuple[str, int, int]]) -> mg.Value:
    nodes = [mg.Value(v, f"x{i}") for i, v in enumerate(leaves)]
    for op, i, j in recipe:
        a, b = nodes[i], nodes[j]
        unary = {"tanh": a.tanh, "sigmoid": a.sigmoid, "relu": a.relu}
        nodes.append(unary[op]() if op in unary else {"+": a + b, "-": a - b, "*": a * b}[op])
    root = nodes[-1] * 1.0  # a root made by an op, even when the recipe's last node is a leaf
    root.label = "L"
    return root


@settings(max_examples=40, deadline=None, derandomize=True)
@given(random_graphs())
def test_random_graphs_play_the_recorded_pass_and_end_at_dot_grad(graph) -> None:
    leaves, recipe = graph
    root = build_random(leaves, recipe)
    data = backprop_steps(root)
    ref = reference_run(lambda: build_random(leaves, recipe))
    assert [s["node"] for s in data["steps"]] == ref["step_nodes"]
    shown: dict[int, float] = {}
    for k, step in enumerate(data["steps"]):
        for u in step["updates"]:
            shown[u["node"]] = u["grad"]
        for j, want in ref["after_step"][k].items():  # every step, not just the last
            assert shown[j] == pytest.approx(float(want), rel=1e-12, abs=1e-15)
    for k, node in enumerate(mg.topological_order(root)):
        assert shown[k] == node.grad
        check = data["nodes"][k]["check"]
        # At relu's kink the estimate is 1/2; past 1e6 (x*x*x*...) h = 1e-6 |x| is too coarse.
        smooth = all(op != "relu" for op, _, _ in recipe)
        tame = all(abs(n.data) < 1e6 for n in mg.topological_order(root))
        if check is not None and smooth and tame:
            assert check["estimate"] == pytest.approx(node.grad, rel=1e-5, abs=1e-5)


def test_exported_from_minigrad_and_minigrad_viz() -> None:
    assert mg.viz.backprop_player is mg.backprop_player is backprop_player
    assert mg.viz.backprop_steps_json is mg.backprop_steps_json

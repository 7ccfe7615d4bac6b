"""The backprop player in a real browser: press → through every step and compare the
page with what minigrad computed (an independent reference run of the same graph)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from player_helpers import ARTIFACTS, reference_run

import minigrad as mg
from minigrad.viz.player import EXAMPLES, backprop_player

STATE_JS = """() => {
  const ids = (sel) => [...document.querySelectorAll(sel)].map((g) => g.id);
  const grads = {};
  for (const t of document.querySelectorAll("text.mg-grad")) {
    if (t.dataset.grad !== undefined) grads[t.dataset.node] = {
      value: JSON.parse(t.dataset.grad), text: t.textContent };
  }
  return {
    counter: document.getElementById("mg-counter").textContent,
    current: ids("g.node.mg-current").filter((id) => !id.endsWith("_op")),
    inputs: ids("g.node.mg-input"),
    scopes: document.querySelectorAll("g.cluster.mg-scope").length,
    grads,
    title: document.getElementById("mg-step-title").textContent,
    lines: document.getElementById("mg-lines").textContent,
  };
}"""


def tensor_graph() -> Any:
    """A small tensor graph: broadcasting, a value used twice, a reduction."""
    x = mg.Tensor(np.array([[1.0, 2.0], [3.0, -1.0]]), requires_grad=True)
    x.label = "x"
    w = mg.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    w.label = "w"
    y = (x * w).tanh()
    y.label = "y"
    loss = (y * y).sum() + x.sum()
    loss.label = "L"
    return loss


BUILDS: dict[str, Callable[[], Any]] = {
    **{name: build for name, (build, _) in EXAMPLES.items()},
    "tensor": tensor_graph,
}


def shown_number(text: str) -> float:
    """The number in a slot such as ``grad -0.1633  (1 of 2)``."""
    return float(text.split()[1])


def play_and_compare(
    open_page: Any, tmp_path: Path, name: str
) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    """Make the page, press → through every step, check each against the reference."""
    path = tmp_path / f"{name}.html"
    backprop_player(BUILDS[name](), path, title=name)
    ref = reference_run(BUILDS[name])
    page = open_page(path)
    n = len(ref["step_nodes"])
    states = []

    state = page.evaluate(STATE_JS)
    states.append(state)  # states[0] is step 0
    assert state["counter"] == f"step 0 / {n}"
    assert state["current"] == [] and state["grads"] == {}, "step 0 is the forward pass only"
    for k in range(1, n + 1):
        page.keyboard.press("ArrowRight")
        state = page.evaluate(STATE_JS)
        states.append(state)
        assert state["counter"] == f"step {k} / {n}"
        node = ref["step_nodes"][k - 1]
        assert state["current"] == [f"n{node}"], f"step {k}: wrong node highlighted"
        parents = {f"n{j}" for j in ref["parents"][node]}
        assert set(state["inputs"]) == parents, f"step {k}: wrong inputs highlighted"
        expected = ref["after_step"][k - 1]
        assert {int(j) for j in state["grads"]} == set(expected), f"step {k}: grads shown"
        for j, want in expected.items():
            got = state["grads"][str(j)]
            np.testing.assert_allclose(got["value"], want, rtol=1e-12, atol=1e-12)
            if want.ndim == 0:
                assert shown_number(got["text"]) == pytest.approx(float(want), rel=1e-4, abs=1e-9)
    # the last step: what .grad holds, for every node
    assert {int(j) for j in state["grads"]} == set(ref["finals"])
    for j, want in ref["finals"].items():
        np.testing.assert_allclose(state["grads"][str(j)]["value"], want, rtol=0, atol=1e-12)
    assert "Done" in state["lines"]
    page.keyboard.press("ArrowRight")  # past the end: stays on the last step
    assert page.evaluate(STATE_JS)["counter"] == f"step {n} / {n}"

    ARTIFACTS.mkdir(exist_ok=True)
    page.keyboard.press("ArrowLeft")
    page.screenshot(path=str(ARTIFACTS / f"player-{name}.png"))
    assert page.errors == [], f"console errors: {page.errors}"
    assert page.requests == [path.resolve().as_uri()], "the page must load nothing else"
    return page, ref, states


def test_expr_plays_every_step_and_shows_fan_out(open_page: Any, tmp_path: Path) -> None:
    page, ref, states = play_and_compare(open_page, tmp_path, "expr")
    # step 0: the forward pass, every computed value with its op
    assert "e = *(a, b) = -6" in states[0]["lines"] and "L = +(g, t) = -7.036" in states[0]["lines"]
    a = next(k for k, node in enumerate(ref["order"]) if node.label == "a")
    page.evaluate("() => window.minigradPlayer.show(2)")  # tanh(a) is visited second
    slot = page.locator(f'text.mg-grad[data-node="{a}"]').text_content()
    assert "(1 of 2)" in slot, slot
    assert shown_number(slot) == pytest.approx(1 - np.tanh(2.0) ** 2, rel=1e-4)
    lines = page.locator("#mg-lines").text_content()
    assert "a.grad += " in lines  # the op's own text: test_formulas.py
    assert "contribution 1 of 2" in lines


@pytest.mark.parametrize("name", ["bn-composite", "bn-fused", "tensor"])
def test_examples_play_every_step(open_page: Any, tmp_path: Path, name: str) -> None:
    page, ref, states = play_and_compare(open_page, tmp_path, name)
    all_lines = [s["title"] + "\n" + s["lines"] for s in states[1:]]
    if name == "bn-fused":  # the one op's step, one backward for every input
        fused = [t for t in all_lines if "(fused, one backward for all 3 outputs)" in t]
        assert len(fused) == 1 and all(f"x[{i}].grad += " in fused[0] for i in range(3))
    if name == "bn-composite":  # steps inside the batchnorm scope are grouped in the list
        in_scope = sum(1 for n in ref["step_nodes"] if ref["order"][n]._scope[:1] == ("batchnorm",))
        grouped = page.locator('#mg-steps ol[data-scope="batchnorm"] > li').count()
        assert in_scope > 0 and grouped == in_scope
        # and on the graph, the scope's boxes light up exactly while a step is inside them
        for state, node in zip(states[1:], ref["step_nodes"], strict=True):
            depth = len(ref["order"][node]._scope)
            assert state["scopes"] == depth, state["title"]
    if name == "tensor":
        assert any("(2, 2)" in t for t in all_lines)


def test_controls_slider_buttons_play_and_check(open_page: Any, tmp_path: Path) -> None:
    path = tmp_path / "expr.html"
    backprop_player(BUILDS["expr"](), path)
    page = open_page(path)
    n = len(reference_run(BUILDS["expr"])["step_nodes"])
    counter = page.locator("#mg-counter")
    page.locator("#mg-slider").fill(str(n))
    assert counter.text_content() == f"step {n} / {n}"
    page.click("#mg-prev")
    assert counter.text_content() == f"step {n - 1} / {n}"
    page.click("#mg-next")
    assert counter.text_content() == f"step {n} / {n}"
    page.locator('#mg-steps li[data-step="2"]').click()
    assert counter.text_content() == f"step 2 / {n}"
    # the check: central difference of the selected node's gradient (here a, picked by a click)
    ref = reference_run(BUILDS["expr"])
    a = next(k for k, node in enumerate(ref["order"]) if node.label == "a")
    page.locator(f"g#n{a}").click()
    page.click("#mg-check")
    result = page.locator("#mg-check-result").text_content()
    assert "central difference" in result and "d(L)/d(a)" in result
    estimate = float(result.split("≈ ")[1].split(";")[0])
    # dL/da for L = (a*b + c)*f + tanh(a) at a=2, b=-3, f=-2: b*f + 1 - tanh(a)^2
    assert estimate == pytest.approx((-3.0) * (-2.0) + 1 - np.tanh(2.0) ** 2, rel=1e-4)
    # play at 4x: it moves on by itself, and pause stops it
    page.locator("#mg-speed").select_option("4")
    page.evaluate("() => window.minigradPlayer.show(0)")
    page.click("#mg-play")
    page.wait_for_function("() => window.minigradPlayer.step >= 2", timeout=3000)
    page.click("#mg-play")
    stopped = page.evaluate("() => window.minigradPlayer.step")
    page.wait_for_timeout(600)
    assert page.evaluate("() => window.minigradPlayer.step") == stopped
    assert page.errors == []
    assert page.requests == [path.resolve().as_uri()]


def test_inline_display_works_in_an_iframe(open_page: Any, tmp_path: Path) -> None:
    """What Jupyter shows: the object's _repr_html_ (the page in a sandboxed iframe)."""
    player = backprop_player(BUILDS["bn-fused"]())
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><body>{player._repr_html_()}</body></html>", "utf-8")
    page = open_page(path)
    frame = page.frame_locator("iframe")
    n = len(player.steps["steps"])
    assert frame.locator("#mg-counter").text_content() == f"step 0 / {n}"
    frame.locator("#mg-next").click()
    assert frame.locator("#mg-counter").text_content() == f"step 1 / {n}"
    assert frame.locator("g.node.value.mg-current").count() == 1
    assert page.errors == []
    assert all(url == path.resolve().as_uri() or url == "about:srcdoc" for url in page.requests)


def test_labels_with_markup_are_shown_as_text(open_page: Any, tmp_path: Path) -> None:
    a = mg.Value(1.5, "<script>alert(1)</script>")
    b = mg.Value(-2.0, 'b & "c" </x>')
    loss = a * b + a
    path = tmp_path / "markup.html"
    backprop_player(loss, path, title="</title><b>t</b>")
    page = open_page(path)
    assert page.locator("h1").text_content() == "</title><b>t</b>"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    lines = page.locator("#mg-lines").text_content()
    assert "<script>alert(1)</script>.grad += " in lines
    assert 'b & "c" </x>' in page.locator("#mg-step-title").text_content()
    assert page.locator("script").count() == 2  # the data and the player, nothing injected
    assert page.errors == []

"""Files, Jupyter display, the missing-dot error, special characters, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import graphviz
import pytest
from viz_svg import parse_svg, svg_elements

from minigrad import Value, name_scope
from minigrad.viz import GraphvizNotFoundError, draw_graph, node_ids, print_graph, render
from minigrad.viz.cli import main as render_main

REPO = Path(__file__).resolve().parents[2]


def small_graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    y = (a * b).tanh()
    y.label = "y"
    y.backward()
    return y


@pytest.mark.parametrize(
    ("fmt", "magic"), [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")]
)
def test_render_writes_each_format(tmp_path, fmt, magic):
    path = render(draw_graph(small_graph()), tmp_path / f"graph.{fmt}")
    assert path == tmp_path / f"graph.{fmt}"
    assert path.read_bytes().startswith(magic)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"graph.{fmt}"]  # no DOT left over


def test_render_format_argument_and_bad_format(tmp_path):
    path = render(draw_graph(small_graph()), tmp_path / "graph", format="png")
    assert path.name == "graph.png" and path.read_bytes().startswith(b"\x89PNG")
    path = render(draw_graph(small_graph()), tmp_path / "other.svg", format="pdf")
    assert path.name == "other.pdf" and path.read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match="unknown format 'bmpx'"):
        render(draw_graph(small_graph()), tmp_path / "g", format="bmpx")
    assert not (tmp_path / "g").exists()


def test_digraph_render_and_jupyter_display(tmp_path):
    picture = draw_graph(small_graph())
    assert isinstance(picture, graphviz.Digraph)
    out = picture.render(tmp_path / "direct", format="svg", cleanup=True)
    assert Path(out).read_text().lstrip().startswith("<?xml")
    bundle = picture._repr_mimebundle_()  # what Jupyter calls to show it inline
    assert "image/svg+xml" in bundle
    ids = {e.id for e in parse_svg(bundle["image/svg+xml"]).values()}
    assert set(node_ids(picture.roots).values()) <= ids


def test_missing_dot_in_a_process_without_it(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code = (
        "from minigrad import Value\n"
        "from minigrad.viz import draw_graph, render, print_graph, GraphvizNotFoundError\n"
        "y = (Value(2.0, label='a') * 3).tanh()\n"
        "picture = draw_graph(y)\n"
        "assert 'digraph' in picture.source\n"
        "print_graph(y)\n"
        "try:\n"
        f"    render(picture, {str(tmp_path / 'g.svg')!r})\n"
        "except GraphvizNotFoundError as err:\n"
        "    print('ERROR', err)\n"
        "try:\n"
        "    picture._repr_mimebundle_()\n"
        "except GraphvizNotFoundError as err:\n"
        "    print('JUPYTER', type(err).__name__)\n"
    )
    env = {**os.environ, "PATH": str(empty)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "n3 data 1  grad 0  <- tanh" in out  # the text tree needs no dot
    assert "ERROR the Graphviz program 'dot' was not found" in out
    assert "apt-get install graphviz" in out and "brew install graphviz" in out
    assert "JUPYTER GraphvizNotFoundError" in out
    assert not (tmp_path / "g.svg").exists()


def test_missing_dot_error_is_still_an_executable_not_found(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    picture = draw_graph(small_graph())
    with pytest.raises(graphviz.ExecutableNotFound, match="brew install graphviz"):
        picture.render(tmp_path / "x", format="png")
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        picture.pipe(format="svg")


def test_cli_without_dot_prints_text_and_fails(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert render_main(["--out", str(tmp_path / "out"), "--only", "expression"]) == 1
    out = capsys.readouterr().out
    assert "apt-get install graphviz" in out and "<- +" in out


def test_cli_draws_the_demos(tmp_path, capsys):
    assert render_main(["--out", str(tmp_path), "--only", "expression", "--format", "png"]) == 0
    assert (tmp_path / "expression.png").read_bytes().startswith(b"\x89PNG")
    args = ["--out", str(tmp_path), "--only", "batchnorm_scalar", "--only", "mlp_collapsed"]
    assert render_main(args) == 0
    svg = (tmp_path / "batchnorm_scalar.svg").read_text()
    clusters = [e.texts[0] for e in parse_svg(svg).values() if "cluster" in e.classes]
    assert {"composite", "fused", "batchnorm"} <= set(clusters)
    assert "collapsed" in (tmp_path / "mlp_collapsed.svg").read_text()


def test_cli_is_registered():
    result = subprocess.run(
        [sys.executable, "-m", "minigrad", "render", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert "--format" in result.stdout


SPECIAL = ["a<b>&c", 'say "hi"', "it's", "x → ∞ (日本語, ü, 😀)", "back\\slash", "tab\there"]


@pytest.mark.parametrize("text", SPECIAL)
def test_labels_with_special_characters_render(text):
    a = Value(1.0, label=text)
    with name_scope(text):
        y = a * 2
    y.label = text + "!"
    y.backward()
    picture = draw_graph(y)
    nodes = svg_elements(picture)
    shown = text.replace("\t", " ")  # control characters become spaces
    ids = node_ids(y)
    assert nodes[ids[a]].texts[0] == shown
    assert nodes[ids[y]].texts[0] == shown + "!"
    assert any(e.texts and e.texts[0] == shown for e in nodes.values() if "cluster" in e.classes)
    print_graph(y)  # the text view takes any label too


def test_special_characters_in_names_and_op_names():
    from minigrad.scalar.function import ScalarFunction

    class Weird(ScalarFunction):
        name = "<&op>"

        @staticmethod
        def forward(ctx, x):
            return [x, -x]

        @staticmethod
        def backward(ctx, grads):
            return [grads[0] - grads[1]]

    x = Value(1.0)
    u, v = Weird.apply(x)
    y = u + v
    y.backward()
    nodes = svg_elements(draw_graph(y, names={'x"<1>"': x}))
    ids = node_ids(y)
    assert nodes[ids[x]].texts[0] == 'x"<1>"'
    assert nodes[ids[u._prev[0]]].texts[0] == "<&op>"


def test_render_text_shows_the_names_the_svg_shows(tmp_path, capsys):
    """``render --text`` prints each node with the name its SVG box shows (a, b, L)."""
    from minigrad.viz.demos import DEMOS

    assert render_main(["--out", str(tmp_path), "--only", "expression", "--text"]) == 0
    text = capsys.readouterr().out
    elements = svg_elements(DEMOS["expression"][0]())
    named = 0
    for line in text.splitlines():
        words = line.lstrip("│├└─ ").split()
        if (
            len(words) > 2
            and words[0].startswith("n")
            and words[1] != "data"
            and "(above)" not in line
        ):
            nid, name = words[0], words[1]
            assert name in elements[nid].texts[0], (nid, name, elements[nid].texts)
            named += 1
    assert named == 7  # a, b, c, d, e, f, L

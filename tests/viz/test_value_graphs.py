"""draw_graph on scalar (Value) graphs, checked in the SVG that dot actually draws."""

from __future__ import annotations

import re

import pytest
from viz_svg import svg_elements

import minigrad as mg
from minigrad import Value, name_scope
from minigrad.autograd import topological_order
from minigrad.viz import GraphTooLargeError, draw_graph, node_ids


def micrograd_example():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f + a  # a is used twice
    L.label = "L"
    L.backward()
    return L, dict(a=a, b=b, c=c, d=d, e=e, f=f)


def test_every_value_and_op_appears_with_its_numbers():
    L, v = micrograd_example()
    order = topological_order(L)
    elements = svg_elements(draw_graph(L, legend=False))
    nodes = {k: e for k, e in elements.items() if "node" in e.classes}
    # one box per value, one ellipse per op: 7 values (5 leaves ...) and 4 ops
    values = [n for n in order]
    ops = [n for n in order if n._prev]
    assert len(nodes) == len(values) + len(ops)
    ids = node_ids(L)
    for n in order:
        box = nodes[ids[n]]
        assert {"node", "value"} <= box.classes
        assert box.texts[0] == (n.label or ids[n])  # the label, or a generated name
        assert f"data {n.data:.4g}" in box.texts
        assert f"grad {n.grad:.4g}" in box.texts
        if n._prev:
            assert nodes[ids.op_id(n)].texts[0] == n._op
    # dL/da = f * b + 1 = 7: the sum of two contributions, and the box says so
    assert v["a"].grad == 7.0
    assert "grad 7" in nodes[ids[v["a"]]].texts
    assert "grad = sum of 2 contributions (+=)" in nodes[ids[v["a"]]].texts
    assert "fanout" in nodes[ids[v["a"]]].classes
    assert "fanout" not in nodes[ids[v["b"]]].classes


def test_edges_follow_the_graph():
    L, _ = micrograd_example()
    ids = node_ids(L)
    elements = svg_elements(draw_graph(L, legend=False))
    edges = {e.title for e in elements.values() if "edge" in e.classes}
    expected = set()
    for n in ids:
        if n._prev:
            op = ids.op_id(n)
            expected.add(f"{op}->{ids[n]}")
            expected |= {f"{ids[p]}->{op}" for p in n._prev}
    assert edges == expected


def test_kinds_are_distinguishable_and_root_is_marked():
    L, v = micrograd_example()
    ids = node_ids(L)
    nodes = svg_elements(draw_graph(L, params=[v["f"]]))
    assert "root" in nodes[ids[L]].classes
    assert "parameter" in nodes[ids[v["f"]]].classes
    assert "leaf" in nodes[ids[v["b"]]].classes
    assert "intermediate" in nodes[ids[v["d"]]].classes
    legend = " ".join(e.text for k, e in nodes.items() if k.startswith("legend"))
    for word in ("leaf", "parameter", "intermediate", "root", "op", "fused op"):
        assert word in legend


def test_ids_are_positions_in_the_shared_walk():
    L, _ = micrograd_example()
    ids = node_ids(L)
    assert [ids[n] for n in topological_order(L)] == [f"n{k}" for k in range(len(ids))]
    with pytest.raises(KeyError, match="not in this graph"):
        ids[Value(1.0)]


def test_generated_names_and_user_names():
    x = Value(3.0)
    W1 = Value(0.5)
    y = x * W1
    y.backward()
    nodes = svg_elements(draw_graph(y, names={"x": x, "W1": W1, "ys": [y], "_hidden": x}))
    ids = node_ids(y)
    assert nodes[ids[x]].texts[0] == "x"
    assert nodes[ids[W1]].texts[0] == "W1"
    assert nodes[ids[y]].texts[0] == "ys[0]"
    unnamed = svg_elements(draw_graph(y))
    assert unnamed[ids[x]].texts[0] == ids[x]  # a generated name: the node's id


def test_names_from_locals():
    def compute():
        alpha = Value(1.5)
        beta = Value(-2.0)
        out = alpha * beta
        out.backward()
        return out, locals()

    out, scope = compute()
    nodes = svg_elements(draw_graph(out, names=scope))
    assert {"alpha", "beta", "out"} <= {e.texts[0] for e in nodes.values() if "value" in e.classes}


def test_scopes_become_nested_clusters_with_titles():
    a = Value(1.0, label="a")
    with name_scope("outer"):
        b = a * 2
        with name_scope("inner"):
            c = b + a
    d = c.tanh()
    d.backward()
    picture = draw_graph(d, legend=False)
    assert re.search(r"subgraph cluster_\w+ \{[^}]*label=<<B>outer</B>>", picture.source)
    clusters = {e.text: e for e in svg_elements(picture).values() if "cluster" in e.classes}
    assert "outer" in clusters["outer"].texts[0]
    # inner is drawn inside outer: its box is nested in the DOT source
    outer_at = picture.source.index("<B>outer</B>")
    inner_at = picture.source.index("<B>inner</B>")
    assert outer_at < inner_at
    inner_block = picture.source[picture.source.rindex("subgraph", 0, inner_at) :]
    assert f"\t\t\t{node_ids(d)[c]} " in inner_block  # three tabs: two levels of cluster


def test_highlight_marks_the_path_to_the_root_only():
    L, v = micrograd_example()
    ids = node_ids(L)
    nodes = svg_elements(draw_graph(L, highlight=v["c"]))
    lit = {k for k, e in nodes.items() if "highlight" in e.classes}
    # c -> (+) -> d -> (*) -> n -> (+) -> L
    assert {ids[v["c"]], ids[v["d"]], ids[L]} <= lit
    assert ids.op_id(v["d"]) in lit
    assert ids[v["a"]] not in lit and ids[v["b"]] not in lit and ids[v["e"]] not in lit
    with pytest.raises(ValueError, match="not in the graph"):
        draw_graph(L, highlight=Value(0.0))


def test_show_saved_shows_local_derivatives_and_totals():
    a, b, c = Value(2.0), Value(-3.0), Value(4.0)
    y = a * b + c
    y.backward()
    ids = node_ids(y)
    picture = draw_graph(y, show_saved=True, legend=False)
    nodes = svg_elements(picture)
    product = y._prev[0]  # a * b
    assert "local derivatives: -3, 2" in nodes[ids.op_id(product)].text
    assert "local derivatives: 1, 1" in nodes[ids.op_id(y)].text
    # a scalar op saves nothing: its backward reads the inputs' data again
    assert "saved for backward: 0 numbers" in picture.source


def test_precision_and_data_grad_switches():
    x = Value(1.0 / 3.0, label="x")
    y = x * 3.0
    y.backward()
    ids = node_ids(y)
    assert "data 0.33333" in svg_elements(draw_graph(y, precision=5))[ids[x]].texts
    hidden = svg_elements(draw_graph(y, show_data=False, show_grad=False))[ids[x]].text
    assert "data" not in hidden and "grad" not in hidden
    with pytest.raises(ValueError, match="precision"):
        draw_graph(y, precision=0)


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="draw_graph: expected a Value or a Tensor"):
        draw_graph(3.0)
    with pytest.raises(ValueError, match="no roots"):
        draw_graph([])
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(Value(1.0), rankdir="XY")
    with pytest.raises(ValueError, match="collapse_scopes"):
        draw_graph(Value(1.0), collapse_scopes=-1)


def test_same_computation_same_dot_source():
    sources = [draw_graph(micrograd_example()[0], show_saved=True).source for _ in range(2)]
    assert sources[0] == sources[1]
    assert "0x" not in sources[0]  # no memory addresses leak into the picture


def test_same_dot_source_in_a_fresh_process():
    import subprocess
    import sys

    code = (
        "import sys; sys.path.insert(0, 'tests/viz');"
        "from test_value_graphs import micrograd_example;"
        "from minigrad.viz import draw_graph;"
        "sys.stdout.write(draw_graph(micrograd_example()[0], show_saved=True).source)"
    )
    import pathlib

    repo = pathlib.Path(__file__).resolve().parents[2]
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert other == draw_graph(micrograd_example()[0], show_saved=True).source


def test_multi_output_scalar_op_is_one_fused_node():
    from minigrad.batchnorm.scalar import batch_norm_fused

    xs = [Value(x, label=f"x{i}") for i, x in enumerate([1.0, 2.0, 4.0])]
    ys = batch_norm_fused(xs, Value(1.0, label="gamma"), Value(0.0, label="beta"))
    loss = mg.value_sum(y * w for y, w in zip(ys, [1.0, -1.0, 2.0], strict=True))
    loss.backward()
    ids = node_ids(loss)
    op = ys[0]._prev[0]
    nodes = svg_elements(draw_graph(loss, show_saved=True))
    box = nodes[ids[op]]
    assert {"op", "fused"} <= box.classes
    assert box.texts[0] == "batchnorm" and "fused op: hand-written backward" in box.texts
    assert "saved 5 numbers: xhat (3), inv_std, gamma" in box.texts
    edges = {e.title for e in nodes.values() if "edge" in e.classes}
    for y in ys:  # the op feeds each output directly; outputs have no op of their own
        assert f"{ids[op]}->{ids[y]}" in edges and ids.op_id(y) is None
    for x in xs:
        assert f"{ids[x]}->{ids[op]}" in edges


def test_composite_batchnorm_is_one_labelled_box_holding_its_steps():
    from minigrad.batchnorm.scalar import batch_norm_composite

    xs = [Value(x) for x in [1.0, 2.0, 4.0]]
    ys = batch_norm_composite(xs, Value(1.0), Value(0.0))
    loss = mg.value_sum(ys)
    loss.backward()
    picture = draw_graph(loss)
    clusters = [e for e in svg_elements(picture).values() if "cluster" in e.classes]
    titles = [c.texts[0] for c in clusters]
    assert titles.count("batchnorm") == 1
    assert {"mean", "variance", "normalize", "scale_shift"} <= set(titles)
    # nested: each step's cluster comes after (inside) the batchnorm cluster in DOT
    top = picture.source.index("<B>batchnorm</B>")
    for step in ("mean", "variance", "normalize", "scale_shift"):
        assert picture.source.index(f"<B>{step}</B>") > top
    ops = [e for e in svg_elements(picture).values() if "op" in e.classes]
    assert not any("fused" in e.classes for e in ops)


def test_collapse_scopes_draws_one_box_per_scope():
    a = Value(1.0, label="a")
    with name_scope("block"):
        h = a
        for _ in range(20):
            h = (h * 1.01).tanh()
    out = h + 1.0
    out.backward()
    ids = node_ids(out)
    picture = draw_graph(out, collapse_scopes=True, legend=False)
    nodes = {k: e for k, e in svg_elements(picture).items() if "node" in e.classes}
    scope_boxes = [e for e in nodes.values() if "collapsed" in e.classes]
    assert len(scope_boxes) == 1
    assert scope_boxes[0].texts[0] == "block"
    # 20 *, 20 tanh, the 20 constants 1.01, and the leaf a, used only inside the block
    assert "61 nodes collapsed" in scope_boxes[0].texts
    assert "20 *, 20 tanh" in scope_boxes[0].texts
    drawn = picture.node_ids
    assert sum(1 for n in ids if drawn.drawn_id(n) == scope_boxes[0].id) == 61
    assert drawn.drawn_id(a) == scope_boxes[0].id
    assert ids[out] in nodes  # the root stays visible
    # a named node stays visible even when its every use is inside the scope
    named = svg_elements(draw_graph(out, collapse_scopes=True, names={"a": a}))
    assert "60 nodes collapsed" in named["scope0"].texts and ids[a] in named


def test_over_max_nodes_collapses_then_errors():
    a = Value(0.5)
    with name_scope("chain"):
        h = a
        for _ in range(100):
            h = h * 1.0
    h2 = h + 0.0
    h2.backward()
    picture = draw_graph(h2, max_nodes=50)
    assert "so each name scope is drawn as one box" in picture.source
    assert "collapsed" in picture.source
    flat = a
    for _ in range(100):
        flat = flat * 1.0
    with pytest.raises(GraphTooLargeError, match=r"max_nodes=50.*name_scope"):
        draw_graph(flat, max_nodes=50)
    assert draw_graph(flat, max_nodes=None).source  # None: no limit


def test_collapse_at_depth_two_keeps_the_outer_cluster():
    x = Value(0.5, label="x")
    with name_scope("mlp"):
        with name_scope("layer1"):
            h = (x * 2.0).tanh()
        with name_scope("layer2"):
            y = (h * 3.0).tanh()
        z = y + 1.0
    z.label = "z"
    z.backward()
    picture = draw_graph(z, collapse_scopes=2, legend=False)
    nodes = svg_elements(picture)
    collapsed = {e.texts[0]: e for e in nodes.values() if "collapsed" in e.classes}
    assert set(collapsed) == {"mlp/layer1", "mlp/layer2"}
    assert "4 nodes collapsed" in collapsed["mlp/layer1"].texts  # *, 2.0, tanh, and x
    assert "3 nodes collapsed" in collapsed["mlp/layer2"].texts  # *, 3.0, tanh
    clusters = [e.texts[0] for e in nodes.values() if "cluster" in e.classes]
    assert clusters == ["mlp"]
    edges = {e.title for e in nodes.values() if "edge" in e.classes}
    ids = picture.node_ids
    assert "scope0->scope1" in edges and f"scope1->{ids.op_id(z)}" in edges

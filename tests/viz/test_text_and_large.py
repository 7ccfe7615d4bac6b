"""print_graph (the text tree), side by side, and a 10,000-node graph collapsed."""

from __future__ import annotations

import io
import time

from viz_svg import svg_elements

from minigrad import Value, name_scope
from minigrad.autograd import topological_order
from minigrad.viz import draw_graph, draw_graphs_side_by_side, format_graph, node_ids, print_graph
from minigrad.viz.demos import scalar_mlp_loss


def test_print_graph_is_a_tree_with_shared_nodes_referenced():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    with name_scope("s"):
        y = a * b + a
    y.backward()
    out = io.StringIO()
    print_graph(y, file=out)
    assert out.getvalue().splitlines() == [
        "n3 data -4  grad 1  <- +  [s]",
        "├── n2 data -6  grad 1  <- *  [s]",
        "│   ├── n0 a  data 2  grad -2  leaf, used 2x: grad = sum of 2 contributions (+=)",
        "│   └── n1 b  data -3  grad 2  leaf",
        "└── n0 (above)",
    ]


def test_print_graph_handles_a_deep_chain_without_recursion():
    x = Value(1.0)
    for _ in range(5000):
        x = x + 0.0
    text = format_graph(x, show_grad=False)
    assert text.count("\n") == 2 * 5000  # every + node and every constant, one line each


def test_print_graph_of_tensors_and_fused_ops():
    from minigrad import Tensor
    from minigrad.batchnorm.scalar import batch_norm_fused

    t = Tensor([[1.0, 2.0]], requires_grad=True)
    t.label = "t"
    s = (t * 2.0).sum()
    s.backward()
    text = format_graph(s)
    assert "n0 t  (1, 2) float32  data [[1, 2]]  grad [[2, 2]]  leaf" in text
    ys = batch_norm_fused([Value(1.0), Value(3.0)], Value(1.0), Value(0.0))
    assert "[batchnorm] fused op: 4 inputs, 2 outputs" in format_graph(ys)  # 2 x, gamma, beta


def test_side_by_side_holds_both_graphs_with_titles():
    from minigrad.batchnorm.scalar import batch_norm_composite, batch_norm_fused

    roots = {}
    for name, fn in (("composite", batch_norm_composite), ("fused", batch_norm_fused)):
        ys = fn([Value(1.0), Value(2.0), Value(4.0)], Value(1.0), Value(0.0))
        ys[0].backward()
        roots[name] = ys
    picture = draw_graphs_side_by_side(roots)
    nodes = svg_elements(picture)
    for k, (title, ys) in enumerate(roots.items()):
        ids = picture.node_ids[title]
        assert nodes[f"g{k}"].texts[0] == title
        for n in topological_order(ys):
            assert f"g{k}_" + node_ids(ys)[n] == ids[n]
            assert ids[n] in nodes  # every node of both graphs is drawn
    assert sum(1 for key in nodes if key.startswith("legend_") and "node" in nodes[key].classes)


def test_ten_thousand_node_graph_renders_collapsed_quickly():
    loss, params = scalar_mlp_loss((2, 16, 16, 1), batch=24)
    n = len(topological_order(loss))
    assert n > 10_000
    start = time.perf_counter()
    picture = draw_graph(loss, collapse_scopes=True, params=params)
    nodes = svg_elements(picture)  # dot's layout included
    seconds = time.perf_counter() - start
    boxes = [e for e in nodes.values() if "node" in e.classes and not e.id.startswith("legend")]
    assert len(boxes) <= 10
    titles = {e.texts[0] for e in boxes if "collapsed" in e.classes}
    assert titles == {"layer1", "layer2", "layer3", "loss"}
    print(f"\n{n:,}-node MLP graph, collapsed: drawn and laid out in {seconds:.2f} s")
    # Without collapse_scopes it is over max_nodes, so it collapses by itself.
    assert "so each name scope is drawn as one box" in draw_graph(loss).source

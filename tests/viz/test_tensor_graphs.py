"""draw_graph on Tensor graphs: shapes, values or statistics, gradients, broadcasting, fused ops."""

from __future__ import annotations

import numpy as np
from viz_svg import svg_elements

from minigrad import Tensor, name_scope
from minigrad.tensor.function import Function
from minigrad.viz import draw_graph, draw_graphs_side_by_side, node_ids


def leaf(data, label, requires_grad=True):
    t = Tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)
    t.label = label
    return t


def test_small_tensors_show_values_big_ones_statistics():
    x = leaf(np.arange(6.0).reshape(2, 3), "x", requires_grad=False)
    W = leaf(np.linspace(-1, 1, 15).reshape(3, 5), "W")
    y = x @ W
    loss = y.sum()
    loss.backward()
    ids = node_ids(loss)
    nodes = svg_elements(draw_graph(loss))
    x_box = nodes[ids[x]]
    assert x_box.texts[:2] == ["x", "(2, 3) float64"]
    assert "data [0, 1, 2]" in x_box.texts and "[3, 4, 5]" in x_box.texts  # one line per row
    assert "grad None" in x_box.texts  # x does not require grad
    assert "leaf" in x_box.classes and "parameter" in nodes[ids[W]].classes
    # W has 15 > 12 elements: statistics, and its gradient as a norm and a heat strip
    w = W.data
    stats = f"data mean {w.mean():.4g}  std {w.std():.4g}  min {w.min():.4g}  max {w.max():.4g}"
    assert stats in nodes[ids[W]].texts
    norm = np.linalg.norm(W.grad)
    assert f"grad norm {norm:.4g}" in nodes[ids[W]].texts
    w_line = draw_graph(loss).source.split(f"{ids[W]} [label=")[1].split("\n")[0]
    assert w_line.count('WIDTH="6"') == 15  # the heat strip: one cell per element (up to 24)
    # the matmul result has 10 elements: values, and its gradient (all ones) in full
    assert "grad [1, 1, 1, 1, 1]" in nodes[ids[y]].texts
    assert nodes[ids.op_id(y)].texts[0] == "matmul"
    assert "root" in nodes[ids[loss]].classes


def test_broadcast_edges_are_marked_and_others_not():
    x = leaf(np.ones((4, 3)), "x")
    b = leaf([1.0, 2.0, 3.0], "b")
    y = (x + b).sum()
    y.backward()
    ids = node_ids(y)
    s = y._prev[0]
    nodes = svg_elements(draw_graph(y))
    edges = {e.title: e for e in nodes.values() if "edge" in e.classes}
    marked = edges[f"{ids[b]}->{ids.op_id(s)}"]
    assert "broadcast" in marked.classes
    assert "broadcast (3,)->(4, 3): grad summed" in marked.text
    assert "broadcast" not in edges[f"{ids[x]}->{ids.op_id(s)}"].classes
    # the reduction (4, 3) -> () is not broadcasting
    assert "broadcast" not in edges[f"{ids[s]}->{ids.op_id(y)}"].classes
    assert np.allclose(b.grad, [4.0, 4.0, 4.0])  # and the gradient was indeed summed


def test_fan_out_of_a_tensor_says_grad_is_a_sum():
    x = leaf([1.0, 2.0], "x")
    y = (x * x + x).sum()
    y.backward()
    box = svg_elements(draw_graph(y))[node_ids(y)[x]]
    assert "grad = sum of 3 contributions (+=)" in box.texts
    assert "grad [3, 5]" in box.texts  # d(x*x + x)/dx = 2x + 1


class SquareSum(Function):
    """sum(x**2) in one op with its backward written by hand: d/dx = 2x."""

    name = "square_sum"
    fused = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.asarray((x * x).sum())

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_arrays
        return (2.0 * x * grad,)


def test_fused_tensor_op_is_drawn_differently_and_shows_what_it_saved():
    x = leaf([1.0, -2.0, 3.0], "x")
    fused = SquareSum.apply(x)
    fused.backward(retain_graph=True)
    with name_scope("composite"):
        composite = (x * x).sum()
    composite.backward(retain_graph=True)
    picture = draw_graphs_side_by_side({"fused": fused, "composite": composite}, show_saved=True)
    nodes = svg_elements(picture)
    fused_op = nodes["g0_" + node_ids(fused)[fused] + "_op"]
    assert {"op", "fused"} <= fused_op.classes
    assert fused_op.texts[:2] == ["square_sum", "fused op: hand-written backward"]
    assert "saved 1 arrays (3,): 24 B" in fused_op.texts
    composite_ops = [e for k, e in nodes.items() if k.startswith("g1_") and "op" in e.classes]
    assert composite_ops and not any("fused" in e.classes for e in composite_ops)
    assert any(e.texts[0] == "composite" for e in nodes.values() if "cluster" in e.classes)


def test_freed_saved_arrays_are_reported_as_freed():
    x = leaf([1.0, 2.0], "x")
    y = SquareSum.apply(x)
    y.backward()  # no retain_graph: the op's saved arrays are released
    picture = draw_graph(y, show_saved=True)
    assert "freed by backward" in picture.source


def test_tensor_batchnorm_composite_and_fused():
    from minigrad.batchnorm.tensor import batch_norm_composite, batch_norm_fused

    data = np.random.default_rng(0).normal(size=(5, 2))
    upstream = np.random.default_rng(1).normal(size=(5, 2))
    outs = {}
    for name, fn in (("composite", batch_norm_composite), ("fused", batch_norm_fused)):
        x = leaf(data, "x")
        y = fn(x, leaf(np.ones(2), "gamma"), leaf(np.zeros(2), "beta"))
        y.backward(upstream, retain_graph=True)
        outs[name] = y
    picture = draw_graphs_side_by_side(outs, show_saved=True)
    nodes = svg_elements(picture)
    clusters = [e.texts[0] for k, e in nodes.items() if "cluster" in e.classes]
    assert clusters.count("batchnorm") == 1  # the composite's box; the fused op is one node
    fused_ops = [e for e in nodes.values() if "fused" in e.classes and "node" in e.classes]
    assert len(fused_ops) == 1 and fused_ops[0].id.startswith("g1_")
    # the composite keeps more arrays for backward than the fused op: the caption says how many
    totals = [
        int(line.split("saved for backward: ")[1].split(" numbers")[0].replace(",", ""))
        for e in nodes.values()
        if "cluster" in e.classes and e.id in ("g0", "g1")
        for line in e.texts
        if line.startswith("saved for backward")
    ]
    assert len(totals) == 2 and totals[0] > totals[1]


def test_heat_strip_colours_follow_the_gradient_sign():
    from minigrad.viz.labels import grad_cells

    strip = grad_cells(np.array([2.0, -2.0, 0.0, np.nan, 1.0]))
    colours = [part.split('"')[0] for part in strip.split('BGCOLOR="')[1:]]
    # scaled by the largest finite |value| (2): full red, full blue, white, grey for NaN, pink
    assert colours == ["#ff0000", "#0000ff", "#ffffff", "#9ca3af", "#ff8080"]

"""The BatchNorm comparison picture explains itself: named constants (N, eps), one rule
for inputs and parameters in both engines, a caption for the roots' dL/dy, the graphs
left and right, and a demo PNG a screen shows whole next to the full SVG."""

from __future__ import annotations

import json

import numpy as np
import pytest
from viz_svg import svg_elements

from minigrad.batchnorm.compare import compare_batchnorm, example_batch
from minigrad.demo import SCREEN, batchnorm_both_ways, png_size


@pytest.fixture(scope="module", params=["scalar", "tensor"])
def comparison(request):
    return compare_batchnorm(example_batch((4, 2), 0), engine=request.param, numerical=False)


def test_every_leaf_is_named_and_the_kinds_follow_one_rule(comparison):
    nodes = svg_elements(comparison.picture())
    leaves = [n for n in nodes.values() if {"value", "leaf"} <= n.classes]
    params = [n for n in nodes.values() if "parameter" in n.classes]
    names = [n.texts[0].split()[0] for n in leaves]
    assert not [name for name in names if name.startswith(("g0_", "g1_"))], names  # no bare ids
    assert {name.split("[")[0] for name in names} == {"x", "N", "eps"} - (
        {"N"} if comparison.engine == "tensor" else set()  # the tensor mean is one op
    )
    assert {n.texts[0].split()[0].split("[")[0] for n in params} == {"gamma", "beta"}


def test_the_caption_explains_the_roots_gradient(comparison):
    caption = comparison.caption()
    assert "dL/dy" in caption and "random (seed 0)" in caption and "N = 4" in caption
    assert "eps = 1e-05" in caption
    assert "dL/dy" in comparison.picture().pipe(format="svg").decode()


def _cluster_boxes(picture) -> dict[str, list[float]]:
    """Each graph's bounding box (x0, y0, x1, y1) as dot laid it out: g0 composite, g1 fused."""
    layout = json.loads(picture.pipe(format="json"))
    names = {"cluster_g0": "composite", "cluster_g1": "fused"}
    return {
        names[o["name"]]: [float(v) for v in o["bb"].split(",")]
        for o in layout.get("objects", [])
        if o.get("name") in names
    }


def test_tb_puts_the_graphs_left_and_right_lr_above_each_other(comparison):
    left_right = _cluster_boxes(comparison.picture("TB"))
    composite, fused = left_right["composite"], left_right["fused"]
    assert composite[2] <= fused[0]  # composite's right edge is left of fused's left edge
    stacked = _cluster_boxes(comparison.picture("LR"))
    a, b = stacked["composite"], stacked["fused"]
    assert a[3] <= b[1] or b[3] <= a[1]  # one above the other


def test_the_demo_writes_a_screen_png_and_the_full_svg(tmp_path, capsys):
    batchnorm_both_ways(tmp_path, seed=0)
    out = capsys.readouterr().out
    width, height = png_size(tmp_path / "bn_side_by_side.png")
    assert width <= SCREEN[0] and height <= SCREEN[1]
    assert f"{width}x{height}" in out  # the printed size is the file's
    svg = (tmp_path / "bn_side_by_side.svg").read_text()
    assert "y[3,1]" in svg and "Feature 0 of 2" not in svg  # every feature
    assert np.isfinite(width) and width > 1000  # shrunk to fit, not to a thumbnail

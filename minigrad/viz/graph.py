"""``draw_graph``: a computation graph (``Value`` s or ``Tensor`` s) as a Graphviz picture.

The picture is built from the shared walk ``minigrad.autograd.topological_order``; the
position of a node in that walk is its name in the DOT source (``n0``, ``n1``, ...), so
the same computation gives the same DOT text in every run, and a page that shows the
SVG can find each node by that id (``node_ids``).

What is drawn, for each node of the walk:

* a **value node** (a ``Value`` or a ``Tensor``): a box with its name, data and grad;
  its colour says whether it is a leaf, a parameter, an intermediate or the root;
* the **op** that made it: an ellipse between its inputs and the box (id ``nK_op``);
  a fused op (one op with a hand-written backward) is an orange double octagon;
* a scalar multi-output op (``ScalarFunction``, an ``_OpNode`` in the walk) is itself
  an op node, with an edge to each of its outputs;
* name scopes are clusters (nested scopes, nested clusters), or with
  ``collapse_scopes`` one box per scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import graphviz
import numpy as np

from minigrad.autograd import topological_order
from minigrad.viz import labels
from minigrad.viz.output import GraphPicture

__all__ = ["DEFAULT_MAX_NODES", "GraphTooLargeError", "NodeIds", "draw_graph", "node_ids"]

# More boxes than this and dot's layout gets slow and the picture unreadable.
DEFAULT_MAX_NODES = 1000

GRAPH_ATTRS = {
    "fontname": "Helvetica",
    "fontsize": "12",
    "nodesep": "0.25",
    "ranksep": "0.35",
    "bgcolor": "white",
}
NODE_ATTRS = {"fontname": "Helvetica", "fontsize": "11", "margin": "0.06,0.03"}
EDGE_ATTRS = {"arrowsize": "0.7", "color": "#475569"}


class GraphTooLargeError(ValueError):
    """The graph has more boxes than ``max_nodes`` even with every name scope collapsed."""


# ---------------------------------------------------------------- the walk and its ids


def is_op_node(node: Any) -> bool:
    """An op that is a node of its own (a ``ScalarFunction`` call): it has no ``data``."""
    return not hasattr(node, "data")


def as_roots(roots: Any, who: str) -> list[Any]:
    """One node or an iterable of nodes -> a list of nodes, or a clear ``TypeError``."""
    if hasattr(roots, "_prev"):
        return [roots]
    if isinstance(roots, Iterable) and not isinstance(roots, str | bytes | Mapping):
        items = list(roots)
        bad = [r for r in items if not hasattr(r, "_prev")]
        if items and not bad:
            return items
        if not items:
            raise ValueError(f"{who}: no roots given (an empty list)")
        roots = bad[0]
    raise TypeError(
        f"{who}: expected a Value or a Tensor (or a list of them), got {type(roots).__name__}"
    )


class NodeIds(Mapping):
    """Node -> DOT id (``{prefix}n{K}``, K its position in ``topological_order``).

    Keyed by identity (a ``Tensor`` compares elementwise, so it cannot be a dict key).
    Iterating gives the nodes in walk order. ``op_id(node)`` is the id of the ellipse of
    the op that made a value node (None for a leaf or an op node); ``drawn_id(node)`` is
    the id of the box that shows the node in a picture, its own or, when its scope is
    collapsed, the scope's.
    """

    def __init__(self, order: list[Any], prefix: str = "") -> None:
        self.order = order
        self.prefix = prefix
        self._index = {id(n): k for k, n in enumerate(order)}
        self._drawn: dict[int, str] = {}

    def __getitem__(self, node: Any) -> str:
        k = self._index.get(id(node))
        if k is None:
            raise KeyError(f"node_ids: {node!r} is not in this graph")
        return f"{self.prefix}n{k}"

    def __contains__(self, node: object) -> bool:
        return id(node) in self._index

    def __iter__(self) -> Iterator[Any]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)

    def index(self, node: Any) -> int:
        """The node's position in the walk."""
        self[node]  # raises the KeyError for a node of another graph
        return self._index[id(node)]

    def op_id(self, node: Any) -> str | None:
        """The id of the ellipse of the op that made ``node`` (None when it has none)."""
        if not node._prev or is_op_node(node) or _fed_by_op_node(node):
            return None
        return self[node] + "_op"

    def drawn_id(self, node: Any) -> str:
        """The id of the box that shows ``node``: its own, or its collapsed scope's."""
        return self._drawn.get(id(node)) or self[node]


def _fed_by_op_node(node: Any) -> bool:
    """An output of a multi-output op: its only parent is the op node itself."""
    return len(node._prev) == 1 and is_op_node(node._prev[0])


def node_ids(roots: Any, *, prefix: str = "") -> NodeIds:
    """The DOT ids ``draw_graph(roots)`` gives each node: stable across runs."""
    return NodeIds(topological_order(as_roots(roots, "node_ids")), prefix)


# ---------------------------------------------------------------- the picture


def draw_graph(
    roots: Any,
    *,
    rankdir: str = "LR",
    show_data: bool = True,
    show_grad: bool = True,
    collapse_scopes: bool | int = False,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    highlight: Any = None,
    precision: int = 4,
    names: Mapping[str, Any] | None = None,
    show_saved: bool = False,
    params: Iterable[Any] = (),
    inputs: Iterable[Any] = (),
    legend: bool = True,
) -> GraphPicture:
    """Draw the graph behind ``roots`` (one node or a list) as a ``graphviz.Digraph``.

    * ``rankdir``: ``"LR"`` (inputs left, root right) or ``"TB"``, ``"RL"``, ``"BT"``.
    * ``show_data`` / ``show_grad``: print each node's data / gradient.
    * ``collapse_scopes``: ``True`` draws each top-level name scope as one box (a count
      of the nodes it hides and its commonest ops); an int ``d`` collapses the scopes
      at depth ``d`` and keeps the clusters above them. Roots, named and highlighted
      nodes stay visible; leaves used only inside one collapsed scope go into it.
    * ``max_nodes``: the most boxes to draw. A bigger graph is collapsed automatically
      (the caption says so); if it is still too big, ``GraphTooLargeError`` says what
      to do. ``None`` draws everything.
    * ``highlight``: a node (or a list): it and every node on its paths to the root
      are drawn in red, edges too.
    * ``precision``: significant digits of every number.
    * ``names``: ``{"W1": W1, ...}`` or ``locals()``: boxes show your variable names
      (a list or tuple of nodes gets ``name[i]``); other entries are ignored.
    * ``show_saved``: each op also shows what it kept for its backward (a scalar op: its
      local derivatives; a multi-output op: its context; a tensor op: its saved
      arrays), and the caption totals it.
    * ``params``: leaves to draw as parameters (``Tensor`` s with ``requires_grad`` and
      ``Parameter`` s are parameters anyway).
    * ``inputs``: leaves to draw as inputs even when they require grad (a batch whose
      gradient you want, like x in a gradient check).
    * ``legend``: add a key to the colours and shapes.

    The result's ``node_ids`` maps each node to its DOT id (``n{K}``, K its position in
    ``topological_order``), the ``id`` of its ``<g>`` in SVG; each ``<g>`` also has a
    ``class`` (``value leaf``, ``op fused``, ...).
    """
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_graph: rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    builder = GraphBuilder(
        roots,
        who="draw_graph",
        show_data=show_data,
        show_grad=show_grad,
        collapse_scopes=collapse_scopes,
        max_nodes=max_nodes,
        highlight=highlight,
        precision=precision,
        names=names,
        show_saved=show_saved,
        params=params,
        inputs=inputs,
    )
    picture = new_picture(rankdir)
    builder.emit(picture)
    if legend:
        add_legend(picture, collapsed=builder.collapsed_any)
    if builder.notes:
        picture.attr(label=labels.caption(builder.notes), labelloc="b", labeljust="l")
    picture.node_ids, picture.roots = builder.ids, builder.roots
    picture.names = names  # so a text view (print_graph) shows the same names
    return picture


def new_picture(rankdir: str) -> GraphPicture:
    picture = GraphPicture(name="minigrad", format="svg")
    picture.attr(rankdir=rankdir, **GRAPH_ATTRS)
    picture.attr("node", **NODE_ATTRS)
    picture.attr("edge", **EDGE_ATTRS)
    return picture


class GraphBuilder:
    """Works out what to draw for one graph, then writes it into a Digraph.

    ``prefix`` keeps ids apart when several graphs share one picture (side by side).
    """

    def __init__(
        self,
        roots: Any,
        *,
        who: str,
        prefix: str = "",
        show_data: bool = True,
        show_grad: bool = True,
        collapse_scopes: bool | int = False,
        max_nodes: int | None = DEFAULT_MAX_NODES,
        highlight: Any = None,
        precision: int = 4,
        names: Mapping[str, Any] | None = None,
        show_saved: bool = False,
        params: Iterable[Any] = (),
        inputs: Iterable[Any] = (),
    ) -> None:
        self.who = who
        self.roots = as_roots(roots, who)
        self.root_ids = {id(r) for r in self.roots}
        depth = _check_collapse(collapse_scopes, who)
        if max_nodes is not None and (
            isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
        ):
            raise ValueError(f"{who}: max_nodes must be a positive int or None, got {max_nodes!r}")
        if (
            isinstance(precision, bool)
            or not isinstance(precision, int)
            or not 1 <= precision <= 17
        ):
            raise ValueError(f"{who}: precision must be an int from 1 to 17, got {precision!r}")
        if names is not None and not isinstance(names, Mapping):
            raise TypeError(f"{who}: names must be a mapping name -> node, like locals()")
        self.show_data, self.show_grad = show_data, show_grad
        self.precision, self.show_saved = precision, show_saved
        self.order = topological_order(self.roots)  # the one walk everything below reads
        self.ids = NodeIds(self.order, prefix)
        self.prefix = prefix
        self.names = _names(names or {})
        self.params = {id(p) for p in params}
        self.inputs = {id(x) for x in inputs}
        self.uses: dict[int, int] = {}
        for n in self.order:
            for p in n._prev:
                self.uses[id(p)] = self.uses.get(id(p), 0) + 1
        self.on_path = self._highlighted(highlight)
        self.notes: list[str] = []
        self.group = self._collapse(depth)
        self.depth = depth
        if max_nodes is not None and self._boxes() > max_nodes:
            if depth == 0:
                self.depth, self.group = 1, self._collapse(1)
                self.notes.append(
                    f"{len(self.order):,} nodes: more than max_nodes={max_nodes:,} boxes, "
                    "so each name scope is drawn as one box"
                )
            if self._boxes() > max_nodes:
                raise GraphTooLargeError(
                    f"{who}: the graph has {len(self.order):,} nodes, {self._boxes():,} boxes "
                    f"to draw even with every name scope collapsed, more than "
                    f"max_nodes={max_nodes:,}. Wrap parts of the computation in "
                    "minigrad.name_scope(...) so they collapse, pass a larger max_nodes (or "
                    "None), or use minigrad.print_graph(root) for a text view."
                )
        self.collapsed_any = bool(self.group)
        self.group_numbers: dict[tuple[str, ...], int] = {}
        for n in self.order:
            g = self.group.get(id(n))
            if g is not None:
                self.group_numbers.setdefault(g, len(self.group_numbers))
                self.ids._drawn[id(n)] = self._group_id(g)

    # ------------------------------------------------------------ what each node is

    def kind(self, node: Any) -> str:
        """root, leaf, parameter, intermediate, or op (an op node of its own)."""
        if is_op_node(node):
            return "op"
        if id(node) in self.root_ids:
            return "root"
        if node._prev:
            return "intermediate"
        if id(node) in self.inputs:
            return "leaf"
        if (
            id(node) in self.params
            or getattr(node, "requires_grad", False)
            or type(node).__name__ == "Parameter"
        ):
            return "parameter"
        return "leaf"

    def name(self, node: Any) -> str:
        """Your variable name, else the node's label, else its id."""
        return self.names.get(id(node)) or getattr(node, "label", "") or self.ids[node]

    def _highlighted(self, highlight: Any) -> set[int]:
        if highlight is None:
            return set()
        marked = as_roots(highlight, f"{self.who} highlight")
        on_path = {id(n) for n in marked}
        for n in marked:
            if n not in self.ids:
                raise ValueError(f"{self.who}: the highlight node {n!r} is not in the graph")
        for n in self.order:  # parents come first: one pass marks every path to the root
            if any(id(p) in on_path for p in n._prev):
                on_path.add(id(n))
        return on_path

    # ------------------------------------------------------------ collapsing

    def _collapse(self, depth: int) -> dict[int, tuple[str, ...]]:
        """Node id -> the scope path (``depth`` names long) whose box hides it."""
        if depth == 0:
            return {}
        keep = self.root_ids | set(self.names) | self.on_path
        group = {
            id(n): n._scope[:depth]
            for n in self.order
            if len(n._scope) >= depth and id(n) not in keep
        }
        # A leaf whose every use is inside one collapsed scope (a weight of that layer,
        # a constant) belongs in it too; otherwise a big layer leaves a cloud of leaves.
        used_in: dict[int, set[tuple[str, ...] | None]] = {}
        for n in self.order:
            g = group.get(id(n))
            for p in n._prev:
                used_in.setdefault(id(p), set()).add(g)
        for n in self.order:
            if not n._prev and id(n) not in group and id(n) not in keep:
                where = used_in.get(id(n), set())
                if len(where) == 1 and None not in where:
                    group[id(n)] = next(iter(where))
        return group

    def _group_id(self, path: tuple[str, ...]) -> str:
        """``scope{K}``: K numbers the collapsed scopes in the order the walk meets them."""
        return f"{self.prefix}scope{self.group_numbers[path]}"

    def _boxes(self) -> int:
        """How many DOT nodes the picture would have."""
        groups = set(self.group.values())
        boxes = len(groups)
        for n in self.order:
            if id(n) not in self.group:
                boxes += 2 if self._has_own_op(n) else 1
        return boxes

    @staticmethod
    def _has_own_op(node: Any) -> bool:
        return bool(node._prev) and not is_op_node(node) and not _fed_by_op_node(node)

    # ------------------------------------------------------------ writing DOT

    def emit(self, graph: graphviz.Digraph) -> None:
        """Write this graph's nodes, clusters and edges into ``graph``."""
        boxes: dict[tuple[str, ...], list[tuple[str, dict[str, str]]]] = {}
        edges: dict[tuple[str, str], dict[str, Any]] = {}

        def put(path: tuple[str, ...], name: str, attrs: dict[str, str]) -> None:
            boxes.setdefault(path, []).append((name, attrs))

        def cluster_path(scope: tuple[str, ...]) -> tuple[str, ...]:
            return scope[: self.depth - 1] if self.depth else scope

        group_stats: dict[tuple[str, ...], dict[str, Any]] = {}
        for n in self.order:
            g = self.group.get(id(n))
            if g is not None:
                stats = group_stats.setdefault(g, {"count": 0, "ops": {}})
                stats["count"] += 1
                op = n._op if (n._prev or is_op_node(n)) else ""
                if op:
                    stats["ops"][op] = stats["ops"].get(op, 0) + 1
                continue
            self._emit_node(n, put, cluster_path(n._scope))
        for g, stats in group_stats.items():
            gid = self._group_id(g)
            put(
                g[:-1],
                gid,
                {
                    "label": labels.scope_label(g, stats["count"], stats["ops"]),
                    "shape": "box3d",
                    "margin": "0.15,0.1",
                    "style": "filled",
                    "fillcolor": labels.COLORS["scope"],
                    "id": gid,
                    "class": "scope collapsed",
                },
            )
        for n in self.order:
            self._collect_edges(n, edges)
        self._emit_clusters(graph, boxes)
        for (tail, head), attrs in edges.items():
            count = attrs.pop("count")
            if count > 1:
                attrs["label"] = f"{count:,} edges"
                attrs["fontsize"] = "9"
            graph.edge(tail, head, **attrs)
        if self.show_saved:
            self.notes.append(self._saved_total())

    def _emit_node(self, n: Any, put: Any, path: tuple[str, ...]) -> None:
        nid = self.ids[n]
        lit = id(n) in self.on_path
        red = {"color": labels.COLORS["highlight"], "penwidth": "3"} if lit else {}
        if is_op_node(n):
            put(path, nid, self._op_attrs(n, nid, n._op, lit))
            return
        kind = self.kind(n)
        uses = self.uses.get(id(n), 0)
        classes = f"value {kind}" + (" fanout" if uses > 1 else "") + (" highlight" if lit else "")
        attrs = {
            "label": labels.value_label(
                self.name(n),
                n.data,
                n.grad,
                show_data=self.show_data,
                show_grad=self.show_grad,
                precision=self.precision,
                uses=uses,
            ),
            "shape": "box",
            "style": "rounded,filled" + (",bold" if kind == "parameter" else ""),
            "fillcolor": labels.COLORS[kind],
            "id": nid,
            "class": classes,
            **({"peripheries": "2"} if kind == "root" else {}),
            **({"penwidth": "2"} if kind == "parameter" else {}),
            **red,
        }
        put(path, nid, attrs)
        if self._has_own_op(n):
            put(path, nid + "_op", self._op_attrs(n, nid + "_op", n._op, lit))

    def _op_attrs(self, n: Any, oid: str, op: str, lit: bool) -> dict[str, str]:
        fused = is_fused(n)
        attrs = {
            "label": labels.op_label(
                op, fused=fused, saved=self._saved(n) if self.show_saved else ""
            ),
            "shape": "doubleoctagon" if fused else "ellipse",
            "style": "filled",
            "fillcolor": labels.COLORS["fused" if fused else "op"],
            "id": oid,
            "class": "op fused" if fused else "op",
        }
        if lit:
            attrs.update(color=labels.COLORS["highlight"], penwidth="3")
            attrs["class"] += " highlight"
        return attrs

    def _collect_edges(self, n: Any, edges: dict[tuple[str, str], dict[str, Any]]) -> None:
        if not n._prev:
            return
        mine = self.group.get(id(n))
        if mine is not None:
            head = self._group_id(mine)
        elif self._has_own_op(n):
            head = self.ids[n] + "_op"
            self._add_edge(edges, head, self.ids[n], {"id": f"{head}->{self.ids[n]}"}, n, n)
        else:
            head = self.ids[n]
        for p in n._prev:
            tail = self.ids.drawn_id(p)
            if self.group.get(id(p)) is not None and self.group.get(id(p)) == mine:
                continue  # inside one collapsed box
            attrs: dict[str, Any] = {"id": f"{tail}->{head}"}
            note = self._broadcast_note(p, n)
            if note and mine is None:
                attrs.update(
                    label=note,
                    fontsize="9",
                    color=labels.COLORS["broadcast"],
                    fontcolor=labels.COLORS["broadcast"],
                    style="dashed",
                    **{"class": "broadcast"},
                )
            self._add_edge(edges, tail, head, attrs, p, n)

    def _add_edge(
        self,
        edges: dict[tuple[str, str], dict[str, Any]],
        tail: str,
        head: str,
        attrs: dict[str, Any],
        parent: Any,
        child: Any,
    ) -> None:
        key = (tail, head)
        if key in edges:
            edges[key]["count"] += 1
            return
        if id(parent) in self.on_path and id(child) in self.on_path:
            attrs.update(color=labels.COLORS["highlight"], penwidth="2.5")
            attrs["class"] = (attrs.get("class", "") + " highlight").strip()
        attrs["count"] = 1
        edges[key] = attrs

    @staticmethod
    def _broadcast_note(parent: Any, child: Any) -> str:
        """For a tensor op that broadcast ``parent`` up to the result's shape: its gradient
        was summed back down, and the edge says so.

        Read from the shapes alone: an op of two or more inputs whose result has exactly
        their broadcast shape (an elementwise op, a batched matmul) stretched every input
        of another shape. One input never broadcasts (reshape, sum, index move or reduce
        elements); cat and stack give shapes that are not the inputs' broadcast shape.
        """
        pd, cd = getattr(parent, "data", None), getattr(child, "data", None)
        if not isinstance(pd, np.ndarray) or not isinstance(cd, np.ndarray):
            return ""
        if pd.shape == cd.shape or len(child._prev) < 2 or is_fused(child):
            return ""
        shapes = [getattr(p, "data", None) for p in child._prev]
        if not all(isinstance(s, np.ndarray) for s in shapes):
            return ""
        try:
            if np.broadcast_shapes(*(s.shape for s in shapes)) != cd.shape:
                return ""
        except ValueError:
            return ""
        return (
            f"broadcast {labels.shape_text(pd.shape)}->{labels.shape_text(cd.shape)}: grad summed"
        )

    def _emit_clusters(
        self,
        graph: graphviz.Digraph,
        boxes: dict[tuple[str, ...], list[tuple[str, dict[str, str]]]],
    ) -> None:
        children: dict[tuple[str, ...], dict[tuple[str, ...], None]] = {}
        for path in list(boxes):
            for i in range(len(path), 0, -1):
                children.setdefault(path[: i - 1], {})[path[:i]] = None
        numbers: dict[tuple[str, ...], int] = {}

        def fill(g: graphviz.Digraph, path: tuple[str, ...]) -> None:
            for name, attrs in boxes.get(path, []):
                g.node(name, **attrs)
            for child in children.get(path, {}):
                k = numbers.setdefault(child, len(numbers))
                with g.subgraph(name=f"cluster_{self.prefix}s{k}") as c:
                    c.attr(
                        label=f"<<B>{labels.escape(child[-1])}</B>>",
                        id=f"{self.prefix}cluster{k}",
                        style="rounded,filled",
                        fillcolor=labels.COLORS["cluster"] if len(child) % 2 else "#eef2f7",
                        color=labels.COLORS["cluster_border"],
                        labeljust="l",
                        **{"class": "scope"},
                    )
                    fill(c, child)

        fill(graph, ())

    # ------------------------------------------------------------ what ops saved

    def _saved(self, n: Any) -> str:
        fn = getattr(n, "grad_fn", None)  # a tensor op (None for a leaf or a Value)
        if is_op_node(n):  # a multi-output scalar op: what its forward left on ctx
            parts, total = [], 0
            for key, v in n.saved().items():
                size = _count_numbers(v)
                total += size
                parts.append(key if size == 1 else f"{key} ({size})")
            return f"saved {total} numbers: " + ", ".join(parts) if parts else "saved: nothing"
        if fn is not None:
            if fn.freed:
                return "saved arrays: freed by backward (retain_graph=True keeps them)"
            arrays = fn.saved()
            if not arrays:
                return "saved: nothing"
            shapes = ", ".join(labels.shape_text(a.shape) for a in arrays)
            return f"saved {len(arrays)} arrays {shapes}: {sum(a.nbytes for a in arrays):,} B"
        local = getattr(n, "local_grads", ())
        if local:
            text = ", ".join(labels.number(x, self.precision) for x in local[:6])
            more = f", ... ({len(local)} in all)" if len(local) > 6 else ""
            return f"local derivatives: {text}{more}"
        return ""

    def _saved_total(self) -> str:
        numbers, nbytes, freed, seen = 0, 0, 0, set()
        for n in self.order:
            fn = getattr(n, "grad_fn", None)
            if is_op_node(n):
                numbers += sum(_count_numbers(v) for v in n.saved().values())
            elif fn is not None:
                freed += bool(fn.freed)
                for a in fn.saved():
                    if id(a) not in seen:  # arrays shared between ops count once
                        seen.add(id(a))
                        numbers += a.size
                        nbytes += a.nbytes
            # a scalar node saves nothing: backward reads its inputs' data again
        text = f"saved for backward: {numbers:,} numbers"
        text += f" ({nbytes:,} bytes of arrays)" if nbytes else ""
        return text + (f"; {freed} ops already freed theirs" if freed else "")


def is_fused(node: Any) -> bool:
    """Made by an op whose backward was written by hand (``fused = True``): a tensor's
    ``grad_fn`` says so, and a multi-output scalar op's node itself."""
    op = getattr(node, "grad_fn", None) or node
    return bool(getattr(op, "fused", False))


def _count_numbers(v: Any) -> int:
    if isinstance(v, np.ndarray):
        return int(v.size)
    if isinstance(v, list | tuple):
        return sum(_count_numbers(x) for x in v)
    if isinstance(v, int | float | np.number):
        return 1
    return 0


def _names(names: Mapping[str, Any]) -> dict[int, str]:
    """``{"W1": W1, "ys": [y0, y1]}`` -> node id -> name (``ys[0]`` for list items)."""
    out: dict[int, str] = {}
    for name, obj in names.items():
        if not isinstance(name, str) or name.startswith("_"):
            continue
        if hasattr(obj, "_prev"):
            out.setdefault(id(obj), name)
        elif isinstance(obj, list | tuple):
            for i, item in enumerate(obj):
                if hasattr(item, "_prev"):
                    out.setdefault(id(item), f"{name}[{i}]")
    return out


def _check_collapse(collapse: bool | int, who: str) -> int:
    if collapse is True:
        return 1
    if collapse is False or collapse is None:
        return 0
    if isinstance(collapse, int) and collapse >= 1:
        return collapse
    raise ValueError(
        f"{who}: collapse_scopes must be True, False or a depth >= 1, got {collapse!r}"
    )


# ---------------------------------------------------------------- the legend


def add_legend(graph: graphviz.Digraph, *, collapsed: bool = False) -> None:
    """A key: one sample of each kind of box, in a cluster of its own."""
    samples = [
        ("leaf", "leaf (input, constant)", "box", "rounded,filled"),
        ("parameter", "parameter", "box", "rounded,filled,bold"),
        ("intermediate", "intermediate", "box", "rounded,filled"),
        ("root", "root (backward starts here)", "box", "rounded,filled"),
        ("op", "op", "ellipse", "filled"),
        ("fused", "fused op (hand-written backward)", "doubleoctagon", "filled"),
    ]
    if collapsed:
        samples.append(("scope", "collapsed name scope", "box3d", "filled"))
    with graph.subgraph(name="cluster_legend") as c:
        c.attr(label="<<B>legend</B>>", style="rounded", color="#cbd5e1", id="legend", rank="same")
        previous = None
        for kind, text, shape, style in samples:
            name = f"legend_{kind}"
            c.node(
                name,
                label=text,
                shape=shape,
                style=style,
                fillcolor=labels.COLORS[kind],
                fontsize="10",
                id=name,
                **{"class": "legend"},
                **({"peripheries": "2"} if kind == "root" else {}),
                **({"penwidth": "2"} if kind == "parameter" else {}),
            )
            if previous:
                c.edge(previous, name, style="invis")
            previous = name
        c.node(
            "legend_fanout",
            label="grad = sum of n (+=): the value was used n times",
            shape="plaintext",
            fontsize="10",
            id="legend_fanout",
        )
        c.edge(previous, "legend_fanout", style="invis")

"""Draw with the real ``dot`` and read the SVG back (helpers for the rendering tests)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Element:
    """One ``<g>`` of the SVG: a node, an edge or a cluster."""

    id: str
    classes: set[str]
    texts: list[str]
    title: str

    @property
    def text(self) -> str:
        return " ".join(self.texts)


def parse_svg(svg: str | bytes) -> dict[str, Element]:
    """SVG text -> {element id: Element} for every node, edge and cluster group."""
    root = ET.fromstring(svg if isinstance(svg, bytes) else svg.encode())
    out = {}
    for g in root.iter(f"{SVG}g"):
        classes = set((g.get("class") or "").split())
        if not classes & {"node", "edge", "cluster"}:
            continue
        texts = [t.text.replace("\xa0", " ").strip() for t in g.iter(f"{SVG}text") if t.text]
        texts = [t for t in texts if t]  # dot writes runs of spaces as no-break spaces
        title = g.find(f"{SVG}title")
        out[g.get("id")] = Element(
            g.get("id"), classes, texts, title.text if title is not None else ""
        )
    return out


def svg_elements(picture) -> dict[str, Element]:
    """Lay ``picture`` out with dot and parse the result."""
    return parse_svg(picture.pipe(format="svg"))

"""The documentation site works offline, in a real browser.

Every page of the built site is opened in chromium with the network off; on each:
no console error, no failed request, no request that would leave the machine, every
link into the site resolves (the file, and the #anchor in it), and the math is typeset
by the bundled MathJax. The search page finds a word with no network too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# A resource a page would load from the network: scripts, styles, images, frames, fonts.
REMOTE = [
    re.compile(r"<(script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc=[\"']?(https?:)?//", re.I),  # noqa: E501
    re.compile(r"<link\b[^>]*\bhref=[\"']?(https?:)?//", re.I),
    re.compile(r"@import\s+(url\()?[\"']?(https?:)?//", re.I),
    re.compile(r"url\(\s*[\"']?(https?:)?//", re.I),
]  # fmt: skip

PAGE_STATE = """async () => {
  const math = document.querySelectorAll("div.math, span.math").length;
  let typeset = 0, errors = 0;
  if (math && window.MathJax && MathJax.startup) {
    await MathJax.startup.promise;
    typeset = document.querySelectorAll("mjx-container svg").length;
    errors = document.querySelectorAll("mjx-merror, [data-mjx-error]").length;
  }
  const ids = [...document.querySelectorAll("[id], a[name]")].map((e) => e.id || e.name);
  const links = [...document.querySelectorAll("a[href]")].map((a) => a.href);
  const images = [...document.images].filter((i) => !(i.complete && i.naturalWidth > 0))
    .map((i) => i.src);
  return {math, typeset, errors, ids, links, images};
}"""


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def check_no_file_loads_from_the_network(site: Path) -> None:
    """No script, style, image, frame or font of any page or stylesheet comes from a URL."""
    found = []
    for path in [*pages(site), *site.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in REMOTE:
            found += [f"{path.relative_to(site)}: {m[0][:120]}" for m in pattern.finditer(text)]
    assert not found, "files that load from the network:\n" + "\n".join(found)
    assert (site / "_static" / "mathjax" / "tex-svg.js").exists(), "MathJax is not bundled"


def check_every_page_offline(site: Path, offline_browser: Any) -> None:
    """Each page: no console error, no failed request, links resolve, math typeset."""
    problems: list[str] = []
    anchors: dict[Path, set[str]] = {}
    links: list[tuple[Path, str]] = []
    math_pages = 0
    all_pages = pages(site)
    assert len(all_pages) >= 20, f"only {len(all_pages)} pages: is this the whole site?"
    for path in all_pages:
        name = str(path.relative_to(site))
        page = offline_browser.new_page()
        errors: list[str] = []
        failed: list[str] = []
        page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda x, e=errors: e.append(str(x)))
        page.on("requestfailed", lambda r, f=failed: f.append(f"{r.url} ({r.failure})"))
        page.goto(path.as_uri(), wait_until="load")
        state = page.evaluate(PAGE_STATE)
        page.close()
        problems += [f"{name}: console error: {e}" for e in errors]
        problems += [f"{name}: request failed: {f}" for f in failed]
        problems += [f"{name}: image not loaded: {src}" for src in state["images"]]
        if state["math"]:
            math_pages += 1
            if state["typeset"] < state["math"] or state["errors"]:
                problems.append(
                    f"{name}: {state['math']} formulas, {state['typeset']} typeset, "
                    f"{state['errors']} MathJax errors"
                )
        anchors[path.resolve()] = set(state["ids"])
        links += [(path, href) for href in state["links"]]

    for page_path, href in links:
        url = urlsplit(href)
        if url.scheme != "file":
            continue  # links out of the site (Sphinx's and Furo's credits) are not loaded
        target = Path(unquote(url.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        where = f"{page_path.relative_to(site)} -> {href.split('/')[-1]}"
        if not target.exists():
            problems.append(f"{where}: no such file")
        elif target in anchors and url.fragment and unquote(url.fragment) not in anchors[target]:
            problems.append(f"{where}: no #{url.fragment} in that page")
    problems += [f"blocked request to the network: {u}" for u in offline_browser.blocked]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])
    assert math_pages >= 2, f"math found on {math_pages} pages; the BatchNorm page has some"


def check_search_offline(site: Path, offline_browser: Any) -> None:
    """The search page finds the BatchNorm page from the local index."""
    page = offline_browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto((site / "search.html").as_uri() + "?q=BatchNorm")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    found = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
    page.close()
    assert not errors, errors
    assert any(href.endswith("batchnorm.html") for href in found), found[:10]


def test_the_site_works_offline(site: Path, offline_browser: Any) -> None:
    """One test, so one pytest worker builds and opens the site while the other works on."""
    check_no_file_loads_from_the_network(site)
    check_every_page_offline(site, offline_browser)
    check_search_offline(site, offline_browser)

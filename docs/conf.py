"""Sphinx configuration of minigrad's documentation site (built by ``bash scripts/docs.sh``).

Sphinx + MyST-NB + Furo: pages are Markdown (MyST), the course notebooks are executed
while the site is built, the API reference comes from the docstrings (autodoc). Every
file a page needs is copied into the site (MathJax from the ``django-static-mathjax``
package, the search index, the theme's assets): the site works offline and loads
nothing from the network. ``docs/about-this-site.md`` says why this generator.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import mathjax  # the django-static-mathjax package: MathJax 3 as plain files

import minigrad

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

project = "minigrad"
author = "the minigrad authors"
copyright = "minigrad authors, MIT License"
release = version = minigrad.__version__

extensions = [
    "myst_nb",  # Markdown pages and .ipynb notebooks (brings myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute"]
# "plain": no "Return type" field duplicated from the signature
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}

# ---- the course: notebooks/*.ipynb, copied in and executed at build time
# Sphinx reads only files under docs/, so the notebooks are mirrored into docs/course/
# (git-ignored) the way sphinx-gallery mirrors its examples. Their Markdown links are
# written for the notebooks/ folder (right on a code host and in Jupyter); the copy's links
# are rewritten to point at the same files from docs/course/. A copy is rewritten only when
# its notebook changed, so an unchanged notebook is not read again.
COURSE = DOCS / "course"
NOTEBOOKS = ROOT / "notebooks"
SAME_PAGE = {ROOT / "README.md": DOCS / "index.md", NOTEBOOKS / "README.md": COURSE / "index.md"}
LINK = re.compile(r"(\]\()([^)\s]+)(\))")  # [text](target) and ![alt](target)


def site_link(target: str) -> str:
    """A link relative to notebooks/, made relative to docs/course/ (web links unchanged)."""
    url = urlsplit(target)
    if url.scheme or url.netloc or not url.path:
        return target
    path = (NOTEBOOKS / unquote(url.path)).resolve()
    if not path.exists():
        return target  # left as written: the strict build reports it
    if path.parent == NOTEBOOKS and path.suffix == ".ipynb":
        path = COURSE / path.name
    path = SAME_PAGE.get(path, path)
    return os.path.relpath(path, COURSE) + (f"#{url.fragment}" if url.fragment else "")


def site_copy(notebook: Path) -> str:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            cell["source"] = LINK.sub(lambda m: m[1] + site_link(m[2]) + m[3], text)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def mirror_notebooks() -> None:
    wanted = {p.name: p for p in sorted(NOTEBOOKS.glob("*.ipynb"))}
    for copy in COURSE.glob("*.ipynb"):
        if copy.name not in wanted:
            copy.unlink()
    for name, notebook in wanted.items():
        copy, text = COURSE / name, site_copy(notebook)
        if not copy.exists() or copy.read_text(encoding="utf-8") != text:
            copy.write_text(text, encoding="utf-8")


mirror_notebooks()

nb_execution_mode = "force"  # every build runs every notebook: the course cannot rot
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_timeout = 300  # seconds per cell
nb_execution_show_tb = True  # the traceback of a failing cell goes to the build log
# notebooks run in docs/course/, inside the checkout: chapter 7 finds examples/ from there
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# ---- HTML: Furo, everything local
html_theme = "furo"
html_title = f"minigrad {release}"
html_static_path = []
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
# Search results without a text snippet: a snippet is fetched from the result's page,
# which a browser refuses for a site opened from disk (file://); the results themselves
# come from searchindex.js, a local script, and work offline.
html_show_search_summary = False
# MathJax 3 (SVG output: one script, no web fonts) copied into the site
MATHJAX_FILE = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg.js"
mathjax_path = "mathjax/tex-svg.js"  # relative: under site/_static/
# MyST-NB also asks for MathJax; use the same local copy and no other
nb_mathjax_path = None

# Strict: a warning is an error (scripts/docs.sh passes -W --keep-going), and a
# reference that does not resolve is a warning.
nitpicky = False
suppress_warnings: list[str] = []

# ---- the backprop player's pages (docs/player/*.html, self-contained) and MathJax
PLAYER = DOCS / "player"


def copy_static_files(app, exception) -> None:
    """After a good build: the player pages to site/player/, MathJax to site/_static/."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    (out / "player").mkdir(exist_ok=True)
    for page in sorted(PLAYER.iterdir()):
        if page.suffix in {".html", ".png"}:
            shutil.copy2(page, out / "player" / page.name)
    (out / "_static" / "mathjax").mkdir(parents=True, exist_ok=True)
    shutil.copy2(MATHJAX_FILE, out / "_static" / mathjax_path)


# ---- docstrings are written to be read as plain text (help(), the source); two habits
# of that text mean something else in reST, so they are kept literal here
BARS = re.compile(r"(?<![|\\`])\|([^|\n]+)\|(?![|`])")  # |x - y|: an absolute value
STAR = re.compile(r"(?<=[(\s,])\*(?=\w+[),])")  # (out, in, *kernel): Python's star


def plain_text_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    """|x| is an absolute value, not a reST substitution; *args is not emphasis."""
    lines[:] = [STAR.sub(r"\\*", BARS.sub(r"\\|\1\\|", line)) for line in lines]


def only_minigrad(app, what, name, obj, skip, options):
    """Document what minigrad defines, not what a module re-exports from NumPy."""
    module = getattr(obj, "__module__", None)
    if module and not module.startswith("minigrad") and callable(obj):
        return True
    return None


def setup(app) -> None:
    app.connect("autodoc-process-docstring", plain_text_docstring)
    app.connect("autodoc-skip-member", only_minigrad)
    app.connect("build-finished", copy_static_files)

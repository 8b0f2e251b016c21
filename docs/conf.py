"""Sphinx configuration: `make docs` builds docs/_build/html offline, warnings are errors."""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS.parent), str(DOCS)]  # this checkout's gdx, then docs/_api.py

import _api  # noqa: E402
import _math  # noqa: E402
import _plots  # noqa: E402

import gdx  # noqa: E402

project = "gdx"
author = "the gdx developers"
copyright = "the gdx developers"
version = release = gdx.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# _generated/ holds the figures _plots.py writes; gallery/ the examples' PNGs and printed output.
exclude_patterns = ["_build", "_generated", "gallery"]

# Google-style docstrings (Args:, Returns:, Raises:, Example:).
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
# Signatures show names and defaults, as a call is written (`adam(learning_rate, b1=0.9, ...)`):
# the annotations expand gdx's type aliases (ScalarOrSchedule) into unions many lines long.
autodoc_typehints = "none"
autodoc_preserve_defaults = True  # show `b1=0.9`, and a schedule default as written
autosummary_generate = False  # the family pages in api/ are written by _api.py
add_module_names = False
# The docstrings write `name` for code (Markdown habit): render it as
# code, as Markdown does (not as italics, docutils' default).
default_role = "code"
myst_enable_extensions = ["dollarmath"]

html_theme = "alabaster"
html_title = f"gdx {release}"
# alabaster's default 940px page scrolls most code blocks and squeezes the tables sideways.
html_theme_options = {"page_width": "1240px", "sidebar_width": "250px"}
html_static_path = ["_static"]
html_css_files = ["gdx.css"]  # tables of defaults: wrapping code, top-aligned cells
# MathJax is loaded from its CDN when a reader opens a page; the build itself is offline.

_api.write_pages(DOCS / "api")
_plots.write(DOCS / "_generated")  # every schedule, the diagnostics figures: computed at each build


def returns_as_field(app, what, name, obj, options, lines: list[str]) -> None:
    """Turn a `Returns:` section into a `:returns:` field before napoleon reads it.

    Napoleon reads the text before the first colon of a Returns section as the return
    type; gdx's Returns are prose that often holds a colon inside code
    (`{path: label}`), which napoleon would split in the middle of the code.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() != "Returns:":
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        body: list[str] = []
        i += 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        margin = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
        body = [b[margin:] for b in body]
        if body:
            out.append(" " * indent + ":returns: " + body[0])
            out += [" " * (indent + 3) + b if b.strip() else "" for b in body[1:]]
            out.append("")
    lines[:] = out


def rules_as_math(app, what, name, obj, options, lines: list[str]) -> None:
    """Typeset each docstring's update rule (a pseudo-code literal block) as math: docs/_math.py."""
    _math.rules_as_math(lines)


def setup(app):
    app.connect("autodoc-process-docstring", returns_as_field, priority=400)  # napoleon's runs at 500
    app.connect("autodoc-process-docstring", rules_as_math, priority=400)

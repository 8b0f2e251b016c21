"""The API reference documents every public name once, the guides' code runs, and the Sphinx
build has no warning.

The family pages are generated from the table in `docs/_api.py`; these tests read the pages
it renders (not its own list of names) and compare them with `dir()` of gdx's namespaces.
Every ```python block of the README and of every page under docs/ runs, in order, per file,
in a fresh interpreter (`tests/_doc_blocks.py`), as a reader pasting them would run them.
"""

import importlib
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

import pytest

import gdx
from tests import _doc_blocks as doc_blocks

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The Markdown files whose ```python blocks must run: the README and every docs page.
MARKDOWN = [
    "README.md",
    *sorted(str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md") if "_build" not in p.parts),
]
sys.path.insert(0, str(DOCS))
import _api  # noqa: E402

sys.path.remove(str(DOCS))


DIRECTIVE = re.compile(r"^\.\. (?:autofunction|autoclass|data):: (\S+)$", re.MULTILINE)
ALIASES = re.compile(r"^   Also reachable as (.*)\.$", re.MULTILINE)


def namespace(name: str) -> types.ModuleType:
    return importlib.import_module(name)


def public_names() -> set[str]:
    names = set()
    for ns in _api.NAMESPACES:
        module = namespace(ns)
        for name in dir(module):
            if name.startswith("_") or name in _api.NOT_API.get(ns, ()):
                continue
            if not isinstance(getattr(module, name), types.ModuleType):
                names.add(f"{ns}.{name}")
    return names


def rendered_pages() -> dict[str, str]:
    pages = _api.entries()
    return {family.slug: _api.render(family, pages[family.slug]) for family in _api.FAMILIES}


def test_the_namespaces_are_the_public_ones():
    # The subpackages gdx/__init__.py re-exports explicitly (`from gdx import tree as tree`,
    # `from gdx import flat as flat`) are the namespaces the reference covers.
    source = Path(gdx.__file__).read_text()
    reexported = {
        f"gdx.{name}"
        for name in re.findall(r"^from gdx(?:\.\w+)? import (\w+) as \1$", source, re.MULTILINE)
        if isinstance(getattr(gdx, name), types.ModuleType)
    }
    assert reexported == set(_api.NAMESPACES) - {"gdx"}


def test_every_public_name_is_on_exactly_one_family_page():
    seen: Counter[str] = Counter()
    where: dict[str, str] = {}
    for slug, text in rendered_pages().items():
        names = DIRECTIVE.findall(text)
        for line in ALIASES.findall(text):
            names += re.findall(r"``([^`]+)``", line)
        for name in names:
            seen[name] += 1
            where[name] = slug
    public = public_names()
    missing = sorted(public - set(seen))
    assert not missing, f"public names missing from the API reference (docs/_api.py): {missing}"
    twice = sorted(name for name, count in seen.items() if count > 1)
    assert not twice, f"documented more than once: {twice}"
    assert set(seen) <= public, sorted(set(seen) - public)
    assert set(where.values()) == {family.slug for family in _api.FAMILIES}, "a family page is empty"


def test_reexports_are_documented_once_at_their_home():
    pages = _api.entries()
    muon = next(e for e in pages["contrib"] if e.name == "gdx.muon")
    assert "gdx.contrib.muon" in muon.aliases
    norm = next(e for e in pages["tree"] if e.name == "gdx.tree.norm")
    assert "gdx.tree_utils.tree_norm" in norm.aliases
    assert any(e.name == "gdx.adam" for e in pages["optimizers"])
    assert any(e.name == "gdx.scale_by_adam" for e in pages["transforms"])


def test_gdx_flat_lists_only_its_own_api():
    # gdx.flat is a plain module (gdx/flat.py): its `__dir__` hides what it imports.
    assert dir(gdx.flat) == sorted(gdx.flat.__all__)
    for name in dir(gdx.flat):
        value = getattr(gdx.flat, name)
        if name != "Flat":  # a type alias (dict[str, jax.Array]) has no module of its own
            assert getattr(value, "__module__", None) == "gdx.flat", name


def test_the_block_runner_finds_python_blocks_only():
    text = "```python\na = 1\n```\n\n```bash\nmake test\n```\n\n```python\nb = a + 1\n```\n"
    assert doc_blocks.blocks(text) == [(2, "a = 1\n"), (10, "b = a + 1\n")]


def test_the_pages_with_code_are_found():
    assert "README.md" in MARKDOWN and "docs/guides/getting-started.md" in MARKDOWN
    assert len(MARKDOWN) >= 12, MARKDOWN


@pytest.mark.parametrize("page", MARKDOWN)
def test_python_blocks_run_in_order(page, tmp_path):
    # A fresh interpreter per file, in an empty directory (the checkpoint guide writes files),
    # on the CPU, importing this checkout's gdx. Blocks that need 8 devices set XLA_FLAGS
    # themselves before importing jax, as a reader would.
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)  # the test session's 8 fake devices are not the reader's
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "_doc_blocks.py"), str(ROOT / page)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert "python blocks ran" in result.stdout


@pytest.mark.slow
def test_sphinx_build_has_no_warning(tmp_path):
    if importlib.util.find_spec("sphinx") is None:
        pytest.skip("sphinx is not installed: `make install` installs the docs extra (gdx[docs])")
    sphinx_build = Path(sys.executable).with_name("sphinx-build")
    command = [str(sphinx_build)] if sphinx_build.exists() else [sys.executable, "-m", "sphinx"]
    # A copy of docs/, so the build writes neither docs/api/, docs/_generated/ nor docs/_build/ of
    # the checkout; with the benchmark results beside it, which the guides include.
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build", "api", "_generated"))
    shutil.copytree(ROOT / "benchmarks" / "results", tmp_path / "benchmarks" / "results")
    result = subprocess.run(
        [*command, "-W", "--keep-going", "-q", "-b", "html", str(source), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(DOCS.parent)},  # this checkout's gdx
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert (tmp_path / "html" / "api" / "optimizers.html").exists()
    assert (tmp_path / "html" / "guides" / "getting-started.html").exists()
    assert (tmp_path / "html" / "_images" / "schedules.png").exists()  # generated by docs/_plots.py


def test_update_rules_are_typeset_as_math():
    sys.path.insert(0, str(DOCS))
    import _math

    sys.path.remove(str(DOCS))
    lines = inspect.getdoc(gdx.adam).splitlines()
    assert _math.rules_as_math(lines) == 1
    text = "\n".join(lines)
    assert ".. math::" in text and "Update rule::" not in text
    assert r"\mu &\leftarrow \beta_1 \, \mu + \left(1 - \beta_1\right) \, g" in text
    assert r"{g}^{2}" in text and r"\sqrt{" in text and r"\frac{" in text
    # A code example is not a rule, and a rule with a line the translator does not read stays as written.
    example = ["Example::", "", "    tx = gdx.chain(gdx.adam(1e-3))", ""]
    prose = ["Update rule::", "", "    for each leaf: shrink it", ""]
    assert _math.rules_as_math(example) == 0 and example[0] == "Example::"
    assert _math.rules_as_math(prose) == 0 and prose[0] == "Update rule::"
    # Enough of the docstrings' rules are read (the rest render as the literal pseudo-code).
    typeset = sum(
        _math.rules_as_math((inspect.getdoc(_api._resolve(e.name)) or "").splitlines())
        for page in _api.entries().values()
        for e in page
    )
    assert typeset >= 55, typeset

"""Packaging: version, py.typed, explicit re-exports, pinned versions, test-session setup."""

import ast
import importlib
import importlib.metadata
import importlib.resources
import pathlib
import re

import jax
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import gdx

ROOT = pathlib.Path(__file__).resolve().parents[1]
INIT = ROOT / "gdx" / "__init__.py"


def _pyproject():
    tomllib = pytest.importorskip("tomllib")  # stdlib from Python 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    return pins


def _reexports():
    """`{public name: (module, original name)}` for every `from m import x as y` in gdx/__init__.py."""
    tree = ast.parse(INIT.read_text())
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name, alias.asname)
    return names


def test_version_is_pep440_and_is_the_packaging_version():
    assert isinstance(gdx.__version__, str)
    Version(gdx.__version__)
    pyproject = _pyproject()
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gdx.__version__"}
    try:
        installed = importlib.metadata.version("gdx")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("gdx is not installed (run `make install`)")
    assert installed == gdx.__version__


def test_runtime_dependencies_are_only_jax_and_numpy():
    requirements = [Requirement(text) for text in _pyproject()["project"]["dependencies"]]
    assert sorted(requirement.name for requirement in requirements) == ["jax", "numpy"]


def test_py_typed_ships_with_the_package():
    assert (importlib.resources.files("gdx") / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["gdx"]


def test_init_only_has_explicit_reexports():
    tree = ast.parse(INIT.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            pytest.fail(f"gdx/__init__.py:{node.lineno}: use `from module import name as name`")
        if isinstance(node, ast.ImportFrom):
            assert node.module and node.module.startswith("gdx"), f"line {node.lineno}: {node.module}"
            for alias in node.names:
                assert alias.name != "*", f"gdx/__init__.py:{node.lineno}: star import"
                assert alias.asname == alias.name, (
                    f"gdx/__init__.py:{node.lineno}: write `{alias.name} as {alias.name}` "
                    "so the re-export is explicit"
                )


def test_every_reexport_resolves_to_its_home_module():
    for public_name, (module, original, _) in _reexports().items():
        assert getattr(gdx, public_name) is getattr(importlib.import_module(module), original), public_name


def test_public_namespace_is_reexports_and_subpackages_only():
    reexported = set(_reexports())
    for name in dir(gdx):
        if name.startswith("_"):
            continue
        value = getattr(gdx, name)
        is_submodule = getattr(value, "__name__", "") == f"gdx.{name}"
        assert name in reexported or is_submodule, f"gdx.{name} is public but not an explicit re-export"
    if hasattr(gdx, "__all__"):
        assert set(gdx.__all__) <= set(dir(gdx))


def test_installed_versions_are_the_pinned_ones():
    mismatched = {}
    for name, pinned in _constraints().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if Version(installed) != Version(pinned):
            mismatched[name] = (installed, pinned)
    assert not mismatched, f"installed vs constraints.txt: {mismatched}; reinstall with `make clean install`"


def test_readme_records_the_pinned_versions():
    readme = (ROOT / "README.md").read_text()
    for name in ("jax", "jaxlib", "optax", "flax", "chex", "numpy"):
        version = _constraints()[name]
        assert re.search(rf"\b{re.escape(name)}\s*==\s*{re.escape(version)}\b", readme), (name, version)


def test_readme_names_exist():
    section = (ROOT / "README.md").read_text().split("## What exists", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"`([A-Za-z_][A-Za-z_0-9]*)`", section)
    assert len(names) > 20
    assert not [name for name in names if not hasattr(gdx, name)], "README lists names gdx lacks"


def test_readme_example_runs_and_trains():
    readme = (ROOT / "README.md").read_text()
    example = readme.split("## Example", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {"__name__": "readme_example"}
    exec(compile(example, "README.md#example", "exec"), namespace)
    initial_loss = float(jax.numpy.mean(namespace["y"] ** 2))
    assert float(namespace["loss"]) < 0.1 * initial_loss


def test_session_has_eight_cpu_devices_and_strict_promotion():
    # tests/conftest.py must run before jax initializes, in every xdist worker too.
    assert jax.device_count() == 8
    assert {device.platform for device in jax.devices()} == {"cpu"}
    assert jax.config.jax_numpy_dtype_promotion == "strict"

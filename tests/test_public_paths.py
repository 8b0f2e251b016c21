"""Every public import path recorded before the layout change of issue 21 still resolves.

`tests/public_paths.txt` was generated on main before modules moved, one `namespace:name` a
line. The public paths are the package namespaces a user imports, the ones the API reference
documents (`docs/_api.py` `NAMESPACES`: `gdx`, `gdx.transforms`, `gdx.schedules`,
`gdx.contrib`, `gdx.tree`, `gdx.tree_utils`, `gdx.microbatching`, `gdx.checkpoint`,
`gdx.diagnostics`, `gdx.distributed`, `gdx.precision`, `gdx.flat`), and every non-underscore,
non-module attribute of each. The modules inside a subpackage (`gdx.transforms.acprop`,
`gdx.optimizers.dog`) are implementation files, not import paths: a named optimizer that moves
from `transforms/` to `optimizers/` could not keep a shim at its old module without a building
block importing a recipe, the layering rule this layout enforces.

A name may be added; none may disappear. To record a deliberate addition after a release,
regenerate with `python -m tests.test_public_paths` (it keeps every recorded path and adds today's).
"""

import importlib
import sys
import types
from pathlib import Path

import pytest

import gdx

RECORDED = Path(__file__).with_name("public_paths.txt")

NAMESPACES = (
    "gdx",
    "gdx.transforms",
    "gdx.schedules",
    "gdx.contrib",
    "gdx.tree",
    "gdx.tree_utils",
    "gdx.microbatching",
    "gdx.checkpoint",
    "gdx.diagnostics",
    "gdx.distributed",
    "gdx.precision",
    "gdx.flat",
)

# What gdx.flat (a plain module) imports for its annotations is not its API (as in docs/_api.py).
NOT_API = {"gdx.flat": {"Any", "Callable", "Mapping", "OptState", "Params"}}


def _namespace(name: str) -> types.ModuleType:
    return importlib.import_module(name)


def _recorded() -> list[tuple[str, str]]:
    rows = [line.split(":") for line in RECORDED.read_text().splitlines() if line.strip()]
    return [(namespace, name) for namespace, name in rows]


def current() -> list[str]:
    """Today's public `namespace:name` paths, in the format of `public_paths.txt`."""
    rows = []
    for namespace in NAMESPACES:
        module = _namespace(namespace)
        for name in sorted(dir(module)):
            if name.startswith("_") or name in NOT_API.get(namespace, ()):
                continue
            if not isinstance(getattr(module, name), types.ModuleType):
                rows.append(f"{namespace}:{name}")
    return rows


def test_recorded_list_covers_every_namespace():
    assert {namespace for namespace, _ in _recorded()} == set(NAMESPACES)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_recorded_name_still_resolves(namespace):
    module = _namespace(namespace)
    missing = [name for ns, name in _recorded() if ns == namespace and not hasattr(module, name)]
    assert not missing, f"{namespace} lost public names: {missing}"


def test_a_plain_import_reaches_every_namespace():
    for namespace in NAMESPACES:
        if namespace != "gdx":
            value: object = gdx
            for part in namespace.split(".")[1:]:
                value = getattr(value, part)
            assert isinstance(value, types.ModuleType), namespace


def merged() -> list[str]:
    """The recorded paths plus today's, in namespace order: regenerating only ever adds a path.

    A recorded name that `dir()` no longer lists but that still resolves (gdx.flat's
    `GradientTransformation` since its `__dir__` lists its own API) stays recorded.
    """
    rows = set(current()) | {f"{namespace}:{name}" for namespace, name in _recorded()}
    return sorted(rows, key=lambda row: (NAMESPACES.index(row.split(":")[0]), row.split(":")[1]))


if __name__ == "__main__":
    RECORDED.write_text("\n".join(merged()) + "\n")
    sys.stdout.write(f"wrote {RECORDED}\n")

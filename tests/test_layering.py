"""The layering rule of shared/DESIGN.md, measured on the source with `ast`.

(a) No module in `gdx/transforms` or `gdx/wrappers` imports `gdx.optimizers`: building blocks
    never import named recipes.
(b) No private name (`_name`) is imported across subpackages: `from gdx.X.Y import _name` only
    where X is the importer's own subpackage, or from a private helper module at the top
    level (`gdx/_*.py`), the designated shared home. A top-level module (`gdx/tree_utils.py`)
    counts as its own subpackage.
(c) No private name of a dependency (`optax._src...`, `_name` from any non-gdx module).
"""

import ast
from pathlib import Path

GDX = Path(__file__).resolve().parent.parent / "gdx"


# Crossings left while a layout change is under way (issue 21); empty since DP-SGD's shared
# aggregation and validator became public helpers of gdx.transforms.privacy. Remove an entry
# when it goes, and do not add one.
TRANSITIONAL: set[str] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(GDX.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(importer, imported module, [imported names]) for each import statement of one file."""
    importer = _module_name(path)
    package = importer if path.name == "__init__.py" else importer.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield importer, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            yield importer, module, [alias.name for alias in node.names]


def _all_imports():
    for path in sorted(GDX.rglob("*.py")):
        yield from _imports(path)


def _home(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def building_blocks_importing_recipes() -> list[str]:
    return sorted(
        f"{importer} imports {module}"
        for importer, module, names in _all_imports()
        if _home(importer) in {"transforms", "wrappers"}
        and (_home(module) == "optimizers" or (module == "gdx" and "optimizers" in names))
    )


def private_names_crossing_subpackages() -> list[str]:
    crossings = []
    for importer, module, names in _all_imports():
        if not module.startswith("gdx."):
            continue  # `from gdx import _tree` names a private module of the shared home
        if len(module.split(".")) == 2 and module.split(".")[1].startswith("_"):
            continue  # gdx/_*.py: the shared private home
        if _home(module) == _home(importer):
            continue
        crossings += [f"{importer} imports {module}.{name}" for name in names if name.startswith("_")]
    return sorted(crossings)


def private_names_of_dependencies() -> list[str]:
    return sorted(
        f"{importer} imports {module}" + (f".{', '.join(names)}" if names else "")
        for importer, module, names in _all_imports()
        if not module.startswith("gdx")
        and (
            any(part.startswith("_") for part in module.split("."))
            or any(name.startswith("_") and name != "__future__" for name in names)
        )
        and module != "__future__"
    )


def test_building_blocks_never_import_optimizers():
    assert building_blocks_importing_recipes() == []


def test_no_private_name_crosses_a_subpackage():
    assert [line for line in private_names_crossing_subpackages() if line not in TRANSITIONAL] == []


def test_transitional_crossings_still_exist():
    # An entry whose import is gone must leave the list, so the list only shrinks.
    assert TRANSITIONAL <= set(private_names_crossing_subpackages())


def test_no_private_name_of_a_dependency():
    assert private_names_of_dependencies() == []


if __name__ == "__main__":
    for check in (
        building_blocks_importing_recipes,
        private_names_crossing_subpackages,
        private_names_of_dependencies,
    ):
        found = check()
        print(f"{check.__name__}: {len(found)}")
        for line in found:
            print("   ", line)

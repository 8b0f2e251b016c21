"""`gdx.transforms` re-exports every transformation, `gdx.optimizers` every named recipe.

As `optax.scale_by_adam` is reachable from optax's face, `gdx.transforms.scale_by_adam` is
`gdx.scale_by_adam`: a transformation added to a module of `gdx/transforms` (or one of its
families, `lr_free/`, `linesearch/`, `preconditioners/`) and not re-exported by the package
fails here, as does a recipe added to `gdx/optimizers` and not re-exported there. `gdx.flat` is
a module of its own (gdx/flat.py), importable as such.

A transformation is a public function or class defined in a public module of `gdx/transforms`
that is a `scale_by_*`, `add_*` or `clip*`, a State or Info class, or an object gdx exposes at
its top level or in `gdx.contrib`. The kernels the modules share (`kronecker.matmul`, the
`validate_*` checks, ...) are not transformations and stay in their modules.
"""

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import types

import optax
import optax.transforms

import gdx
import gdx.contrib
import gdx.optimizers
import gdx.transforms

TRANSFORMATION = re.compile(r"^(scale_by_|add_|clip).*|.*(State|Info)$")


def _defined_in(package: types.ModuleType) -> dict[str, tuple[str, object]]:
    """Public name -> (defining module, object) for each function or class defined under `package`."""
    found = {}
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.startswith("_") or not (inspect.isfunction(value) or inspect.isclass(value)):
                continue
            if value.__module__ == info.name:
                found[name] = (info.name, value)
    return found


def _exposed(value: object, name: str) -> bool:
    return getattr(gdx, name, None) is value or getattr(gdx.contrib, name, None) is value


def test_gdx_transforms_reexports_every_transformation():
    missing = []
    for name, (module, value) in sorted(_defined_in(gdx.transforms).items()):
        if TRANSFORMATION.match(name) or _exposed(value, name):
            if getattr(gdx.transforms, name, None) is not value:
                missing.append(f"{module}.{name}")
    assert not missing, f"not re-exported by gdx/transforms/__init__.py: {missing}"


def test_gdx_transforms_names_are_the_top_level_objects():
    # gdx.transforms.scale_by_adam is gdx.scale_by_adam, as optax.scale_by_adam is optax's.
    for name in dir(gdx.transforms):
        value = getattr(gdx.transforms, name)
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        for namespace in (gdx, gdx.contrib):
            if hasattr(namespace, name):
                assert getattr(namespace, name) is value, f"{namespace.__name__}.{name}"


def test_every_optax_transformation_resolves_in_gdx_transforms():
    # Every name of optax.transforms, and every optax top-level name whose gdx object is
    # defined under gdx/transforms (optax.scale_by_adam -> gdx.transforms.scale_by_adam).
    for name in dir(optax.transforms):
        if not name.startswith("_"):
            assert getattr(gdx.transforms, name) is getattr(gdx, name), f"gdx.transforms.{name}"
    for name in dir(optax):
        value = getattr(gdx, name, None)
        if name.startswith("_") or not (inspect.isfunction(value) or inspect.isclass(value)):
            continue
        if value.__module__.startswith("gdx.transforms."):
            assert getattr(gdx.transforms, name, None) is value, f"gdx.transforms.{name}"


def test_gdx_optimizers_reexports_every_named_recipe():
    missing = []
    for name, (module, value) in sorted(_defined_in(gdx.optimizers).items()):
        if inspect.isfunction(value) and getattr(gdx, name, None) is value:
            if getattr(gdx.optimizers, name, None) is not value:
                missing.append(f"{module}.{name}")
    assert not missing, f"not re-exported by gdx/optimizers/__init__.py: {missing}"
    # The package attribute is the recipe, not its module of the same name (gdx/optimizers/adam.py).
    assert gdx.optimizers.adam is gdx.adam
    assert gdx.optimizers.muon is gdx.contrib.muon
    assert importlib.import_module("gdx.optimizers.adam").adam is gdx.adam


def test_gdx_flat_is_an_importable_module():
    # `import gdx.flat` first, in a fresh interpreter, so no earlier import has set the attribute.
    code = (
        "import sys\n"
        "import gdx.flat\n"
        "from gdx.flat import train_step\n"
        "import gdx, gdx.fused\n"
        "assert gdx.flat is sys.modules['gdx.flat'] is gdx.fused.flat\n"
        "assert gdx.flat.train_step is train_step\n"
        "assert dir(gdx.flat) == sorted(gdx.flat.__all__)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_package_attribute_hides_a_module_of_the_same_name():
    # `gdx.fused.fuse` is the function and its module is fused/packed.py; likewise for every
    # package, so `pkg.name` never means the module or the function depending on import order.
    # gdx.optimizers is the exception by design: `gdx.optimizers.adam` is the recipe of adam.py.
    hidden = []
    for info in pkgutil.walk_packages(gdx.__path__, "gdx."):
        if not info.ispkg or info.name == "gdx.optimizers":
            continue
        package = importlib.import_module(info.name)
        for sub in pkgutil.iter_modules(package.__path__):
            value = getattr(package, sub.name, None)
            if value is not None and not isinstance(value, types.ModuleType):
                hidden.append(f"{info.name}.{sub.name}")
    for sub in pkgutil.iter_modules(gdx.__path__):
        if not isinstance(getattr(gdx, sub.name, None), types.ModuleType | None):
            hidden.append(f"gdx.{sub.name}")
    assert not hidden, hidden

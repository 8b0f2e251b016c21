"""Every optax 0.2.8 namespace an optimizer user reaches exists in gdx, with optax's names.

For each pair (optax namespace, gdx namespace) every public optax name must
exist on the gdx side, less the out-of-scope families below; a failure lists
what is missing. `dir()` of gdx's namespaces lists gdx's public names only
(no `typing`/`jax`/stdlib names), and a plain `import gdx` reaches them all.
"""

import inspect
import subprocess
import sys
import types
import typing

import optax
import optax.contrib
import optax.schedules
import optax.transforms
import optax.tree
import optax.tree_utils
import pytest

import gdx

# optax names gdx does not claim (DESIGN.md, README, docs/guides/migrating-from-optax.md):
# code using them keeps `import optax`.
OUT_OF_SCOPE_MODULES = {
    "assignment",
    "experimental",
    "losses",
    "perturbations",
    "projections",
    "second_order",
}
OUT_OF_SCOPE_LOSSES = {
    "convex_kl_divergence",
    "cosine_distance",
    "cosine_similarity",
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "generalized_kl_divergence",
    "hinge_loss",
    "huber_loss",
    "kl_divergence",
    "l2_loss",
    "log_cosh",
    "ntxent",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "squared_error",
}
ALLOWED_MISSING = OUT_OF_SCOPE_MODULES | OUT_OF_SCOPE_LOSSES

NAMESPACE_PAIRS = [
    (optax, gdx),
    (optax.transforms, gdx.transforms),
    (optax.schedules, gdx.schedules),
    (optax.contrib, gdx.contrib),
    (optax.tree, gdx.tree),
    (optax.tree_utils, gdx.tree_utils),
]
GDX_NAMESPACES = [gdx_ns for _, gdx_ns in NAMESPACE_PAIRS]


def public_names(namespace: types.ModuleType) -> set[str]:
    """The public names of a namespace, less modules of other packages that leak into it.

    optax.tree_utils shows `functools` and `typing` in its dir(): imports, not API.
    """
    package = namespace.__name__.split(".")[0]
    names = set()
    for name in dir(namespace):
        value = getattr(namespace, name)
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType) and not value.__name__.startswith(package + "."):
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("optax_ns, gdx_ns", NAMESPACE_PAIRS, ids=lambda ns: ns.__name__)
def test_every_optax_name_is_in_gdx(optax_ns, gdx_ns):
    missing = sorted(public_names(optax_ns) - set(dir(gdx_ns)) - ALLOWED_MISSING)
    assert not missing, f"{gdx_ns.__name__} lacks these names of {optax_ns.__name__}: {missing}"


def test_allowlist_names_only_what_optax_has():
    # A name optax drops or gdx gains leaves the allowlist: keep it honest.
    top = public_names(optax)
    assert ALLOWED_MISSING <= top, sorted(ALLOWED_MISSING - top)
    assert not ALLOWED_MISSING & set(dir(gdx))


# Names that mean an implementation detail leaked into a namespace's dir().
LEAKED = {
    "Any",
    "Callable",
    "Hashable",
    "Iterable",
    "Mapping",
    "NamedTuple",
    "Optional",
    "Protocol",
    "Sequence",
    "TypeVar",
    "Union",
    "annotations",
    "dataclasses",
    "functools",
    "inspect",
    "jax",
    "jnp",
    "math",
    "np",
    "numpy",
    "operator",
    "re",
    "runtime_checkable",
    "sys",
    "typing",
    "warnings",
}


@pytest.mark.parametrize("gdx_ns", GDX_NAMESPACES, ids=lambda ns: ns.__name__)
def test_dir_lists_only_gdx_public_names(gdx_ns):
    names = [name for name in dir(gdx_ns) if not name.startswith("_")]
    assert not set(names) & LEAKED, sorted(set(names) & LEAKED)
    for name in names:
        value = getattr(gdx_ns, name)
        if isinstance(value, types.ModuleType):  # a public gdx submodule, e.g. gdx.transforms.adam
            assert value.__name__.startswith("gdx.") and "._" not in value.__name__, (name, value)
        elif value is typing.Any:  # a type alias (OptState = Any), as in optax
            continue
        elif inspect.isfunction(value) or inspect.isclass(value):  # not a type alias such as Schedule
            # defined by gdx, not an import of jax, typing or the stdlib
            assert value.__module__.startswith("gdx"), f"{gdx_ns.__name__}.{name} is {value.__module__}'s"


@pytest.mark.parametrize("gdx_ns", [gdx.tree, gdx.tree_utils, gdx.contrib], ids=lambda ns: ns.__name__)
def test_function_namespaces_hold_no_modules(gdx_ns):
    # `dir(gdx.tree_utils)` reads as a list of functions (and NamedTupleKey), nothing else.
    modules = [n for n in dir(gdx_ns) if isinstance(getattr(gdx_ns, n), types.ModuleType)]
    assert not modules, modules


def test_tree_and_tree_utils_share_objects_as_optax_does():
    for short in public_names(optax.tree):
        assert getattr(gdx.tree, short) is getattr(gdx.tree_utils, "tree_" + short), short
        optax_top = getattr(optax, short, None)
        if optax_top is getattr(optax.tree, short):  # bias_correction, update_moment, ...
            assert getattr(gdx, short) is getattr(gdx.tree, short), short


def test_subpackage_names_are_the_top_level_objects():
    for gdx_ns, optax_ns in [(gdx.transforms, optax.transforms), (gdx.schedules, optax.schedules)]:
        for name in public_names(optax_ns):
            if hasattr(gdx, name):
                assert getattr(gdx_ns, name) is getattr(gdx, name), f"{gdx_ns.__name__}.{name}"
    for name in public_names(optax.contrib):
        assert getattr(gdx.contrib, name) is getattr(gdx, name), f"gdx.contrib.{name}"


def test_a_plain_import_reaches_every_namespace():
    code = (
        "import gdx\n"
        "for f in (gdx.contrib.muon, gdx.transforms.clip_by_global_norm, gdx.schedules.inject_hyperparams,\n"
        "          gdx.tree.norm, gdx.tree_utils.tree_norm, gdx.transforms.unitwise_norm):\n"
        "    assert callable(f), f\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

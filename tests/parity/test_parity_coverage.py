"""Every name gdx shares with optax is exercised by a parity test, so a new optimizer is not missed.

For each pair of namespaces (`gdx`/`optax`, `gdx.contrib`/`optax.contrib`,
`gdx.transforms`/`optax.transforms`, `gdx.schedules`/`optax.schedules`), every public name both
have must be used by some module of tests/parity: read with `ast`, a name counts when it is an
attribute access (`gdx.adam`, `gdx.contrib.muon`, `ox.adam`, `lib.scale_by_adam`), an imported
name, or a string constant equal to it (the names of parametrize lists and case tables, which
the tests resolve with `getattr(gdx, name)`). The signature modules (`test_*signatures.py`)
compare signatures, not numbers, and do not count.

Names that are not numeric transformations are exempt, each with its reason below: types and
protocols, and State classes (the harness compares every final state leaf by leaf, paths
included, so a State's layout is checked through the transformation that builds it). A few
numeric helpers are compared with optax in a test module outside tests/parity; `ELSEWHERE`
names that module, and the test checks it still uses the name.
"""

import ast
import inspect
import types
import warnings
from pathlib import Path

import optax
import optax.contrib
import optax.schedules
import optax.transforms
import pytest

import gdx
import gdx.contrib
import gdx.schedules
import gdx.transforms

PARITY = Path(__file__).resolve().parent
TESTS = PARITY.parent

NAMESPACE_PAIRS = [
    (gdx, optax),
    (gdx.contrib, optax.contrib),
    (gdx.transforms, optax.transforms),
    (gdx.schedules, optax.schedules),
]

# Not numeric transformations: nothing to run side by side.
EXEMPT = {
    # The protocol and its parts (typing.Protocol / NamedTuple classes, Callable aliases).
    "GradientTransformation": "the protocol itself",
    "GradientTransformationExtraArgs": "the protocol itself",
    "TransformInitFn": "a protocol (the type of init)",
    "TransformUpdateFn": "a protocol (the type of update)",
    "TransformUpdateExtraArgsFn": "a protocol (the type of update with extra args)",
    "ConditionFn": "a Callable type (conditionally_transform's predicate)",
    "ShouldSkipUpdateFunction": "a Callable type (MultiSteps' skip predicate)",
    "Schedule": "a Callable type",
    "StatefulSchedule": "a protocol (inject_stateful_hyperparams' schedule)",
    "WrappedSchedule": "a NamedTuple holding a schedule (inject_stateful_hyperparams' wrapper)",
    # Type aliases (typing.Any or unions of arrays, schedules and callables).
    "OptState": "a type alias",
    "Params": "a type alias",
    "Updates": "a type alias",
    "MaskOrFn": "a type alias",
    "ScalarOrSchedule": "a type alias",
    # State classes optax names without a `State` suffix.
    "ApplyEvery": "apply_every's state class (test_wrappers_parity runs apply_every)",
}

# Numeric helpers compared with optax, bit for bit, in a test module outside tests/parity.
ELSEWHERE = {
    "matrix_inverse_pth_root": "test_linear_algebra.py",
    "power_iteration": "test_linear_algebra.py",
    "nnls": "test_linear_algebra.py",
    "multi_normal": "test_linear_algebra.py",
    "microbatch": "test_microbatching.py",
}


def _is_state_class(value: object, name: str) -> bool:
    return inspect.isclass(value) and (name.endswith("State") or name.endswith("Info"))


def names_used(files) -> set[str]:
    """Attribute names, imported names and identifier-like string constants in `files`."""
    used = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.alias):
                used.add(node.name.rsplit(".", 1)[-1])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                used.add(node.value)
    return used


def parity_files():
    return [
        p for p in sorted(PARITY.glob("*.py")) if not p.name.endswith("signatures.py") and p != Path(__file__)
    ]


def shared_names(gdx_ns: types.ModuleType, optax_ns: types.ModuleType) -> list[str]:
    names = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # optax's deprecated top-level aliases
        for name in sorted(set(dir(gdx_ns)) & set(dir(optax_ns))):
            value = getattr(gdx_ns, name)
            if name.startswith("_") or isinstance(value, types.ModuleType):
                continue
            if name in EXEMPT or name in ELSEWHERE or _is_state_class(value, name):
                continue
            names.append(name)
    return names


USED = names_used(parity_files())


@pytest.mark.parametrize("gdx_ns, optax_ns", NAMESPACE_PAIRS, ids=[g.__name__ for g, _ in NAMESPACE_PAIRS])
def test_every_shared_name_has_a_parity_test(gdx_ns, optax_ns):
    missing = [name for name in shared_names(gdx_ns, optax_ns) if name not in USED]
    assert not missing, "\n".join(
        f"{gdx_ns.__name__}.{name} is shared with optax but no parity test calls it" for name in missing
    )


def test_names_compared_elsewhere_are_still_compared_there():
    for name, module in ELSEWHERE.items():
        assert name in names_used([TESTS / module]), f"{module} no longer uses {name}"
        assert hasattr(gdx, name) and hasattr(optax, name), name


def test_exemptions_are_shared_names():
    # An exemption for a name gdx or optax no longer has must leave the dict.
    for name in EXEMPT:
        assert any(hasattr(g, name) and hasattr(o, name) for g, o in NAMESPACE_PAIRS), name


def test_the_check_sees_case_tables_and_attribute_calls():
    used = names_used([PARITY / "test_adam_variants_parity.py", PARITY / "test_muon_parity.py"])
    assert {"scale_by_belief", "adabelief", "muon"} <= used

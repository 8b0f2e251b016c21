"""Runs optax's own test files (shipped in its wheel) against gdx: a pytest plugin.

Loaded with `-p tests.conformance.optax_suite` by `python -m tests.conformance`
(which `make test` runs). Before any optax test module is imported, every public
attribute of every in-scope optax module (`optax`, `optax._src.*`,
`optax.transforms.*`, `optax.schedules.*`, `optax.contrib.*`, `optax.tree_utils.*`,
`optax.tree`, `optax.microbatching`), `optax._src.base` included, whose name gdx
also has is replaced by gdx's object. optax's tests then exercise gdx; names gdx
lacks keep optax's code and are counted in the report.

The bar is optax itself: `optax_baseline.txt` lists the tests that pass against
unmodified optax at the pinned versions (`python -m tests.conformance --baseline`
rewrites it). gdx must pass every one of them except `EXCLUDED`, each entry a
deliberate difference documented under "Differences from optax" in
docs/guides/migrating-from-optax.md.
"""

import collections.abc
import fnmatch
import importlib
import inspect
import pathlib
import typing
from collections import defaultdict
from types import ModuleType
from typing import Any

import pytest

BASELINE_FILE = pathlib.Path(__file__).with_name("optax_baseline.txt")

# optax packages whose test files are in scope, relative to the optax package.
TEST_DIRS = ("_src", "transforms", "schedules", "contrib", "tree_utils", "microbatching")
TEST_FILES = ("optax_test.py",)
# Families gdx does not claim: their modules are neither substituted nor tested.
OUT_OF_SCOPE = ("losses", "projections", "perturbations", "assignment", "experimental", "second_order")

# Tests that exercise a deliberate, documented difference. Keys are fnmatch patterns
# over test ids; each value starts with the title of its bullet under "Differences
# from optax" in docs/guides/migrating-from-optax.md (a test checks that the bullet
# exists), then says how.
_INT_PARAMS = (
    "Integer params rejected. gdx raises TypeError at init naming the leaf (optax trains int params)"
)
_EARLY_ERROR = (
    "Bad arguments fail at construction. gdx raises ValueError when built, optax at the first update"
)
_SCHEDULE_ARGS = (
    "Invalid schedule arguments raise. gdx rejects transition_steps <= 0 and decay_rate == 0, "
    "which optax logs and replaces by a constant schedule"
)
_FLOAT32_HYPERPARAMS = (
    "`inject_hyperparams` keeps float32 hyperparameters: optax stores them in the params' "
    "(or the given) bfloat16, where 1 - b2 rounds to 0"
)
_LINESEARCH_ARGS = (
    "Line searches reject out-of-range arguments: optax's dtype test passes 1e-5 for every "
    "hyperparameter, increase_factor included, which gdx requires to be >= 1"
)
EXCLUDED: dict[str, str] = {
    "optax/_src/linesearch_test.py::*LinesearchTest::test_dtype_stability*": _LINESEARCH_ARGS,
    "optax/_src/combine_test.py::ExtraArgsTest::test_extra_args": _INT_PARAMS,
    "optax/transforms/_combining_test.py::ExtraArgsTest::test_extra_args": _INT_PARAMS,
    "optax/_src/transform_test.py::TransformTest::test_lion_invalid_mode_raises": _EARLY_ERROR,
    "optax/schedules/_schedule_test.py::PolynomialTest::test_zero_steps_schedule": _SCHEDULE_ARGS,
    "optax/schedules/_schedule_test.py::ExponentialTest::test_nonvalid_decay_rate*": _SCHEDULE_ARGS,
    "optax/schedules/_schedule_test.py::ExponentialTest::test_nonvalid_transition_steps*": _SCHEDULE_ARGS,
    "optax/schedules/_inject_test.py::*::test_hyperparam_default_dtype_*": _FLOAT32_HYPERPARAMS,
}


def _gdx_namespace_for(module_name: str) -> list[ModuleType]:
    """The gdx namespaces whose names stand for those of optax module `module_name`, in order."""
    import gdx

    parts = module_name.split(".")
    family = parts[1] if len(parts) > 1 else ""
    namespaces = []
    for optax_family, gdx_name in (
        ("contrib", "contrib"),
        ("tree", "tree"),
        ("tree_utils", "tree_utils"),
        ("schedules", "schedules"),
        ("transforms", "transforms"),
        ("microbatching", "microbatching"),
    ):
        if family == optax_family and hasattr(gdx, gdx_name):
            namespaces.append(getattr(gdx, gdx_name))
    namespaces.append(gdx)
    return namespaces


def _owned_by_optax(value: Any) -> bool:
    """False for objects another library owns that an optax module merely imported."""
    if inspect.ismodule(value) or isinstance(value, typing.TypeVar):
        return False
    if any(getattr(library, type(value).__name__, None) is value for library in (typing, collections.abc)):
        return False
    name = getattr(value, "_name", None) or getattr(value, "__name__", None)
    if name and any(getattr(library, name, None) is value for library in (typing, collections.abc)):
        return False  # `Callable`, `Optional`, ... imported for annotations
    if inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value):
        return (getattr(value, "__module__", "") or "").startswith("optax")
    return True  # type aliases, constants, partials defined in optax


def _out_of_scope(value: Any) -> bool:
    """True for a name of an out-of-scope family re-exported elsewhere (the losses at the top level)."""
    parts = (getattr(value, "__module__", "") or "").split(".")
    return len(parts) > 1 and parts[0] == "optax" and parts[1] in OUT_OF_SCOPE


def in_scope_optax_modules() -> list[ModuleType]:
    """Imports and returns every optax module whose names gdx claims (test modules excluded)."""
    import optax

    root = pathlib.Path(optax.__file__).parent
    modules = [optax]
    # Walk the files: `optax._src` is a namespace package, which pkgutil does not enter.
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).with_suffix("")
        name = ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
        if name == "optax":
            continue
        leaf = name.rsplit(".", 1)[-1]
        if leaf.endswith("_test") or leaf == "test_utils" or name.split(".")[1] in OUT_OF_SCOPE:
            continue
        modules.append(importlib.import_module(name))
    return modules


def substitute_gdx() -> tuple[int, dict[str, set[str]]]:
    """Replaces optax's public names by gdx's. Returns (replaced count, missing names by module)."""
    replaced = 0
    missing: dict[str, set[str]] = defaultdict(set)
    for module in in_scope_optax_modules():
        namespaces = _gdx_namespace_for(module.__name__)
        for name, value in list(vars(module).items()):
            if name.startswith("_") or not _owned_by_optax(value) or _out_of_scope(value):
                continue
            for namespace in namespaces:
                if hasattr(namespace, name):
                    ours = getattr(namespace, name)
                    if not inspect.ismodule(ours):
                        setattr(module, name, ours)
                        replaced += 1
                    break
            else:
                missing[module.__name__].add(name)
    return replaced, missing


def test_paths() -> list[str]:
    """The in-scope optax test files, as paths."""
    import optax

    root = pathlib.Path(optax.__file__).parent
    paths = [str(p) for d in TEST_DIRS for p in sorted((root / d).glob("*_test.py"))]
    return paths + [str(root / f) for f in TEST_FILES]


def versions_line() -> str:
    from importlib import metadata

    names = ("optax", "jax", "jaxlib", "numpy", "chex", "flax")
    return "# " + ", ".join(f"{n} {metadata.version(n)}" for n in names)


def read_baseline() -> tuple[str, set[str]]:
    if not BASELINE_FILE.exists():
        return "# no baseline recorded", set()
    lines = BASELINE_FILE.read_text().splitlines()
    return lines[0], {line for line in lines[1:] if line and not line.startswith("#")}


def excluded_reason(test_id: str) -> str | None:
    for pattern, reason in EXCLUDED.items():
        if fnmatch.fnmatchcase(test_id, pattern):
            return reason
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("gdx conformance").addoption(
        "--gdx-baseline",
        action="store_true",
        help="run against unmodified optax and rewrite optax_baseline.txt with the tests that pass",
    )


class _Outcomes:
    """Collects per-test outcomes (subtests included) on the controlling process."""

    def __init__(self, baseline_mode: bool, replaced: int, missing: dict[str, set[str]]):
        self.baseline_mode = baseline_mode
        self.replaced = replaced
        self.missing = missing
        self.passed: set[str] = set()
        self.failed: set[str] = set()
        self.seen: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seen.add(report.nodeid)
        if report.failed:
            self.failed.add(report.nodeid)
        elif report.when == "call" and report.passed:
            self.passed.add(report.nodeid)

    def passing(self) -> set[str]:
        return self.passed - self.failed

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.baseline_mode:
            BASELINE_FILE.write_text("\n".join([versions_line(), *sorted(self.passing())]) + "\n")
            return
        header, baseline = read_baseline()
        # The verdict is the comparison with the baseline, not pytest's count: the excluded
        # tests and the tests that fail on unmodified optax too fail here by design.
        if self.problems(header, baseline):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        elif session.exitstatus == pytest.ExitCode.TESTS_FAILED:
            session.exitstatus = pytest.ExitCode.OK

    def problems(self, header: str, baseline: set[str]) -> list[str]:
        problems = []
        if header != versions_line():
            problems.append(
                f"baseline recorded with [{header[2:]}], installed [{versions_line()[2:]}]: "
                "rerun `python -m tests.conformance --baseline`"
            )
        passing = self.passing()
        for test_id in sorted(baseline):
            reason = excluded_reason(test_id)
            if reason is None and test_id not in passing:
                state = "not run" if test_id not in self.seen else "fails on gdx"
                problems.append(f"{test_id}: passes on optax, {state}")
            elif reason is not None and test_id in passing:
                problems.append(f"{test_id}: excluded ({reason}) but passes on gdx: drop the exclusion")
        return problems

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        if self.baseline_mode:
            write(f"conformance baseline: optax passes {len(self.passing())} tests; wrote {BASELINE_FILE}")
            return
        header, baseline = read_baseline()
        missing_names = sorted({name for names in self.missing.values() for name in names})
        write(
            f"conformance: {self.replaced} optax attributes replaced by gdx's; "
            f"{len(missing_names)} public optax names gdx lacks kept optax's code: "
            + ", ".join(missing_names)
        )
        problems = self.problems(header, baseline)
        for problem in problems:
            write(f"conformance problem: {problem}")
        excluded = {t for t in baseline if excluded_reason(t) is not None}
        passes = len(baseline & self.passing())
        expected = sorted(self.failed - (baseline - excluded))
        write(
            f"conformance: of pytest's failures, {len(expected)} are expected: excluded tests, "
            "or tests that fail on unmodified optax too (not in optax_baseline.txt)"
        )
        write(
            f"conformance: gdx passes {passes} of {len(baseline)} optax tests "
            f"({len(excluded)} excluded, each documented)"
        )


def pytest_configure(config: pytest.Config) -> None:
    baseline_mode = config.getoption("gdx_baseline")
    replaced, missing = (0, {}) if baseline_mode else substitute_gdx()
    if not hasattr(config, "workerinput"):  # the controller (or the only process) reports
        config.pluginmanager.register(_Outcomes(baseline_mode, replaced, missing), "gdx-conformance")

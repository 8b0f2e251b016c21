"""Every public callable in both `gdx.contrib` and `optax.contrib` takes optax's arguments.

Names, order, kinds and defaults as `tests/parity/test_signatures.py` checks
them for the top level (gdx-only arguments only after optax's, keyword-only).
New contrib names are covered as they land. Also: `gdx.contrib` only
re-exports, so every name in it is the same object at gdx's top level.
"""

from __future__ import annotations

import inspect

import optax
import optax.contrib
import pytest

import gdx
import gdx.contrib
from tests.parity.test_signatures import _is_state_class, _key, _parameters, _same_default


def _public_names(module) -> set[str]:
    return {
        name
        for name in dir(module)
        if not name.startswith("_") and not inspect.ismodule(getattr(module, name))
    }


def _shared_contrib_callables() -> list[str]:
    names = []
    for name in sorted(_public_names(gdx.contrib) & _public_names(optax.contrib)):
        ours = getattr(gdx.contrib, name)
        if inspect.isfunction(ours) or (inspect.isclass(ours) and not _is_state_class(ours)):
            names.append(name)
    return names


SHARED = _shared_contrib_callables()
# Names whose optax.contrib signature gdx deliberately does not copy, with the reason.
DELIBERATE_DIFFERENCES: dict[str, str] = {}


def test_the_issue_11_names_are_covered():
    assert {
        "muon",
        "scale_by_muon",
        "schedule_free",
        "schedule_free_adamw",
        "adopt",
        "ademamix",
        "sam",
    } <= set(SHARED)


@pytest.mark.parametrize("name", SHARED)
def test_contrib_signature_matches_optax(name):
    if name in DELIBERATE_DIFFERENCES:
        pytest.skip(DELIBERATE_DIFFERENCES[name])
    ours, theirs = _parameters(getattr(gdx.contrib, name)), _parameters(getattr(optax.contrib, name))
    shared = ours[: len(theirs)]
    assert [_key(p) for p in shared] == [_key(p) for p in theirs], name
    for mine, reference in zip(shared, theirs):
        assert _same_default(mine.default, reference.default), (
            f"contrib.{name}({mine.name}=...): default {mine.default!r} != optax's {reference.default!r}"
        )
    for extra in ours[len(theirs) :]:
        assert extra.kind is inspect.Parameter.KEYWORD_ONLY, (
            f"contrib.{name}: gdx-only {extra.name} not keyword-only"
        )


def test_contrib_state_classes_have_optax_fields():
    for name in sorted(_public_names(gdx.contrib) & _public_names(optax.contrib)):
        ours, theirs = getattr(gdx.contrib, name), getattr(optax.contrib, name)
        fields = getattr(ours, "_fields", None)  # NamedTuple classes only
        if inspect.isclass(ours) and fields is not None and hasattr(theirs, "_fields"):
            assert fields == theirs._fields, name


def test_every_contrib_name_is_the_same_object_at_the_top_level():
    for name in sorted(_public_names(gdx.contrib)):
        assert getattr(gdx, name, None) is getattr(gdx.contrib, name), f"gdx.contrib.{name} is not gdx.{name}"


def test_contrib_names_are_optax_contrib_names():
    exported = [name for name in dir(gdx.contrib) if not name.startswith("_")]
    assert exported and all(hasattr(optax.contrib, name) for name in exported)


NAMES = [
    "madgrad",
    "scale_by_madgrad",
    "MadgradState",
    "acprop",
    "scale_by_acprop",
    "normalize",
    "NormalizeState",
    "split_real_and_imaginary",
    "SplitRealAndImaginaryState",
    "differentially_private_aggregate",
    "DifferentiallyPrivateAggregateState",
    "dpsgd",
    "galore",
    "scale_by_galore",
    "GaLoreDimensionNumbers",
    "GaLoreState",
    "sophia",
    "SophiaState",
    "hutchinson_estimator_diag_hessian",
    "HutchinsonState",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_signatures_and_state_fields_match_optax_contrib(name):
    ours, theirs = getattr(gdx, name), getattr(optax.contrib, name)
    assert getattr(gdx.contrib, name) is ours
    if inspect.isfunction(theirs):
        mine, reference = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert list(mine)[: len(reference)] == list(reference)
        for argument, parameter in reference.items():
            assert mine[argument].kind == parameter.kind, argument
            default = parameter.default
            if not (callable(default) or isinstance(default, optax.GradientTransformation)):
                assert mine[argument].default == default, argument
    elif hasattr(theirs, "_fields"):
        assert ours._fields == theirs._fields

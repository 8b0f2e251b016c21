"""Every gdx name that optax also has takes optax's arguments: names, order, kinds, defaults.

gdx-only arguments are allowed only after optax's, and only keyword-only
(DESIGN.md: "gdx-only arguments come after optax's, keyword-only").
"""

from __future__ import annotations

import inspect

import optax
import pytest

import gdx


def _shared_functions() -> list[str]:
    """Every public function that both `gdx` and `optax` export at the top level."""
    names = []
    for name in sorted(set(dir(gdx)) & set(dir(optax))):
        if name.startswith("_"):
            continue
        ours = getattr(gdx, name)
        if inspect.isfunction(ours) or (inspect.isclass(ours) and not _is_state_class(ours)):
            names.append(name)
    return names


def _is_state_class(cls) -> bool:
    return issubclass(cls, tuple) or cls.__module__ == "typing"


SHARED_CALLABLES = _shared_functions()


def test_the_foundation_names_are_all_covered():
    foundation = {"chain", "adam", "adamw", "sgd", "lars", "lamb", "scale_by_adam", "masked", "sgdr_schedule"}
    assert foundation <= set(SHARED_CALLABLES)


# Names whose optax signature gdx deliberately does not copy, with the reason.
DELIBERATE_DIFFERENCES: dict[str, str] = {}


def _parameters(function):
    return list(inspect.signature(function).parameters.values())


@pytest.mark.parametrize("name", SHARED_CALLABLES)
def test_signature_matches_optax(name):
    if name in DELIBERATE_DIFFERENCES:
        pytest.skip(DELIBERATE_DIFFERENCES[name])
    ours, theirs = _parameters(getattr(gdx, name)), _parameters(getattr(optax, name))
    shared = ours[: len(theirs)]
    assert [_key(p) for p in shared] == [_key(p) for p in theirs], name
    for mine, reference in zip(shared, theirs):
        assert _same_default(mine.default, reference.default), (
            f"{name}({mine.name}=...): default {mine.default!r} != optax's {reference.default!r}"
        )
    for extra in ours[len(theirs) :]:
        assert extra.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}: gdx-only {extra.name} not keyword-only"


def _key(parameter):
    # The name of `*args` cannot be passed by keyword, so only its kind matters.
    if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
        return ("*", parameter.kind)
    return (parameter.name, parameter.kind)


def _same_default(a, b):
    if a is inspect.Parameter.empty or b is inspect.Parameter.empty:
        return a is b
    if isinstance(b, float) or isinstance(a, float):
        return type(a) in (int, float) and float(a) == float(b)
    if _is_function_like(a) and _is_function_like(b):
        # A default that is a function (lbfgs's linesearch factory, a
        # transformation built at import) matches optax's when it is the same
        # named thing; its identity differs since each library builds its own.
        return _callable_name(a) == _callable_name(b)
    return a == b or repr(a) == repr(b)


def _is_function_like(value):
    return callable(value) or hasattr(value, "update")


def _callable_name(fn):
    update = getattr(fn, "update", None)
    if update is not None:  # a GradientTransformation: named by the factory that built it
        return update.__qualname__.split(".<locals>")[0]
    return getattr(fn, "__name__", repr(fn))


@pytest.mark.parametrize("name", SHARED_CALLABLES)
def test_name_is_documented(name):
    doc = inspect.getdoc(getattr(gdx, name)) or ""
    assert len(doc.splitlines()) >= 1 and doc.strip(), f"gdx.{name} has no docstring"

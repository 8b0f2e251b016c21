"""Every gdx name that optax also has takes optax's arguments: names, order, kinds, defaults.

gdx-only arguments are allowed only after optax's, and only keyword-only
(DESIGN.md: "gdx-only arguments come after optax's, keyword-only").
"""

from __future__ import annotations

import inspect

import optax
import pytest

import gdx

SHARED_CALLABLES = [
    # core
    "chain", "named_chain", "identity", "set_to_zero", "stateless", "apply_updates",
    "global_norm", "safe_increment", "with_extra_args_support",
    # transforms
    "scale", "scale_by_learning_rate", "scale_by_schedule", "clip", "clip_by_global_norm",
    "trace", "ema", "scale_by_adam", "scale_by_amsgrad", "scale_by_adamax", "scale_by_rms",
    "scale_by_stddev", "scale_by_rss", "scale_by_lion", "scale_by_trust_ratio",
    "add_decayed_weights", "masked",
    # optimizers
    "sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "nadamw", "adamax", "adamaxw",
    "amsgrad", "lion", "lamb", "lars",
    # schedules
    "constant_schedule", "linear_schedule", "polynomial_schedule", "exponential_decay",
    "piecewise_constant_schedule", "piecewise_interpolate_schedule", "cosine_decay_schedule",
    "warmup_cosine_decay_schedule", "warmup_constant_schedule", "warmup_exponential_decay_schedule",
    "join_schedules", "sgdr_schedule", "cosine_onecycle_schedule", "linear_onecycle_schedule",
]  # fmt: skip

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
    return a == b or repr(a) == repr(b)


@pytest.mark.parametrize("name", SHARED_CALLABLES)
def test_name_is_documented(name):
    doc = inspect.getdoc(getattr(gdx, name)) or ""
    assert len(doc.splitlines()) >= 1 and doc.strip(), f"gdx.{name} has no docstring"

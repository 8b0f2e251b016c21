"""Each constructor argument of a named optimizer is validated once (issue 21).

A named optimizer (a recipe) leaves the checks of the arguments it passes on
to the building blocks of its chain, which it builds inside
`checks.called_as(...)`, so the error still names the optimizer and its own
argument. This counts, for every named optimizer built with its defaults, how
many times a validator of `gdx._common.checks` checks each argument
(counted in the caller's names, so `muon`'s `adam_b1` is counted as
`adam_b1` whichever transform checks it); and, built with a non-default value
of each optional argument where one is easy to give (a default None is
validated only once given: `sgd(0.1, momentum=0.9)`), that the value is checked
at most once, under the optimizer's and the argument's names (a fresh float is
followed by its identity whatever name a building block checks it under).

Run as a script (`python -m tests.test_validation_once`) it prints the counts.
"""

import collections
import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import gdx
import gdx.contrib
from gdx._common import checks

# Arguments without a default, given here.
_REQUIRED = {"dpsgd": {"l2_norm_clip": 1.0, "noise_multiplier": 0.1, "seed": 0}}


def named_optimizers() -> dict[str, Callable[..., Any]]:
    """Public functions of `gdx` / `gdx.contrib` but `scale_by_*` whose first argument is `learning_rate`."""
    found = {}
    for module in (gdx, gdx.contrib):
        for name in dir(module):
            fn = getattr(module, name)
            if name.startswith(("_", "scale_by_")) or not inspect.isfunction(fn):
                continue
            parameters = list(inspect.signature(fn).parameters)
            if parameters and parameters[0] == "learning_rate":
                found.setdefault(name, fn)
    return found


@contextlib.contextmanager
def counting(monkeypatch: Any, shown: list | None = None) -> Iterator[collections.Counter]:
    """Within it, each check a validator of `gdx._common.checks` runs adds 1 to `counter[(name, id(value))]`.

    The argument in the caller's names (a validator called by another one is not
    counted); `shown`, if given, also gets `(who, name, id(value))` of each check.
    """
    counter: collections.Counter = collections.Counter()

    def count(check: str, who: str, name: str, value: Any) -> None:
        del check
        counter[(name, id(value))] += 1
        if shown is not None:
            shown.append((who, name, id(value)))

    monkeypatch.setattr(checks, "_ON_CHECK", count)
    yield counter


def validation_counts(name: str, fn: Callable[..., Any], monkeypatch: Any) -> collections.Counter:
    """How many times each of `fn`'s constructor arguments is checked when `fn` is built with its defaults."""
    with counting(monkeypatch) as counter:
        fn(0.01, **_REQUIRED.get(name, {}))
    # Only checks of the argument itself count (not of a value the recipe derives from it, nor
    # a building block's own default that happens to have the argument's name).
    arguments = inspect.signature(fn).bind(0.01, **_REQUIRED.get(name, {}))
    arguments.apply_defaults()
    return collections.Counter(
        {
            argument: counter[(argument, id(value))]
            for argument, value in arguments.arguments.items()
            if counter[(argument, id(value))]
        }
    )


NAMED = named_optimizers()


def test_every_named_optimizer_is_found():
    assert len(NAMED) >= 45
    assert {"adam", "muon", "prodigy", "dpsgd", "acprop", "adopt"} <= set(NAMED)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_each_argument_is_validated_at_most_once(name, monkeypatch):
    counts = validation_counts(name, NAMED[name], monkeypatch)
    assert counts["learning_rate"] == 1, counts
    twice = {argument: count for argument, count in counts.items() if count > 1}
    assert not twice, f"{name} validates {twice} more than once"


# Non-default values given together (nesterov means nothing without momentum) or for a default
# None (its easy valid value); every other optional number, bool or tuple of numbers gets one
# from `_changed` (an optimizer that rejects it is skipped for that argument).
_TOGETHER = {
    "sgd": [{"momentum": 0.9, "nesterov": True}],
    "rmsprop": [{"momentum": 0.9, "nesterov": True}, {"momentum": 0.9, "centered": True}],
    "dpsgd": [{"momentum": 0.9, "nesterov": True}],
    "adafactor": [{"momentum": 0.9}, {"weight_decay_rate": 0.1}],
    "dog": [{"weight_decay": 0.1}],
    "dowg": [{"init_estim_sq_dist": 0.5}, {"weight_decay": 0.1}],
    "prodigy": [{"beta3": 0.9}],
    "optimistic_adam": [{"optimism": 0.5}],
    "schedule_free_adamw": [{"warmup_steps": 1000}],
    "schedule_free_sgd": [{"warmup_steps": 1000}, {"weight_decay": 0.1}],
    "muon": [{"adam_learning_rate": 0.02}],
    "rprop": [{"eta_plus": 1.5}],
    "sophia": [{"verbose": True, "print_win_rate_every_n_steps": 1000}],
}
# Built with these, the optimizer must accept them (they are the non-defaults this test is about).
_MUST_BUILD = ("sgd", "rmsprop", "dpsgd")


def _changed(default: Any) -> Any:
    """A non-default value of the kind of `default`, or `inspect.Parameter.empty` for none."""
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1000  # above 256, so `_fresh` can make it a new object
    if isinstance(default, float):
        return default * 0.5 if default else 0.1
    if isinstance(default, tuple) and default and all(isinstance(x, float) for x in default):
        return tuple(x * 0.5 for x in default)
    return inspect.Parameter.empty


def _fresh(value: Any) -> Any:
    """`value` with each float and int above 256 a new object, so its checks can be followed by identity."""
    if isinstance(value, float):
        return float(repr(value))
    if isinstance(value, int) and not isinstance(value, bool) and value > 256:
        return int(repr(value))
    if isinstance(value, tuple):
        return tuple(_fresh(x) for x in value)
    return value


def non_default_cases() -> list[tuple[str, dict[str, Any]]]:
    """`(optimizer, {argument: non-default value})`: `_TOGETHER`'s, then one `_changed` argument at a time."""
    cases = []
    for name, fn in sorted(NAMED.items()):
        cases += [(name, overrides) for overrides in _TOGETHER.get(name, [])]
        for argument, parameter in list(inspect.signature(fn).parameters.items())[1:]:
            value = _changed(parameter.default)
            if value is not inspect.Parameter.empty:
                cases.append((name, {argument: value}))
    return cases


def non_default_checks(
    name: str, overrides: dict[str, Any], monkeypatch: Any
) -> dict[str, list[tuple[str, str]]] | None:
    """Each fresh number of `overrides`: the `(who, argument)` of its checks; None if `name` rejects them."""
    overrides = {argument: _fresh(value) for argument, value in overrides.items()}
    shown: list = []
    with counting(monkeypatch, shown):
        try:
            NAMED[name](0.01, **_REQUIRED.get(name, {}), **overrides)
        except (ValueError, TypeError):
            if name in _MUST_BUILD:
                raise
            return None
    followed = {}
    for argument, value in overrides.items():
        entries = enumerate(value) if isinstance(value, tuple) else [(None, value)]
        for i, x in entries:  # a tuple's entries are checked as `argument[i]`
            if x is not _fresh(x):  # a new object at each call: followed by identity
                label = argument if i is None else f"{argument}[{i}]"
                followed[label] = [(who, shown_name) for who, shown_name, j in shown if j == id(x)]
    return followed


NON_DEFAULT = non_default_cases()


@pytest.mark.parametrize(
    ("name", "overrides"), NON_DEFAULT, ids=[f"{n}-{'-'.join(o)}" for n, o in NON_DEFAULT]
)
def test_non_default_arguments_are_validated_at_most_once_in_the_callers_names(name, overrides, monkeypatch):
    followed = non_default_checks(name, overrides, monkeypatch)
    if followed is None:
        pytest.skip(f"{name} rejects {overrides}")
    for argument, seen in followed.items():
        assert len(seen) <= 1, f"{name} validates {argument} {len(seen)} times: {seen}"
        assert all(shown == (name, argument) for shown in seen), f"{name}'s {argument} is checked as {seen}"


def test_the_non_defaults_of_momentum_are_built():
    cases = {(name, tuple(overrides)) for name, overrides in NON_DEFAULT}
    for name in _MUST_BUILD:
        assert (name, ("momentum", "nesterov")) in cases
    assert len(NON_DEFAULT) >= 200


def test_called_as_names_the_caller_and_its_argument():
    with pytest.raises(ValueError, match=r"^muon: adam_b1 must be in \[0, 1\), got 1.5$"):
        gdx.muon(0.01, adam_b1=1.5)
    with checks.called_as("outer", b1="inner_b1"), checks.called_as("inner", beta="b1"):
        assert checks.caller_names("scale_by_x", "beta") == ("outer", "inner_b1")
    assert checks.caller_names("scale_by_x", "beta") == ("scale_by_x", "beta")


if __name__ == "__main__":
    total = [0, 0, 0]
    with pytest.MonkeyPatch.context() as patch:
        for optimizer, function in sorted(NAMED.items()):
            counts = validation_counts(optimizer, function, patch)
            print(optimizer, dict(sorted(counts.items())))
            repeated = {argument: count for argument, count in counts.items() if count > 1}
            total[0] += sum(counts.values())
            total[1] += bool(repeated)
            total[2] += len(repeated)
    print(
        f"TOTAL checks {total[0]}; optimizers with a repeated check {total[1]} of {len(NAMED)};",
        f"repeated arguments {total[2]}",
    )

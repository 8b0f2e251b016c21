"""Each constructor argument of a named optimizer is validated once (issue 21).

A named optimizer (a recipe) leaves the checks of the arguments it passes on
to the building blocks of its chain, which it builds inside
`checks.called_as(...)`, so the error still names the optimizer and its own
argument. This counts, for every named optimizer built with its defaults, how
many times a validator of `gdx._common.checks` checks each argument
(counted in the caller's names, so `muon`'s `adam_b1` is counted as
`adam_b1` whichever transform checks it).

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
def counting(monkeypatch: Any) -> Iterator[collections.Counter]:
    """Within it, each check a validator of `gdx._common.checks` runs adds 1 to `counter[(name, id(value))]`.

    The argument in the caller's names (a validator called by another one is not counted).
    """
    counter: collections.Counter = collections.Counter()

    def count(check: str, who: str, name: str, value: Any) -> None:
        del check, who
        counter[(name, id(value))] += 1

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

"""`OptimizerSpec`: how a transformation was built, as JSON, so a resume can check or rebuild it."""

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

_SPEC = "__optimizer_spec__"
_CALLABLE = "__callable__"
_TUPLE = "__tuple__"  # JSON has no tuples; partition's (regex, label) rules and named_chain need them back
_INJECTORS = ("inject_hyperparams", "inject_stateful_hyperparams")
_CHAINS = ("chain", "named_chain")


class OptimizerSpec:
    """A gdx factory name plus its arguments, kept as JSON beside a checkpoint.

    `OptimizerSpec("adamw", learning_rate=1e-3, weight_decay=0.01).build()` is
    `gdx.adamw(learning_rate=1e-3, weight_decay=0.01)`. Arguments may be
    numbers, strings, booleans, `None`, lists/dicts of those and nested specs
    (`OptimizerSpec("chain", OptimizerSpec("clip_by_global_norm", 1.0),
    OptimizerSpec("adamw", 1e-3))`). A callable (a schedule) is not JSON: its
    `repr` is recorded and it must be passed again at build time,
    `spec.build(learning_rate=schedule)`; a keyword given to `build` replaces
    that keyword in this spec and in every nested spec that has it. A
    schedule can also be a nested spec itself,
    `learning_rate=OptimizerSpec("warmup_cosine_decay_schedule", 0.0, 1e-3, 10, 100)`,
    and is then recorded and rebuilt like any other argument.

    Composed optimizers are specs of specs, built inside out:

    * `OptimizerSpec("chain", spec_1, spec_2, ...)`: `gdx.chain(...)` of the
      built members (at least one; `named_chain` takes `(name, spec)` pairs);
    * `OptimizerSpec("MultiSteps", spec, every_k_schedule=4)`;
    * `OptimizerSpec("partition", {"decay": spec_a, "no_decay": spec_b},
      [(r"bias$", "no_decay"), (".*", "decay")])`: rules and tuples come back as
      tuples; a label function is not JSON, pass it again:
      `build(param_labels=fn)`;
    * `OptimizerSpec("inject_hyperparams", OptimizerSpec("adamw", learning_rate=1e-3),
      static_args=...)`: `gdx.inject_hyperparams(gdx.adamw, static_args=...)(learning_rate=1e-3)`
      (the same for `inject_stateful_hyperparams`): the inner spec names the
      factory and holds the hyperparameters.

    Args:
      name: a factory at gdx's top level (`"adamw"`, `"chain"`, `"MultiSteps"`, ...).
      *args: its positional arguments.
      **kwargs: its keyword arguments.
    """

    def __init__(self, name: str, /, *args: Any, **kwargs: Any):
        if not isinstance(name, str) or not name:
            raise TypeError(f"OptimizerSpec: name must be the name of a gdx factory, got {name!r}")
        self.name = name
        self.args = tuple(args)
        self.kwargs = dict(kwargs)
        self._check_composition()

    def _check_composition(self) -> None:
        """Rejects compositions that would build something other than what they describe."""
        if self.name in _CHAINS and not self.args:
            raise ValueError(
                f"OptimizerSpec({self.name!r}) has no members, so it would build an empty chain (the "
                f"identity) and a checkpoint would record that; list the member specs, e.g. "
                f"OptimizerSpec({self.name!r}, OptimizerSpec('clip_by_global_norm', 1.0), "
                f"OptimizerSpec('adamw', 1e-3))"
            )
        if self.name in _INJECTORS and not (self.args and isinstance(self.args[0], OptimizerSpec)):
            raise ValueError(
                f"OptimizerSpec({self.name!r}, ...) needs the injected optimizer as its first argument, "
                f"a spec holding the hyperparameters: OptimizerSpec({self.name!r}, "
                "OptimizerSpec('adamw', learning_rate=1e-3, weight_decay=0.01)) builds "
                f"gdx.{self.name}(gdx.adamw)(learning_rate=1e-3, weight_decay=0.01); got args {self.args!r}"
            )

    def __repr__(self) -> str:
        parts = [repr(self.name), *map(repr, self.args), *(f"{k}={v!r}" for k, v in self.kwargs.items())]
        return f"OptimizerSpec({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OptimizerSpec) and not spec_differences(self, other)

    __hash__ = None  # type: ignore[assignment]

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON-able dict; callables become `{"__callable__": repr}`."""
        return {
            _SPEC: self.name,
            "args": [_to_json(a, f"{self.name}[{i}]") for i, a in enumerate(self.args)],
            "kwargs": {k: _to_json(v, f"{self.name}.{k}") for k, v in self.kwargs.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "OptimizerSpec":
        """Inverse of `to_json`; callables stay recorded as `{"__callable__": repr}` placeholders."""
        if _SPEC not in data:
            raise ValueError(f"OptimizerSpec.from_json: not a spec (no {_SPEC!r} key): {dict(data)!r}")
        spec = cls.__new__(cls)  # not __init__: a saved spec is read back as it was, even an odd one
        spec.name = data[_SPEC]
        spec.args = tuple(_from_json(a) for a in data.get("args", []))
        spec.kwargs = {k: _from_json(v) for k, v in data.get("kwargs", {}).items()}
        return spec

    def build(self, **overrides: Any) -> Any:
        """Calls the gdx factory; `overrides` supply callables (schedules) and replace arguments."""
        self._check_composition()
        factory = _factory(self.name)
        if self.name in _INJECTORS:
            inner, *rest = self.args
            injected = factory(
                _factory(inner.name),
                *[_build_value(a, f"{self.name}[{i + 1}]", overrides) for i, a in enumerate(rest)],
                **self._built_kwargs(overrides),
            )
            return injected(
                *[_build_value(a, f"{inner.name}[{i}]", overrides) for i, a in enumerate(inner.args)],
                **inner._built_kwargs(overrides),
            )
        args = [_build_value(a, f"{self.name}[{i}]", overrides) for i, a in enumerate(self.args)]
        return factory(*args, **self._built_kwargs(overrides))

    def _built_kwargs(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        return {
            k: overrides[k] if k in overrides else _build_value(v, f"{self.name}.{k}", overrides)
            for k, v in self.kwargs.items()
        }


def _factory(name: str) -> Any:
    import gdx

    factory = getattr(gdx, name, None)
    if not callable(factory):
        raise ValueError(f"OptimizerSpec: gdx has no factory named {name!r}")
    return factory


def _to_json(value: Any, where: str) -> Any:
    if isinstance(value, OptimizerSpec):
        return value.to_json()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, np.ndarray) or hasattr(value, "__array__") and not callable(value):
        array = np.asarray(value)
        if array.ndim == 0 and array.dtype.kind in "biuf":
            return array.item()
    if isinstance(value, tuple):
        return {_TUPLE: [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _to_json(v, f"{where}.{k}") for k, v in value.items()}
    if callable(value):
        return {_CALLABLE: repr(value)}
    raise TypeError(
        f"OptimizerSpec: {where}={value!r} is not JSON-able; use numbers, strings, lists, dicts, "
        "nested OptimizerSpecs, or a callable (recorded by repr and passed again to build())"
    )


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if _SPEC in value:
            return OptimizerSpec.from_json(value)
        if _CALLABLE in value:
            return dict(value)
        if _TUPLE in value:
            return tuple(_from_json(v) for v in value[_TUPLE])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _build_value(value: Any, where: str, overrides: Mapping[str, Any]) -> Any:
    if isinstance(value, OptimizerSpec):
        return value.build(**overrides)
    if isinstance(value, dict) and _CALLABLE in value:
        name = where.rsplit(".", 1)[-1]
        raise ValueError(
            f"OptimizerSpec: {where} was a callable when saved ({value[_CALLABLE]}); callables are "
            f"not stored, pass it again: spec.build({name}=...)"
        )
    if isinstance(value, dict):
        return {k: _build_value(v, f"{where}.{k}", overrides) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_build_value(v, f"{where}[{i}]", overrides) for i, v in enumerate(value))
    return value


def _flatten_json(value: Any, where: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and _SPEC in value:
        # Paths without the factory names, so adam vs adamw shows as one line, not two sets.
        out[f"{where}.optimizer" if where else "optimizer"] = value[_SPEC]
        for i, a in enumerate(value.get("args", [])):
            _flatten_json(a, f"{where}[{i}]", out)
        for k, v in value.get("kwargs", {}).items():
            _flatten_json(v, f"{where}.{k}" if where else k, out)
    elif isinstance(value, dict) and _CALLABLE in value:
        out[where] = "<callable>"  # reprs of the same schedule differ between processes
    elif isinstance(value, dict) and _TUPLE in value:
        _flatten_json(value[_TUPLE], where, out)  # a tuple equals the list an earlier gdx saved
    elif isinstance(value, dict):
        for k, v in value.items():
            _flatten_json(v, f"{where}.{k}", out)
    elif isinstance(value, list):
        out[f"{where}<len>"] = len(value)
        for i, v in enumerate(value):
            _flatten_json(v, f"{where}[{i}]", out)
    else:
        out[where] = value


def spec_differences(a: OptimizerSpec, b: OptimizerSpec) -> list[str]:
    """`"where: a_value != b_value"` for every hyperparameter that differs (callables compare equal)."""
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    _flatten_json(a.to_json(), "", flat_a)
    _flatten_json(b.to_json(), "", flat_b)
    missing = object()
    differences = []
    for key in sorted(set(flat_a) | set(flat_b)):
        left, right = flat_a.get(key, missing), flat_b.get(key, missing)
        if not _same(left, right):
            show = lambda v: "<absent>" if v is missing else repr(v)
            differences.append(f"{key}: {show(left)} != {show(right)}")
    return differences


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
        return True
    return (
        type(left) is type(right)
        and left == right
        or (
            isinstance(left, int | float)
            and isinstance(right, int | float)
            and not isinstance(left, bool)
            and not isinstance(right, bool)
            and left == right
        )
    )

"""`OptimizerSpec`: how a transformation was built, as JSON, so a resume can check or rebuild it."""

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

_SPEC = "__optimizer_spec__"
_CALLABLE = "__callable__"


class OptimizerSpec:
    """A gdx factory name plus its arguments, kept as JSON beside a checkpoint.

    `OptimizerSpec("adamw", learning_rate=1e-3, weight_decay=0.01).build()` is
    `gdx.adamw(learning_rate=1e-3, weight_decay=0.01)`. Arguments may be
    numbers, strings, booleans, `None`, lists/dicts of those and nested specs
    (`OptimizerSpec("chain", OptimizerSpec("clip_by_global_norm", 1.0),
    OptimizerSpec("adamw", 1e-3))`). A callable (a schedule) is not JSON: its
    `repr` is recorded and it must be passed again at build time,
    `spec.build(learning_rate=schedule)`; a keyword given to `build` replaces
    that keyword in this spec and in every nested spec that has it.

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
        args = [_from_json(a) for a in data.get("args", [])]
        kwargs = {k: _from_json(v) for k, v in data.get("kwargs", {}).items()}
        return cls(data[_SPEC], *args, **kwargs)

    def build(self, **overrides: Any) -> Any:
        """Calls the gdx factory; `overrides` supply callables (schedules) and replace arguments."""
        import gdx

        factory = getattr(gdx, self.name, None)
        if not callable(factory):
            raise ValueError(f"OptimizerSpec: gdx has no factory named {self.name!r}")
        args = [_build_value(a, f"{self.name}[{i}]", overrides) for i, a in enumerate(self.args)]
        kwargs = {
            k: overrides[k] if k in overrides else _build_value(v, f"{self.name}.{k}", overrides)
            for k, v in self.kwargs.items()
        }
        return factory(*args, **kwargs)


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
    if isinstance(value, list | tuple):
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
    if isinstance(value, list):
        return [_build_value(v, f"{where}[{i}]", overrides) for i, v in enumerate(value)]
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

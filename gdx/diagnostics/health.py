"""Per-step training metrics kept in the optimizer state: `health_monitor`, `HealthMonitorState`, `metrics`.

`gdx.monitor` is optax's `monitor(measures)` (in `gdx/monitoring.py`); `health_monitor`
wraps a whole optimizer and records a fixed set of health metrics every step. Its old
names `gdx.diagnostics.monitor` and `gdx.diagnostics.MonitorState` remain aliases.
"""

import functools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdx._common.tree_math import nodes_of_type
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, with_extra_args_support
from gdx.tree_utils import tree_get_all_with_path

GLOBAL_METRICS = (
    "grad_norm",
    "update_norm",
    "param_norm",
    "update_param_ratio",
    "learning_rate",
    "nonfinite_grads",
    "grad_min",
    "grad_max",
    "grad_mean",
    "grad_std",
)
"""Names of the metrics `health_monitor` records over the whole tree, in order."""

MODULE_METRICS = tuple(name for name in GLOBAL_METRICS if name != "learning_rate")
"""Names recorded per top-level key (as `"<name>/<key>"`) with `per_module=True`."""


class HealthMonitorState(NamedTuple):
    """State of `gdx.diagnostics.health_monitor`.

    Attributes:
      inner_state: the state of the wrapped transformation.
      metrics: metric name -> float32 scalar array, the values of the last step
        (NaN before the first step, and for `param_norm`/`update_param_ratio`
        when `update` got no params, and for `learning_rate` when it is unknown).
    """

    inner_state: Any
    metrics: dict[str, jax.Array]


def _leaves(tree: Any) -> list[jax.Array]:
    leaves = [jnp.asarray(leaf) for leaf in jax.tree.leaves(tree)]
    return [leaf.astype(jnp.float32) for leaf in leaves if jnp.issubdtype(leaf.dtype, jnp.inexact)]


def _norm(tree: Any) -> jax.Array:
    squares = [jnp.sum(jnp.square(leaf)) for leaf in _leaves(tree)]
    return jnp.sqrt(sum(squares, jnp.zeros((), jnp.float32)))


def _grad_statistics(grads: Any) -> dict[str, jax.Array]:
    """Norm, non-finite count, min, max, mean and (two-pass) std over every entry of `grads`."""
    leaves = _leaves(grads)
    zero = jnp.zeros((), jnp.float32)
    count = float(sum(leaf.size for leaf in leaves))
    nan = jnp.full((), jnp.nan, jnp.float32)
    if count == 0:
        return {name: nan for name in ("grad_min", "grad_max", "grad_mean", "grad_std")} | {
            "grad_norm": zero,
            "nonfinite_grads": zero,
        }
    mean = sum((jnp.sum(leaf) for leaf in leaves), zero) / count
    variance = sum((jnp.sum(jnp.square(leaf - mean)) for leaf in leaves), zero) / count
    nonfinite = sum((jnp.sum(~jnp.isfinite(leaf)) for leaf in leaves), jnp.zeros((), jnp.int32))
    non_empty = [leaf for leaf in leaves if leaf.size]
    return {
        "grad_norm": _norm(leaves),
        "nonfinite_grads": nonfinite.astype(jnp.float32),
        "grad_min": jnp.min(jnp.stack([jnp.min(leaf) for leaf in non_empty])),
        "grad_max": jnp.max(jnp.stack([jnp.max(leaf) for leaf in non_empty])),
        "grad_mean": mean,
        "grad_std": jnp.sqrt(variance),
    }


def _step_metrics(grads: Any, updates: Any, params: Any) -> dict[str, jax.Array]:
    values = _grad_statistics(grads)
    values["update_norm"] = _norm(updates)
    if params is None:
        values["param_norm"] = jnp.full((), jnp.nan, jnp.float32)
    else:
        values["param_norm"] = _norm(params)
    values["update_param_ratio"] = values["update_norm"] / values["param_norm"]
    return values


def _learning_rate(inner_state: Any) -> jax.Array:
    found = tree_get_all_with_path(inner_state, "learning_rate")
    values = [value for _, value in found if isinstance(value, jax.Array | np.ndarray | float | int)]
    if len(values) != 1 or jnp.size(values[0]) != 1:
        return jnp.full((), jnp.nan, jnp.float32)
    return jnp.reshape(jnp.asarray(values[0]), ()).astype(jnp.float32)


def _module_keys(params: Any) -> list[Any]:
    if not isinstance(params, Mapping):
        raise ValueError(
            f"monitor(per_module=True) needs params that are a dict of modules, got {type(params).__name__}; "
            "pass per_module=False"
        )
    return sorted(params.keys(), key=str)


def _report_nonfinite(paths: tuple[str, ...], counts: np.ndarray, printer: Callable[[str], Any]) -> None:
    bad = [f"{path} ({int(count)})" for path, count in zip(paths, np.asarray(counts), strict=True) if count]
    if bad:
        printer(f"gdx.diagnostics.monitor: non-finite gradient entries in {', '.join(bad)}")


def _debug_nonfinite(grads: Any, printer: Callable[[str], Any]) -> None:
    flat = [
        (jax.tree_util.keystr(path), jnp.asarray(leaf))
        for path, leaf in jax.tree_util.tree_flatten_with_path(grads)[0]
    ]
    flat = [(path, leaf) for path, leaf in flat if jnp.issubdtype(leaf.dtype, jnp.inexact)]
    if not flat:
        return
    paths = tuple(path for path, _ in flat)
    counts = jnp.stack([jnp.sum(~jnp.isfinite(leaf)).astype(jnp.int32) for _, leaf in flat])
    jax.debug.callback(functools.partial(_report_nonfinite, paths, printer=printer), counts)


def health_monitor(
    tx: GradientTransformation,
    *,
    per_module: bool = False,
    debug_nonfinite: bool = False,
    printer: Callable[[str], Any] = print,
) -> GradientTransformation:
    """Wraps `tx` and records per-step health metrics in its state, inside jit, without host sync.

    Not `gdx.monitor` (optax's `monitor(measures)`, a different transformation).

    Each step, with `g` the incoming gradients, `u` the updates `tx` returns and
    `p` the params passed to `update`::

        grad_norm = ||g||_2          update_norm = ||u||_2        param_norm = ||p||_2
        update_param_ratio = update_norm / param_norm          (~1e-3 is typical)
        learning_rate = the "learning_rate" in tx's state (inject_hyperparams), else NaN
        nonfinite_grads = number of NaN/inf entries of g
        grad_min, grad_max, grad_mean, grad_std over all entries of g

    All are float32 scalars computed in float32; the set of metrics is fixed at
    `init`, so steps never recompile. Read them with `gdx.diagnostics.metrics(state)`.

    Args:
      tx: any gradient transformation (gdx or optax).
      per_module: also record every metric but the learning rate for each
        top-level key `k` of the params dict, as `"<metric>/<k>"`. Needs dict
        params. Default False.
      debug_nonfinite: debug mode: every step, a `jax.debug.callback` sends the
        per-leaf count of non-finite gradient entries to the host, which calls
        `printer` with the paths of the offending leaves (nothing when all are
        finite). It costs a device-to-host transfer per step. Default False.
      printer: receives the debug message. Default `print`.

    Returns:
      A `GradientTransformation` with state `HealthMonitorState(inner_state, metrics)`
      and the same updates as `tx`.
    """
    inner = with_extra_args_support(tx)

    def names(params):
        keys = _module_keys(params) if per_module else []
        return list(GLOBAL_METRICS) + [f"{name}/{key}" for key in keys for name in MODULE_METRICS]

    def init(params):
        nan = jnp.full((), jnp.nan, jnp.float32)
        return HealthMonitorState(inner.init(params), {name: nan for name in names(params)})

    def update(updates, state, params=None, **extra_args):
        grads = updates
        if debug_nonfinite:
            _debug_nonfinite(grads, printer)
        new_updates, inner_state = inner.update(grads, state.inner_state, params, **extra_args)
        values = _step_metrics(grads, new_updates, params)
        values["learning_rate"] = _learning_rate(inner_state)
        if per_module:
            for key in _module_keys(grads):
                module = _step_metrics(grads[key], new_updates[key], None if params is None else params[key])
                values |= {f"{name}/{key}": module[name] for name in MODULE_METRICS}
        missing = set(state.metrics) ^ set(values)
        if missing:
            raise ValueError(f"monitor: the metrics changed between init and update ({sorted(missing)})")
        return new_updates, HealthMonitorState(inner_state, {name: values[name] for name in state.metrics})

    return GradientTransformationExtraArgs(init, update)


def metrics(state: Any) -> dict[str, float]:
    """The metrics of the `HealthMonitorState` found anywhere in `state`, as a flat dict of Python floats.

    Call it on the host, outside jit (it transfers the values), e.g. every N steps
    for a logger: `logger.log(gdx.diagnostics.metrics(opt_state), step)`.

    Args:
      state: an optimizer state that contains exactly one `HealthMonitorState`.

    Returns:
      `{metric name: float}`, sorted by name.

    Raises:
      ValueError: if `state` holds no `HealthMonitorState`, several, or batched (vmapped) metrics.
    """
    found = nodes_of_type(state, HealthMonitorState)
    if len(found) != 1:
        raise ValueError(
            f"metrics: expected one HealthMonitorState in the state, found {len(found)}; "
            "wrap the optimizer once with gdx.diagnostics.monitor(tx) and pass its state"
        )
    host = jax.device_get(found[0].metrics)
    result = {}
    for name, value in host.items():
        if np.ndim(value) != 0:
            raise ValueError(f"metrics: {name!r} has shape {np.shape(value)}; index a vmapped state first")
        result[name] = float(value)
    return result


monitor = health_monitor
"""The old name of `health_monitor` (kept as an alias)."""

MonitorState = HealthMonitorState
"""The old name of `HealthMonitorState` (kept as an alias)."""

"""Bit-identical to optax: wrappers over chains, and the Adam family called eagerly.

The rest of the parity suite compares at a tolerance (float32 rtol 1e-6), which
hides the rounding-level drift a real port sees. Here every float32 leaf must
equal optax's bit for bit after every step (`np.testing.assert_array_equal`),
both eagerly (each `update` dispatched op by op, as `nnx.Optimizer` and
notebooks run it) and jitted (one compiled step, as a training loop runs it).
The bfloat16 leaf is compared at the harness's bfloat16 tolerance, because
some gdx transformations keep a bfloat16 leaf's update in bfloat16 on purpose
where optax returns float32 (`normalize`, in SAM's adversary), which rounds
the param differently.

Each case failed before the fix it covers:
- eager Adam family: gdx's bias correction ran op by op, optax's is a jitted
  function, in which XLA turns `m / c` into `m * (1 / c)`;
- `lookahead`, `sam`, `MultiSteps`: gdx selected with `jnp.where` where optax
  multiplies by the flag, a different program that XLA fuses and rounds
  differently under `jit`;
- `scale_by_trust_ratio` (lamb, lars): gdx's one-reduction norm, now opt-in
  (`fast_norm=True`).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.parity.harness import TOLERANCES, grad_sequence, make_params, optax_promotion


def _trajectory(
    tx: Any,
    params: Any,
    grads_per_step: Any,
    *,
    steps: int,
    jit: bool,
    apply_updates: Callable[[Any, Any], Any],
) -> list[Any]:
    """The params after each of `steps` steps: eager `update` calls, or one jitted step."""

    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return apply_updates(params, updates), state

    if jit:
        step = jax.jit(step)
    state = tx.init(params)
    trajectory = []
    for index in range(steps):
        grads = jax.tree.map(lambda g, index=index: g[index], grads_per_step)
        params, state = step(params, state, grads)
        trajectory.append(params)
    return trajectory


def assert_bit_identical(
    make: Callable[[Any], Any],
    *,
    jit: bool,
    steps: int,
    params: Any = None,
    grads_like: Callable[[Any], Any] = lambda params: params,
    seed: int = 1,
) -> None:
    """`make(gdx)` and `make(optax)` train the same params: float32 leaves equal after every step.

    `params` is a pytree, or a function of the module (`gdx`/`optax`) returning one.
    """
    params_of = params if callable(params) else (lambda _: make_params(0) if params is None else params)
    grads_per_step = grad_sequence(grads_like(params_of(gdx)), steps, seed)
    with jax.numpy_dtype_promotion("strict"):
        ours = _trajectory(
            make(gdx), params_of(gdx), grads_per_step, steps=steps, jit=jit, apply_updates=gdx.apply_updates
        )
    with optax_promotion():
        theirs = _trajectory(
            make(optax),
            params_of(optax),
            grads_per_step,
            steps=steps,
            jit=jit,
            apply_updates=optax.apply_updates,
        )
    for step, (got_tree, expected_tree) in enumerate(zip(ours, theirs), start=1):
        got_leaves = jax.tree_util.tree_flatten_with_path(got_tree)[0]
        expected_leaves = jax.tree.leaves(expected_tree)
        assert len(got_leaves) == len(expected_leaves)
        for (path, got), expected in zip(got_leaves, expected_leaves):
            got, expected = np.asarray(got), np.asarray(expected)
            where = f"params{jax.tree_util.keystr(path)} after step {step}"
            assert (got.dtype, got.shape) == (expected.dtype, expected.shape), where
            if got.dtype == np.float32:
                np.testing.assert_array_equal(got, expected, err_msg=where)
            else:
                np.testing.assert_allclose(
                    got.astype(np.float32),
                    expected.astype(np.float32),
                    err_msg=where,
                    **TOLERANCES[got.dtype],
                )


def _no_bias(params):
    return jax.tree_util.tree_map_with_path(lambda path, x: "bias" not in jax.tree_util.keystr(path), params)


_TRUST_RATIO_MASK = {"dense": True, "conv": False, "scale": True, "matrix": False, "embedding": True}

COMPOSITIONS: dict[str, Callable[[Any], Any]] = {
    "multi_steps_clip_adamw": lambda m: m.MultiSteps(m.chain(m.clip_by_global_norm(1.0), m.adamw(1e-2)), 3),
    "multi_steps_inject_adamw": lambda m: m.MultiSteps(
        m.inject_hyperparams(m.adamw)(learning_rate=1e-2, weight_decay=1e-3), 2
    ),
    "masked_chain_trust_ratio": lambda m: m.masked(
        m.chain(m.add_decayed_weights(0.1), m.scale_by_trust_ratio(), m.ema(0.9)), _TRUST_RATIO_MASK
    ),
    "masked_chain_clip_adam": lambda m: m.masked(m.chain(m.clip_by_global_norm(1.0), m.adam(1e-2)), _no_bias),
    "apply_if_finite_chain": lambda m: m.apply_if_finite(
        m.chain(m.clip_by_global_norm(1.0), m.adam(1e-2)), 2
    ),
    "chain_clip_lamb": lambda m: m.chain(m.clip_by_global_norm(1.0), m.lamb(1e-2, weight_decay=1e-2)),
    "lamb_masked_decay": lambda m: m.lamb(1e-2, weight_decay=1e-2, mask=_no_bias),
    "lars": lambda m: m.lars(0.1, weight_decay=1e-2),
    "lars_trust_ratio_mask": lambda m: m.lars(0.1, weight_decay=1e-2, trust_ratio_mask=_no_bias),
    "sam_sgd": lambda m: _sam(m)(m.sgd(0.1), m.chain(_normalize(m)(), m.sgd(0.05)), sync_period=2),
    "sam_adam": lambda m: _sam(m)(m.adam(1e-2), m.chain(_normalize(m)(), m.adam(0.05)), sync_period=3),
    "sam_adam_no_reset": lambda m: _sam(m)(
        m.adam(1e-2), m.chain(_normalize(m)(), m.sgd(0.05, momentum=0.9)), sync_period=3, reset_state=False
    ),
}


def _sam(m):
    return m.sam if m is gdx else m.contrib.sam


def _normalize(m):
    return m.normalize if m is gdx else m.contrib.normalize


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_composition_is_bit_identical_to_optax(name, jit):
    assert_bit_identical(COMPOSITIONS[name], jit=jit, steps=20 if jit else 8)


def _lookahead(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda m: m.lookahead(inner(m), sync_period=3, slow_step_size=0.5)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize(
    "inner",
    [
        lambda m: m.sgd(0.1),
        lambda m: m.adam(1e-2),
        lambda m: m.chain(m.clip_by_global_norm(1.0), m.adamw(1e-2)),
    ],
    ids=["sgd", "adam", "clip_adamw"],
)
def test_lookahead_is_bit_identical_to_optax(inner, jit):
    assert_bit_identical(
        _lookahead(inner),
        jit=jit,
        steps=12,
        params=lambda m: m.LookaheadParams.init_synced(make_params(0)),
        grads_like=lambda params: params.fast,
    )


ADAM_FAMILY = {
    "adam": lambda m: m.adam(1e-2),
    "adam_nesterov": lambda m: m.adam(1e-2, nesterov=True),
    "adamw": lambda m: m.adamw(1e-2),
    "nadam": lambda m: m.nadam(1e-2),
    "nadamw": lambda m: m.nadamw(1e-2),
    "amsgrad": lambda m: m.amsgrad(1e-2),
    "adamax": lambda m: m.adamax(1e-2),
    "adamaxw": lambda m: m.adamaxw(1e-2),
    "lamb": lambda m: m.lamb(1e-2),
    "adabelief": lambda m: m.adabelief(1e-2),
    "adan": lambda m: m.adan(1e-2),
    "radam": lambda m: m.radam(1e-2),
    "yogi": lambda m: m.yogi(1e-2),
    "optimistic_adam_v2": lambda m: m.optimistic_adam_v2(1e-2),
    "rmsprop_bias_correction": lambda m: m.rmsprop(1e-2, bias_correction=True),
    "ema_debias": lambda m: m.chain(m.ema(0.9), m.sgd(0.1)),
}


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", sorted(ADAM_FAMILY))
def test_adam_family_is_bit_identical_to_optax(name, jit):
    assert_bit_identical(ADAM_FAMILY[name], jit=jit, steps=10)


def test_fast_norm_is_opt_in_and_close_to_optax():
    # `fast_norm=True` reduces each trust-ratio norm once instead of twice: each norm is
    # within 1 ulp of optax's, so the params stay close but need not be identical.
    params = make_params(0)
    grads_per_step = grad_sequence(params, 10, 1)
    with jax.numpy_dtype_promotion("strict"):
        fast = _trajectory(
            gdx.lamb(1e-2, weight_decay=1e-2, fast_norm=True),
            params,
            grads_per_step,
            steps=10,
            jit=True,
            apply_updates=gdx.apply_updates,
        )
    with optax_promotion():
        theirs = _trajectory(
            optax.lamb(1e-2, weight_decay=1e-2),
            params,
            grads_per_step,
            steps=10,
            jit=True,
            apply_updates=optax.apply_updates,
        )
    for got, expected in zip(jax.tree.leaves(fast[-1]), jax.tree.leaves(theirs[-1])):
        np.testing.assert_allclose(
            np.asarray(got, np.float32), np.asarray(expected, np.float32), **TOLERANCES[np.dtype(got.dtype)]
        )
    with jax.numpy_dtype_promotion("strict"):
        x = jnp.arange(1.0, 7.0)
        assert float(gdx.numerics.floored_l2_norm(x, 0.0)) == pytest.approx(
            float(gdx.safe_norm(x, 0.0)), rel=1e-6
        )

"""Wrappers and combinators against optax: each gdx wrapper around gdx members vs optax's around optax's."""

import functools

import jax
import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, make_params

FLOAT32_PARAMS = make_params(bfloat16=False)


def by_rank(params):
    """Label matrices "matrix", everything else "vector" (a callable label function)."""
    return jax.tree.map(lambda x: "matrix" if jnp.ndim(x) >= 2 else "vector", params)


FROZEN = {"dense": True, "conv": False, "scale": True, "matrix": False, "embedding": False}


# --- partition, freeze, selective_transform ------------------------------------------------


def test_partition_with_a_label_function_matches_optax():
    assert_parity(
        gdx.partition({"matrix": gdx.adam(1e-2), "vector": gdx.sgd(0.1, momentum=0.9)}, by_rank),
        optax.partition({"matrix": optax.adam(1e-2), "vector": optax.sgd(0.1, momentum=0.9)}, by_rank),
    )


def test_partition_with_regex_rules_matches_optax_with_the_same_labels():
    rules = [(r"\['dense'\]", "dense"), (r"embedding|scale", "frozen"), (".*", "rest")]
    labels = {"dense": "dense", "conv": "rest", "scale": "frozen", "matrix": "rest", "embedding": "frozen"}
    gdx_transforms = {"dense": gdx.adam(1e-2), "frozen": gdx.set_to_zero(), "rest": gdx.sgd(0.1)}
    optax_transforms = {"dense": optax.adam(1e-2), "frozen": optax.set_to_zero(), "rest": optax.sgd(0.1)}
    assert_parity(gdx.partition(gdx_transforms, rules), optax.partition(optax_transforms, labels), steps=20)


def test_freeze_and_selective_transform_match_optax():
    assert_parity(gdx.freeze(FROZEN), optax.freeze(FROZEN), steps=10)
    assert_parity(
        gdx.selective_transform(gdx.adam(1e-2), freeze_mask=FROZEN),
        optax.selective_transform(optax.adam(1e-2), freeze_mask=FROZEN),
        steps=20,
    )


# --- inject_hyperparams ---------------------------------------------------------------------


def test_inject_hyperparams_with_a_scheduled_and_numeric_hyperparams_matches_optax():
    # float32 params: optax stores the hyperparams in the params' highest dtype
    # (float32 here, as gdx); with a bfloat16 leaf its adam state drifts to
    # float32 (optax #1532), which a scan rejects.
    assert_parity(
        gdx.inject_hyperparams(gdx.adamw)(
            learning_rate=gdx.linear_schedule(0.1, 0.01, 60), b1=0.8, weight_decay=1e-2
        ),
        optax.inject_hyperparams(optax.adamw)(
            learning_rate=optax.linear_schedule(0.1, 0.01, 60), b1=0.8, weight_decay=1e-2
        ),
        params=FLOAT32_PARAMS,
    )


def test_inject_hyperparams_of_a_transform_with_static_args_matches_optax():
    assert_parity(
        gdx.inject_hyperparams(gdx.scale_by_adam, static_args="nesterov")(b2=0.99, nesterov=True),
        optax.inject_hyperparams(optax.scale_by_adam, static_args="nesterov")(b2=0.99, nesterov=True),
        params=FLOAT32_PARAMS,
        steps=20,
    )


# --- MultiSteps, apply_every ----------------------------------------------------------------


def test_multi_steps_matches_optax():
    assert_parity(
        gdx.MultiSteps(gdx.adam(1e-2), every_k_schedule=3).gradient_transformation(),
        optax.MultiSteps(optax.adam(1e-2), every_k_schedule=3).gradient_transformation(),
    )


def test_multi_steps_variants_match_optax():
    def every_k(step):
        return 2 + step % 2

    assert_parity(
        gdx.MultiSteps(gdx.sgd(1e-2), every_k, use_grad_mean=False).gradient_transformation(),
        optax.MultiSteps(optax.sgd(1e-2), every_k, use_grad_mean=False).gradient_transformation(),
        steps=30,
    )
    # 8 of the 30 mini-steps have a squared norm above 95 and are skipped.
    skip = functools.partial(gdx.skip_large_updates, max_squared_norm=95.0)
    optax_skip = functools.partial(optax.skip_large_updates, max_squared_norm=95.0)
    assert_parity(
        gdx.MultiSteps(gdx.adam(1e-2), 2, should_skip_update_fn=skip).gradient_transformation(),
        optax.MultiSteps(optax.adam(1e-2), 2, should_skip_update_fn=optax_skip).gradient_transformation(),
        steps=30,
    )


def test_apply_every_matches_optax():
    assert_parity(gdx.apply_every(3), optax.apply_every(3), steps=20)


# --- apply_if_finite, conditionally_mask / conditionally_transform ----------------------------


def poisoned(tx):
    """Feeds `tx` NaN gradients at steps 3, 4 (mod 5); the step comes as the extra arg `step`."""

    def update(updates, state, params=None, step=None, **extra_args):
        bad = step % 5 >= 3
        updates = jax.tree.map(lambda g: jnp.where(bad, jnp.nan, g).astype(g.dtype), updates)
        return tx.update(updates, state, params, **extra_args)

    return gdx.GradientTransformation(tx.init, update)


def test_apply_if_finite_skips_nan_steps_like_optax():
    assert_parity(
        poisoned(gdx.apply_if_finite(gdx.adam(1e-2), max_consecutive_errors=2)),
        poisoned(optax.apply_if_finite(optax.adam(1e-2), max_consecutive_errors=2)),
        steps=20,
        extra_args=lambda params, step: {"step": step},
    )


def test_conditional_wrappers_match_optax():
    def every_other(step):
        return step % 2 == 0

    assert_parity(
        gdx.conditionally_mask(gdx.adam(1e-2), every_other),
        optax.conditionally_mask(optax.adam(1e-2), every_other),
        steps=20,
    )
    assert_parity(
        gdx.conditionally_transform(gdx.adam(1e-2), every_other),
        optax.conditionally_transform(optax.adam(1e-2), every_other),
        steps=20,
    )


# --- lookahead, flatten ----------------------------------------------------------------------


def gradients_at_fast(tx):
    """The harness draws grads shaped like the params, here `LookaheadParams`: use `.fast`."""

    def update(updates, state, params=None, **extra_args):
        return tx.update(updates.fast, state, params, **extra_args)

    return gdx.GradientTransformation(tx.init, update)


def optax_gradients_at_fast(tx):
    def update(updates, state, params=None, **extra_args):
        del extra_args
        new_updates, state = tx.update(updates.fast, state, optax.LookaheadParams(*params))
        return gdx.LookaheadParams(*new_updates), state

    return gdx.GradientTransformation(tx.init, update)


def test_lookahead_matches_optax():
    params = gdx.LookaheadParams.init_synced(make_params())
    assert_parity(
        gradients_at_fast(gdx.lookahead(gdx.adam(1e-2), sync_period=5, slow_step_size=0.5)),
        optax_gradients_at_fast(optax.lookahead(optax.adam(1e-2), sync_period=5, slow_step_size=0.5)),
        params=params,
        steps=50,
    )
    assert_parity(
        gradients_at_fast(gdx.lookahead(gdx.sgd(1e-2, 0.9), 3, 0.3, reset_state=True)),
        optax_gradients_at_fast(optax.lookahead(optax.sgd(1e-2, 0.9), 3, 0.3, reset_state=True)),
        params=params,
        steps=20,
    )


def test_flatten_matches_optax():
    assert_parity(gdx.flatten(gdx.adam(1e-2)), optax.flatten(optax.adam(1e-2)), steps=30)


# --- names optax keeps for backwards compatibility, stateful hyperparams, skip_not_finite --------


def test_multi_transform_matches_optax():
    # optax.multi_transform is optax.partition under its old name; gdx's is the same function.
    assert_parity(
        gdx.multi_transform({"matrix": gdx.adam(1e-2), "vector": gdx.sgd(1e-2, 0.9)}, by_rank),
        optax.multi_transform({"matrix": optax.adam(1e-2), "vector": optax.sgd(1e-2, 0.9)}, by_rank),
        steps=30,
    )


@pytest.mark.filterwarnings("ignore:inject_stateful_hyperparams is deprecated:DeprecationWarning")
def test_inject_stateful_hyperparams_with_a_schedule_matches_optax():
    # float32 params, as for inject_hyperparams above (optax #1532 with a bfloat16 leaf).
    assert_parity(
        gdx.inject_stateful_hyperparams(gdx.adamw)(
            learning_rate=gdx.linear_schedule(0.1, 0.01, 40), b1=0.8, weight_decay=1e-2
        ),
        optax.inject_stateful_hyperparams(optax.adamw)(
            learning_rate=optax.linear_schedule(0.1, 0.01, 40), b1=0.8, weight_decay=1e-2
        ),
        params=FLOAT32_PARAMS,
        steps=40,
    )


def test_multi_steps_skipping_non_finite_mini_steps_matches_optax():
    # Steps 3, 4 (mod 5) bring NaN gradients; skip_not_finite drops those mini-steps.
    assert_parity(
        poisoned(
            gdx.MultiSteps(
                gdx.adam(1e-2), 2, should_skip_update_fn=gdx.skip_not_finite
            ).gradient_transformation()
        ),
        poisoned(
            optax.MultiSteps(
                optax.adam(1e-2), 2, should_skip_update_fn=optax.skip_not_finite
            ).gradient_transformation()
        ),
        steps=30,
        extra_args=lambda params, step: {"step": step},
    )

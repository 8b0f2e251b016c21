"""Port of EasyLM's optimizer factory: MultiSteps over clip + AdamW (cosine warmup, callable mask), and PaLM.

Source: young-geng/EasyLM, EasyLM/optimizers.py (`OptimizerFactory.
get_optimizer`, `AdamWOptimizerFactory`, `PalmOptimizerFactory`,
`optax_add_scheduled_weight_decay`) and the regex weight-decay mask built by
`get_weight_decay_mask` in EasyLM/jax_utils.py. Reduced: LLaMA is a plain jax
MLP on sklearn's digits. Kept as in the file: `optax.MultiSteps(optimizer,
accumulate_gradient_steps)` around `chain(clip_by_global_norm(clip),
adamw(learning_rate=warmup_cosine_decay_schedule(init_value=0.0, ...),
weight_decay=, b1=, b2=, mask=<callable>, mu_dtype=float32))`; the PaLM branch
`chain(clip_by_global_norm, adafactor(multiply_by_parameter_scale=True,
momentum=, decay_rate=, factored=False, clipping_threshold=None,
dtype_momentum=float32), <user GradientTransformation>)` whose user transform
counts with `optax.safe_int32_increment`, takes no `**extra_args`, and is
wrapped in `optax.masked(optax.GradientTransformation(init, update), mask)`.
"""

import re
from typing import NamedTuple

import jax
import jax.numpy as jnp
import pytest
from flax.training import train_state

from tests.conformance.ports._mlp import apply_mlp, init_mlp
from tests.conformance.ports._port import (
    assert_same_bits,
    assert_trains,
    cross_entropy,
    digits_batches,
    run_both,
)

STEPS, ACCUMULATE = 48, 4


def get_weight_decay_mask(exclusions):
    def decay(name, _):
        return not any(re.search(rule, name) is not None for rule in exclusions)

    def weight_decay_mask(params):
        return jax.tree_util.tree_map_with_path(
            lambda path, x: decay(jax.tree_util.keystr(path, simple=True, separator="/"), x), params
        )

    return weight_decay_mask


class OptaxScheduledWeightDecayState(NamedTuple):
    count: jax.Array


def make_optimizer(ox, kind, weight_decay_mask):
    def optax_add_scheduled_weight_decay(schedule_fn, mask=None):
        def init_fn(params):
            del params
            return OptaxScheduledWeightDecayState(count=jnp.zeros([], jnp.int32))

        def update_fn(updates, state, params):
            weight_decay = schedule_fn(state.count)
            updates = jax.tree_util.tree_map(lambda g, p: g + weight_decay * p, updates, params)
            return updates, OptaxScheduledWeightDecayState(count=ox.safe_int32_increment(state.count))

        if mask is not None:
            return ox.masked(ox.GradientTransformation(init_fn, update_fn), mask)
        return ox.GradientTransformation(init_fn, update_fn)

    if kind == "adamw":
        learning_rate_schedule = ox.warmup_cosine_decay_schedule(
            init_value=0.0, peak_value=0.01, warmup_steps=2, decay_steps=12, end_value=0.001
        )
        optimizer = ox.chain(
            ox.clip_by_global_norm(1.0),
            ox.adamw(
                learning_rate=learning_rate_schedule,
                weight_decay=1e-4,
                b1=0.9,
                b2=0.95,
                mask=weight_decay_mask,
                mu_dtype=jnp.float32,
            ),  # fmt: skip
        )
    else:

        def learning_rate_schedule(step):
            return 1.0 / jnp.sqrt(jnp.maximum(step, 10))

        def weight_decay_schedule(step):
            return -1.0 * jnp.square(learning_rate_schedule(step))

        optimizer = ox.chain(
            ox.clip_by_global_norm(1.0),
            ox.adafactor(
                learning_rate=learning_rate_schedule,
                multiply_by_parameter_scale=True,
                momentum=0.9,
                decay_rate=0.99,
                factored=False,
                clipping_threshold=None,
                dtype_momentum=jnp.float32,
            ),  # fmt: skip
            optax_add_scheduled_weight_decay(weight_decay_schedule, weight_decay_mask),
        )
    return ox.MultiSteps(optimizer, ACCUMULATE)


def make_run(kind):
    def run(ox):
        params = init_mlp(8)
        mask = get_weight_decay_mask(("bias", "layernorm"))
        tx = make_optimizer(ox, kind, mask)
        state = train_state.TrainState.create(apply_fn=apply_mlp, params=params, tx=tx)

        @jax.jit
        def train_step(state, batch):
            loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply_mlp(p, batch[0]), batch[1]))(
                state.params
            )
            return state.apply_gradients(grads=grads), loss

        losses = []
        for batch in digits_batches(STEPS, seed=8):
            state, loss = train_step(state, batch)
            losses.append(loss)
        return state, losses

    return run


@pytest.mark.parametrize(
    "kind",
    [
        "adamw",
        "palm",
    ],
)
def test_easylm_port_is_bit_identical_to_optax(kind):
    # EasyLM's PaLM schedule takes jnp.maximum(int32 step, Python int) and the user weight-decay transform
    # multiplies float32 params by it: not strict-promotion safe, so the gdx side runs standard too.
    (ref, ref_losses), (got, got_losses) = run_both(make_run(kind), gdx_promotion="standard")
    assert_trains(ref_losses)
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got.params, ref.params, "params")
    assert_same_bits(got.opt_state, ref.opt_state, "opt_state")

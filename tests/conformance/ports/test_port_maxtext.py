"""Port of MaxText's optimizer setup: AdamW with `mu_dtype`, warmup + cosine + zero tail.

Sources: AI-Hypercomputer/maxtext, MaxText/optimizers.py (`get_optimizer`:
`optax.adamw(learning_rate_schedule, b1=, b2=, eps=, eps_root=,
weight_decay=, mu_dtype=config.mu_dtype)`) and MaxText/maxtext_utils.py
(`create_learning_rate_schedule`: `optax.join_schedules(pieces, boundaries)`
with ONE BOUNDARY PER PIECE -- `[warmup_steps, warmup_steps + cos_steps,
warmup_steps + cos_steps + constant_zero_steps]` -- a user-written cosine, and
`optax.constant_schedule(0.0)` for the tail). Reduced: the decoder is a plain
jax MLP on sklearn's digits; `mu_dtype=bfloat16` (a MaxText config value).
"""

import jax
import jax.numpy as jnp

from tests.conformance.ports._mlp import apply_mlp, init_mlp
from tests.conformance.ports._port import (
    assert_same_bits,
    assert_trains,
    cross_entropy,
    digits_batches,
    run_both,
)

STEPS, SCHEDULE_STEPS, WARMUP_FRACTION = 40, 36, 0.2


def run(ox):
    def make_cos_schedule(init_lr, final_lr, len_steps):
        def schedule(step):
            pct = step / len_steps
            a = 0.5 * (jnp.cos(jnp.pi * pct) + 1)
            return init_lr * a + final_lr * (1 - a)

        return schedule

    def create_learning_rate_schedule(learning_rate, steps):
        cos_final_lr = learning_rate * 0.1
        warmup_steps = int(SCHEDULE_STEPS * WARMUP_FRACTION)
        cos_steps = SCHEDULE_STEPS - warmup_steps
        constant_zero_steps = steps - SCHEDULE_STEPS
        warmup_schedule = ox.linear_schedule(
            init_value=0.0, end_value=learning_rate, transition_steps=warmup_steps
        )
        cos_schedule = make_cos_schedule(learning_rate, cos_final_lr, cos_steps)
        pieces = [warmup_schedule, cos_schedule]
        boundaries = [warmup_steps, warmup_steps + cos_steps]
        if constant_zero_steps > 0:
            pieces.append(ox.constant_schedule(0.0))
            boundaries.append(warmup_steps + cos_steps + constant_zero_steps)
        return ox.join_schedules(pieces, boundaries)

    learning_rate_schedule = create_learning_rate_schedule(3e-2, STEPS)
    tx = ox.adamw(
        learning_rate_schedule,
        b1=0.9,
        b2=0.95,
        eps=1e-8,
        eps_root=0.0,
        weight_decay=0.1,
        mu_dtype=jnp.bfloat16,
    )
    params = init_mlp(6)
    opt_state = jax.jit(tx.init)(params)

    @jax.jit
    def train_step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply_mlp(p, batch[0]), batch[1]))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return ox.apply_updates(params, updates), opt_state, loss

    losses = []
    for batch in digits_batches(STEPS, seed=6):
        params, opt_state, loss = train_step(params, opt_state, batch)
        losses.append(loss)
    return params, opt_state, losses


def test_maxtext_port_is_bit_identical_to_optax():
    # MaxText's cosine divides the int32 step by a Python int: not strict-promotion safe, so the gdx side
    # (the same user code) runs under standard promotion too.
    (ref, ref_state, ref_losses), (got, got_state, got_losses) = run_both(run, gdx_promotion="standard")
    assert_trains(ref_losses)
    assert ref_state[0].mu["dense_0"]["kernel"].dtype == jnp.bfloat16
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")

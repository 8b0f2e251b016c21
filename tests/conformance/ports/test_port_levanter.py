"""Port of Levanter's AdamConfig: `inject_hyperparams` over a user chain, warmup/stable/cosine schedule.

Source: stanford-crfm/levanter, src/levanter/optim/config.py
(`OptimizerConfig.lr_scheduler`, `build_weight_decay_mask`,
`AdamConfig.build`). Reduced: the Equinox model is a plain jax MLP on
sklearn's digits and the weight-decay mask is a callable over leaf paths
(levanter's default rule: no decay on LayerNorm, embeddings, biases). Kept as
in the file: `join_schedules([linear_schedule(0.0, lr, warmup),
constant_schedule(lr), cosine_decay_schedule(lr, decay_steps, min_lr_ratio)],
[warmup, warmup + stable])`, and `inject_hyperparams(_optimizer)(
learning_rate=schedule)` where `_optimizer(learning_rate)` returns
`chain(clip_by_global_norm, scale_by_adam(b1, b2, eps),
add_decayed_weights(wd, mask_fn), scale(-learning_rate))`; the logged learning
rate is read from `opt_state.hyperparams["learning_rate"]`.
"""

import jax

from tests.conformance.ports._mlp import apply_mlp, init_mlp
from tests.conformance.ports._port import (
    assert_same_bits,
    assert_trains,
    cross_entropy,
    digits_batches,
    run_both,
)

STEPS, NUM_TRAIN_STEPS = 40, 40


def build_weight_decay_mask():
    def reasonable_default(path):
        return not ("layernorm" in path or "embedding" in path or path.endswith("bias"))

    def mask_fn(model):
        return jax.tree_util.tree_map_with_path(
            lambda p, _: reasonable_default(jax.tree_util.keystr(p, simple=True, separator=".")), model
        )

    return mask_fn


def build(ox, learning_rate=1e-2, weight_decay=0.1, warmup=0.1, stable=0.2, min_lr_ratio=0.1):
    warmup_steps = int(warmup * NUM_TRAIN_STEPS)
    stable_steps = int(stable * NUM_TRAIN_STEPS)
    lr_decay_steps = NUM_TRAIN_STEPS - warmup_steps - stable_steps
    schedule = ox.cosine_decay_schedule(learning_rate, lr_decay_steps, min_lr_ratio)
    schedules = [
        ox.linear_schedule(0.0, learning_rate, warmup_steps),
        ox.constant_schedule(learning_rate),
        schedule,
    ]
    schedule = ox.join_schedules(schedules, [warmup_steps, warmup_steps + stable_steps])

    def _optimizer(learning_rate):
        components = [
            ox.clip_by_global_norm(1.0),
            ox.scale_by_adam(0.9, 0.95, 1e-8),
            ox.add_decayed_weights(weight_decay, build_weight_decay_mask()),
            ox.scale(-learning_rate),
        ]
        return ox.chain(*components)

    return ox.inject_hyperparams(_optimizer)(learning_rate=schedule)


def run(ox):
    params = init_mlp(9)
    tx = build(ox)
    opt_state = jax.jit(tx.init)(params)

    @jax.jit
    def train_step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply_mlp(p, batch[0]), batch[1]))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return ox.apply_updates(params, updates), opt_state, loss

    losses, lrs = [], []
    for batch in digits_batches(STEPS, seed=9):
        params, opt_state, loss = train_step(params, opt_state, batch)
        losses.append(loss)
        lrs.append(opt_state.hyperparams["learning_rate"])
    return params, opt_state, losses, lrs


def test_levanter_port_is_bit_identical_to_optax():
    (ref, ref_state, ref_losses, ref_lrs), (got, got_state, got_losses, got_lrs) = run_both(run)
    assert_trains(ref_losses)
    assert_same_bits(got_lrs, ref_lrs, "hyperparams['learning_rate']")
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")

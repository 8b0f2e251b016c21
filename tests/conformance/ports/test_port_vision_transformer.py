"""Port of vision_transformer's fine-tuning loop: clip + SGD momentum with a bfloat16 accumulator.

Sources: google-research/vision_transformer, vit_jax/train.py
(`train_and_evaluate`: `optax.chain(optax.clip_by_global_norm(grad_norm_clip),
optax.sgd(learning_rate=lr_fn, momentum=0.9, accumulator_dtype='bfloat16'))`,
`make_update_fn`: `tx.update(g, opt_state)` WITHOUT params, then
`optax.apply_updates`) and vit_jax/utils.py (`create_learning_rate_schedule`
warmup + cosine written in jnp, `accumulate_gradient`). Reduced: the ViT is a
plain jax MLP on sklearn's digits, `jax.pmap` is `jax.jit` (one device).
The accumulator dtype is given as the string 'bfloat16', as in the script.
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

STEPS, ACCUM_STEPS = 30, 2


def create_learning_rate_schedule(total_steps, base, decay_type, warmup_steps, linear_end=1e-5):
    def step_fn(step):
        lr = base
        progress = jnp.clip((step - warmup_steps) / float(total_steps - warmup_steps), 0.0, 1.0)
        if decay_type == "linear":
            lr = linear_end + (lr - linear_end) * (1.0 - progress)
        elif decay_type == "cosine":
            lr = lr * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
        if warmup_steps:
            lr = lr * jnp.minimum(1.0, step / warmup_steps)
        return jnp.asarray(lr, dtype=jnp.float32)

    return step_fn


def accumulate_gradient(loss_and_grad_fn, params, images, labels, accum_steps):
    step_size = images.shape[0] // accum_steps
    l, g = loss_and_grad_fn(params, images[:step_size], labels[:step_size])
    for i in range(1, accum_steps):
        sl = slice(i * step_size, (i + 1) * step_size)
        li, gi = loss_and_grad_fn(params, images[sl], labels[sl])
        l, g = l + li, jax.tree.map(lambda x, y: x + y, g, gi)
    return l / accum_steps, jax.tree.map(lambda x: x / accum_steps, g)


def run(ox):
    lr_fn = create_learning_rate_schedule(STEPS, 0.1, "cosine", 5)
    tx = ox.chain(
        ox.clip_by_global_norm(1.0),
        ox.sgd(learning_rate=lr_fn, momentum=0.9, accumulator_dtype="bfloat16"),
    )
    params = init_mlp(10)
    opt_state = tx.init(params)

    @jax.jit
    def update_fn(params, opt_state, batch):
        def loss_fn(params, images, labels):
            return cross_entropy(apply_mlp(params, images), labels)

        l, g = accumulate_gradient(jax.value_and_grad(loss_fn), params, batch[0], batch[1], ACCUM_STEPS)
        updates, opt_state = tx.update(g, opt_state)
        return ox.apply_updates(params, updates), opt_state, l

    losses = []
    for batch in digits_batches(STEPS, seed=10):
        params, opt_state, loss = update_fn(params, opt_state, batch)
        losses.append(loss)
    return params, opt_state, losses


def test_vision_transformer_port_is_bit_identical_to_optax():
    # vit_jax's schedule divides the int32 step by Python numbers: not strict-promotion safe, so the gdx
    # side (the same user code) runs under standard promotion too.
    (ref, ref_state, ref_losses), (got, got_state, got_losses) = run_both(run, gdx_promotion="standard")
    assert_trains(ref_losses)
    assert jax.tree.leaves(ref_state)[1].dtype == jnp.bfloat16
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")

"""Port of Scenic's optimizer factory: LARS / LAMB / SGD with weight-decay masks, clipping, freezing.

Source: google-research/scenic, scenic/train_lib/optimizers.py
(`get_optimizer`, `tree_mask`). Reduced: the model is a plain jax MLP on
sklearn's digits; Scenic's compound learning-rate function is a small
user-written warmup * cosine. Kept as in the file: the
`skip_scale_and_bias_regularization` mask `tree_map(lambda x: x.ndim != 1,
params)` passed as `mask=` (lamb) or `weight_decay_mask=` (lars), SGD's
`add_decayed_weights(weight_decay, mask)` before the optimizer, the optimizer
found with `getattr(optax, config.optimizer)` and called as
`optimizer_fn(learning_rate=fn, **config)`, `clip_by_global_norm` ahead of it,
and freezing by `re.search` regex with `masked(optimizer, unfreeze_mask)` then
`masked(set_to_zero(), freeze_mask)` last.
"""

import re

import jax
import jax.numpy as jnp
import pytest

from tests.conformance.ports._mlp import apply_mlp, init_mlp
from tests.conformance.ports._port import (
    assert_same_bits,
    assert_trains,
    cross_entropy,
    digits_batches,
    run_both,
)

STEPS, WARMUP, TOTAL = 30, 5, 40


def learning_rate_fn(base):
    def fn(step):
        warmup = jnp.minimum(1.0, step / WARMUP)
        return base * warmup * 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.minimum(step / TOTAL, 1.0)))

    return fn


def tree_mask(params, reg_exp):
    pattern = re.compile(reg_exp)
    return jax.tree_util.tree_map_with_path(
        lambda path, _: bool(pattern.search(jax.tree_util.keystr(path, simple=True, separator="/"))), params
    )


def get_optimizer(ox, config, learning_rate_fn, params):
    config = dict(config)
    weight_decay_mask = None
    if config.pop("skip_scale_and_bias_regularization", False) and config.get("weight_decay", 0):
        weight_decay_mask = jax.tree_util.tree_map(lambda x: x.ndim != 1, params)
    optim_ops = []
    if config["optimizer"] == "sgd" and "weight_decay" in config:
        if config["weight_decay"]:
            optim_ops.append(ox.add_decayed_weights(config["weight_decay"], weight_decay_mask))
        del config["weight_decay"]
    if weight_decay_mask and config["optimizer"] in {"adamw", "lamb", "adamaxw"}:
        config["mask"] = weight_decay_mask
    elif weight_decay_mask and config["optimizer"] in {"adafactor", "lars"}:
        config["weight_decay_mask"] = weight_decay_mask
    clip_value = config.pop("grad_clip", None)
    if clip_value is not None:
        optim_ops.append(ox.clip_by_global_norm(clip_value))
    freeze_mask = unfreeze_mask = None
    if config.get("freeze_params_reg_exp") is not None:
        freeze_mask = tree_mask(params, config.pop("freeze_params_reg_exp"))
        unfreeze_mask = jax.tree_util.tree_map(lambda x: not x, freeze_mask)
    optimizer_fn = getattr(ox, config.pop("optimizer"))
    optax_optimizer = optimizer_fn(learning_rate=learning_rate_fn, **config)
    if unfreeze_mask:
        optax_optimizer = ox.masked(optax_optimizer, unfreeze_mask)
    optim_ops.append(optax_optimizer)
    if freeze_mask:
        optim_ops.append(ox.masked(ox.set_to_zero(), freeze_mask))
    return ox.chain(*optim_ops)


CONFIGS = {
    "lars": dict(
        optimizer="lars",
        weight_decay=1e-4,
        momentum=0.9,
        skip_scale_and_bias_regularization=True,
        grad_clip=1.0,
    ),
    "lamb": dict(optimizer="lamb", weight_decay=1e-4, skip_scale_and_bias_regularization=True, grad_clip=1.0),
    "sgd": dict(
        optimizer="sgd",
        weight_decay=1e-4,
        momentum=0.9,
        nesterov=True,
        skip_scale_and_bias_regularization=True,
        grad_clip=1.0,
        freeze_params_reg_exp="layernorm",
    ),  # fmt: skip
}
BASE_LR = {"lars": 3.0, "lamb": 0.05, "sgd": 0.1}


def make_run(name):
    def run(ox):
        params = init_mlp(7)
        tx = get_optimizer(ox, CONFIGS[name], learning_rate_fn(BASE_LR[name]), params)
        opt_state = jax.jit(tx.init)(params)

        @jax.jit
        def train_step(params, opt_state, batch):
            loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply_mlp(p, batch[0]), batch[1]))(
                params
            )
            updates, opt_state = tx.update(grads, opt_state, params)
            return ox.apply_updates(params, updates), opt_state, loss

        losses = []
        for batch in digits_batches(STEPS, seed=7):
            params, opt_state, loss = train_step(params, opt_state, batch)
            losses.append(loss)
        return params, opt_state, losses

    return run


@pytest.mark.parametrize(
    "name",
    [
        "lars",
        "lamb",
        "sgd",
    ],
)
def test_scenic_port_is_bit_identical_to_optax(name):
    # Scenic's learning-rate function divides the int32 step by Python ints: not strict-promotion safe,
    # so the gdx side (the same user code) runs under standard promotion too.
    (ref, ref_state, ref_losses), (got, got_state, got_losses) = run_both(
        make_run(name), gdx_promotion="standard"
    )
    assert_trains(ref_losses)
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")

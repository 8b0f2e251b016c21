"""Port of big_vision's optax factory: a chain of masked clip, optimizer, lr, weight decay, schedules.

Source: google-research/big_vision, big_vision/optax.py (`make`,
`_split_frozen`, `scale_by_adafactor`, `get_count`, `find_states`).
Reduced: the ViT is a dict of named linen-style params; big_vision's utils
helpers (`make_mask_trees`, `create_learning_rate_schedule`) are re-written
small here. Kept as in the file: freezing by regex with schedule `None`
(`masked(set_to_zero(), frozen_mask)`), `masked(clip_by_global_norm(...),
not_frozen_mask)`, the optimizer looked up by name with
`operator.attrgetter(config.optax_name)(optax)`, `scale(config.lr)`,
`add_decayed_weights(wd * mult, mask)` on `.*/kernel$`, one
`masked(scale_by_schedule(fn), mask)` per schedule group, the final
`scale(-1.0)`, and `get_count` reading `ScaleByScheduleState.count` by
`isinstance` on the optimizer's own state class. The adafactor variant builds
big_vision's `scale_by_factored_rms(decay_rate_fn=...)`, `clip_by_block_rms`,
`ema(debias=False, accumulator_dtype=bfloat16)` chain.
"""

import operator
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.conformance.ports._port import (
    assert_same_bits,
    assert_trains,
    cross_entropy,
    digits_batches,
    run_both,
)

STEPS, TOTAL_STEPS = 30, 40


def init_params():
    keys = jax.random.split(jax.random.key(5), 3)
    return {
        "embedding": {"kernel": 0.1 * jax.random.normal(keys[0], (64, 32)), "bias": jnp.zeros((32,))},
        "encoder": {"kernel": 0.1 * jax.random.normal(keys[1], (32, 32)), "scale": jnp.ones((32,))},
        "head": {"kernel": 0.1 * jax.random.normal(keys[2], (32, 10)), "bias": jnp.zeros((10,))},
    }


def apply(params, x):
    x = jax.nn.relu(x @ params["embedding"]["kernel"] + params["embedding"]["bias"])
    x = jax.nn.relu(x @ params["encoder"]["kernel"]) * params["encoder"]["scale"]
    return x @ params["head"]["kernel"] + params["head"]["bias"]


def make_mask_trees(params, patterns):
    """Each leaf belongs to the first pattern that matches its 'a/b' name (big_vision's rule)."""
    names = {
        jax.tree_util.keystr(path, simple=True, separator="/"): path
        for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]
    }
    owner = {name: next((i for i, p in enumerate(patterns) if re.fullmatch(p, name)), None) for name in names}
    return [
        jax.tree_util.tree_map_with_path(
            lambda path, _, i=i: owner[jax.tree_util.keystr(path, simple=True, separator="/")] == i, params
        )
        for i in range(len(patterns))
    ]


def create_learning_rate_schedule(total_steps, base=1.0, decay_type="cosine", warmup_steps=0):
    def step_fn(step):
        lr = base
        progress = jnp.clip((step - warmup_steps) / float(total_steps - warmup_steps), 0.0, 1.0)
        if decay_type == "cosine":
            lr = lr * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
        if warmup_steps:
            lr = lr * jnp.minimum(1.0, step / warmup_steps)
        return jnp.asarray(lr, dtype=jnp.float32)

    return step_fn


def big_vision_adafactor(ox):
    def scale_by_adafactor(
        min_dim_size_to_factor=32, decay_rate=0.8, decay_offset=0, beta2_cap=0.999, clipping_threshold=None,
        momentum=0.9, dtype_momentum=jnp.bfloat16, eps=1e-30,
    ):  # fmt: skip
        def _decay_rate_pow(i, exponent):
            t = jnp.array(i, jnp.float32) + 1.0
            return jnp.minimum(beta2_cap, 1.0 - t ** (-exponent))

        scale_by_rms = ox.scale_by_factored_rms(
            factored=True, decay_rate=decay_rate, step_offset=decay_offset,
            min_dim_size_to_factor=min_dim_size_to_factor, epsilon=eps, decay_rate_fn=_decay_rate_pow,
        )  # fmt: skip
        clip = ox.clip_by_block_rms(clipping_threshold) if clipping_threshold else ox.identity()
        mom = ox.ema(momentum, debias=False, accumulator_dtype=dtype_momentum) if momentum else ox.identity()
        return ox.chain(scale_by_rms, clip, mom)

    return scale_by_adafactor


def make(ox, config, params, *, sched_kw):
    schedule = config["schedule"]
    patterns, scheds = zip(*schedule)
    masks = make_mask_trees(params, patterns)
    frozen_masks = [m for m, s in zip(masks, scheds) if s is None]
    frozen_mask = jax.tree.map(lambda *bools: any(bools), *frozen_masks)
    masks, scheds = zip(*((m, s) for m, s in zip(masks, scheds) if s is not None))
    not_frozen_mask = jax.tree.map(operator.not_, frozen_mask)
    schedule_fns = [create_learning_rate_schedule(**sched_kw, base=s.pop("mult", 1.0), **s) for s in scheds]
    schedule_txs = [ox.masked(ox.scale_by_schedule(fn), mask) for fn, mask in zip(schedule_fns, masks)] + [
        ox.masked(ox.set_to_zero(), frozen_mask)
    ]
    grad_clip_norm_tx = ox.masked(ox.clip_by_global_norm(config["grad_clip_norm"]), not_frozen_mask)
    if config["optax_name"] == "big_vision.scale_by_adafactor":
        tx_func = big_vision_adafactor(ox)
    else:
        tx_func = operator.attrgetter(config["optax_name"])(ox)
    opt_txs = [ox.masked(tx_func(**config.get("optax", {})), not_frozen_mask)]
    lr_mult_txs = [ox.scale(config["lr"])]
    (wd_mask,) = make_mask_trees(params, [".*/kernel$"])
    weight_decay_txs = [ox.add_decayed_weights(config["wd"] * 1.0, wd_mask)]
    return ox.chain(
        grad_clip_norm_tx, *opt_txs, *lr_mult_txs, *weight_decay_txs, *schedule_txs, ox.scale(-1.0)
    ), schedule_fns


def get_count(ox, opt_state):
    leaves = jax.tree.leaves(opt_state, is_leaf=lambda n: isinstance(n, ox.ScaleByScheduleState))
    counts = {int(s.count) for s in leaves if isinstance(s, ox.ScaleByScheduleState)}
    assert len(counts) == 1, f"Expected exactly 1 ScaleByScheduleState count: {counts}"
    return next(iter(counts))


CONFIGS = {
    "scale_by_adam": dict(optax_name="scale_by_adam", optax=dict(b2=0.95), lr=0.01),
    "big_vision.scale_by_adafactor": dict(optax_name="big_vision.scale_by_adafactor", lr=0.05),
}


def make_run(name):
    def run(ox):
        params = init_params()
        config = dict(
            CONFIGS[name],
            grad_clip_norm=1.0,
            wd=1e-4,
            schedule=[
                ("embedding/.*", None),
                ("head/.*", dict(decay_type="cosine", warmup_steps=5, mult=2.0)),
                (".*", dict(decay_type="cosine", warmup_steps=5)),
            ],
        )
        tx, _ = make(ox, config, params, sched_kw=dict(total_steps=TOTAL_STEPS))
        opt_state = jax.jit(tx.init)(params)

        @jax.jit
        def update_fn(params, opt_state, batch):
            loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply(p, batch[0]), batch[1]))(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return ox.apply_updates(params, updates), opt_state, loss

        start = params
        losses = []
        for batch in digits_batches(STEPS, seed=5):
            params, opt_state, loss = update_fn(params, opt_state, batch)
            losses.append(loss)
        return params, opt_state, losses, get_count(ox, opt_state), start

    return run


@pytest.mark.parametrize("name", list(CONFIGS))
def test_big_vision_port_is_bit_identical_to_optax(name):
    # big_vision's schedules divide the int32 step by Python floats: not strict-promotion safe, so the
    # gdx side (the same user code) runs under standard promotion too.
    (ref, ref_state, ref_losses, ref_count, start), (got, got_state, got_losses, got_count, _) = run_both(
        make_run(name), gdx_promotion="standard"
    )
    assert_trains(ref_losses)
    assert got_count == ref_count == STEPS
    # Frozen params stay put on both sides (schedule None -> masked set_to_zero).
    np.testing.assert_array_equal(got["embedding"]["kernel"], start["embedding"]["kernel"])
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")

"""Port of DreamerV3's optimizer: user transforms built on optax's moment helpers, chained with optax's.

Sources: danijar/dreamerv3, embodied/jax/opt.py (`clip_by_agc`,
`scale_by_rms`, `scale_by_momentum` written with
`optax.safe_int32_increment`, `optax.update_moment`,
`optax.bias_correction`, `optax.GradientTransformation`; the `Optimizer`
module's `opt.update(grads, state, params)`, `optax.apply_updates`,
`optax.global_norm`) and dreamerv3/agent.py (`_make_opt`: `chain(clip_by_agc,
scale_by_rms, scale_by_momentum, add_decayed_weights(wd, <regex mask fn over
'a/b/kernel' keys>), scale_by_learning_rate(join_schedules([ramp, sched],
[warmup])))`). Reduced: the world model is a plain jax MLP whose params are a
flat dict keyed by '/'-paths, as ninjax gives them.
"""

import re

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

STEPS = 40
f32, i32 = jnp.float32, jnp.int32


def flat(params):
    return {
        jax.tree_util.keystr(p, simple=True, separator="/"): x
        for p, x in jax.tree_util.tree_leaves_with_path(params)
    }


def unflat(flat_params):
    nested = {}
    for key, value in flat_params.items():
        outer, inner = key.split("/")
        nested.setdefault(outer, {})[inner] = value
    return nested


def make_opt(ox, lr=4e-3, agc=0.3, eps=1e-20, beta1=0.9, beta2=0.999, nesterov=False, wd=1e-2, warmup=8):
    def clip_by_agc(clip=0.3, pmin=1e-3):
        def update_fn(updates, state, params=None):
            def fn(param, update):
                unorm = jnp.linalg.norm(update.flatten(), 2)
                pnorm = jnp.linalg.norm(param.flatten(), 2)
                upper = clip * jnp.maximum(pmin, pnorm)
                return update * (1 / jnp.maximum(1.0, unorm / upper))

            return (jax.tree.map(fn, params, updates) if clip else updates), ()

        return ox.GradientTransformation(lambda params: (), update_fn)

    def scale_by_rms(beta=0.999, eps=1e-8):
        def init_fn(params):
            return (jnp.zeros((), i32), jax.tree.map(lambda t: jnp.zeros_like(t, f32), params))

        def update_fn(updates, state, params=None):
            step, nu = state
            step = ox.safe_int32_increment(step)
            nu = jax.tree.map(lambda v, u: beta * v + (1 - beta) * (u * u), nu, updates)
            nu_hat = ox.bias_correction(nu, beta, step)
            return jax.tree.map(lambda u, v: u / (jnp.sqrt(v) + eps), updates, nu_hat), (step, nu)

        return ox.GradientTransformation(init_fn, update_fn)

    def scale_by_momentum(beta=0.9, nesterov=False):
        def init_fn(params):
            return (jnp.zeros((), i32), jax.tree.map(lambda t: jnp.zeros_like(t, f32), params))

        def update_fn(updates, state, params=None):
            step, mu = state
            step = ox.safe_int32_increment(step)
            mu = ox.update_moment(updates, mu, beta, 1)
            if nesterov:
                mu_hat = ox.bias_correction(ox.update_moment(updates, mu, beta, 1), beta, step)
            else:
                mu_hat = ox.bias_correction(mu, beta, step)
            return mu_hat, (step, mu)

        return ox.GradientTransformation(init_fn, update_fn)

    chain = [clip_by_agc(agc), scale_by_rms(beta2, eps), scale_by_momentum(beta1, nesterov)]
    pattern = re.compile(r"/kernel$")
    chain.append(ox.add_decayed_weights(wd, lambda params: {k: bool(pattern.search(k)) for k in params}))
    sched = ox.constant_schedule(lr)
    ramp = ox.linear_schedule(0.0, lr, warmup)
    chain.append(ox.scale_by_learning_rate(ox.join_schedules([ramp, sched], [warmup])))
    return ox.chain(*chain)


def run(ox):
    opt = make_opt(ox)
    params = flat(init_mlp(11))
    state = opt.init(params)

    @jax.jit
    def train(params, state, batch):
        loss, grads = jax.value_and_grad(lambda p: cross_entropy(apply_mlp(unflat(p), batch[0]), batch[1]))(
            params
        )
        updates, state = opt.update(grads, state, params)
        return ox.apply_updates(params, updates), state, {"loss": loss, "grad_norm": ox.global_norm(grads)}

    losses, norms = [], []
    for batch in digits_batches(STEPS, seed=11):
        params, state, metrics = train(params, state, batch)
        losses.append(metrics["loss"])
        norms.append(metrics["grad_norm"])
    return params, state, losses, norms


def test_dreamerv3_port_is_bit_identical_to_optax():
    (ref, ref_state, ref_losses, ref_norms), (got, got_state, got_losses, got_norms) = run_both(run)
    assert_trains(ref_losses)
    assert_same_bits(got_norms, ref_norms, "global_norm(grads)")
    assert_same_bits(got_losses, ref_losses, "losses")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")

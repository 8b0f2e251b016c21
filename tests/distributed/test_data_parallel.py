"""Data parallelism keeps every contract optimizer's numbers (gdx.distributed, issue 7).

- `jax.pmap` over 8 devices with `chain(average_gradients('batch'), tx)` and
  per-device batch shards takes the same steps as `tx` on the full batch on one device;
- `jax.jit` with sharded params and a sharded batch gives the single-device numbers;
- `jax.shard_map` with per-shard gradients and `average_gradients` inside does too.

The pmap case reuses the loss of `tests.test_contract` (whose own pmap test is
one step with a hand-written `pmean`); here the averaging is the transformation,
the run has several steps with a new batch each, and the state is carried.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import gdx
from tests.test_contract import PLAIN_CASES as CASES
from tests.test_contract import PLAIN_IDS as IDS
from tests.test_contract import quadratic_loss, quadratic_params

DEVICES = 8
STEPS = 3
MESH = jax.make_mesh((DEVICES,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))
# float32 sums in a different order (per-shard then across shards): agree to 1e-5, as the brief asks.
RTOL, ATOL = 1e-5, 1e-6
# soap's Gram matrices G G^T of a sharded G are summed across devices in another order,
# and its eigenvectors move by ~ulp / eigenvalue gap: entries of size ~1e-2 differ by
# ~2e-6 after 3 steps (params of size ~0.5), so soap gets atol 1e-5 in the jit test.
ATOL_BY_CASE = {"soap": 1e-5}


def contract_loss(params, targets):
    """The contract's pmap loss: the quadratic shifted by the mean target of the batch."""
    return quadratic_loss(jax.tree.map(lambda p: p - jnp.mean(targets), params))


def assert_same_state(got, want):
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        if jnp.issubdtype(g.dtype, jax.dtypes.prng_key):  # noisy_sgd keeps a PRNG key
            g, w = jax.random.key_data(g), jax.random.key_data(w)
        # Not bitwise: an init that reduces over the params (dog's initial distance from
        # the param norm) sums the shards in another order, 1 ulp.
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=0)


def assert_trees_close(got, want, atol=ATOL):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g, np.float32), np.asarray(w, np.float32), rtol=RTOL, atol=atol)


def run_steps(tx, loss, params, batches, average_over=None, state=None):
    """`STEPS` steps, one batch each, as one `lax.scan` (one compile); `state` defaults to `tx.init`."""
    if average_over is not None:
        tx = gdx.chain(gdx.distributed.average_gradients(average_over), tx)

    def body(carry, batch):
        params, state = carry
        updates, state = tx.update(jax.grad(loss)(params, batch), state, params)
        return (gdx.apply_updates(params, updates), state), None

    state = tx.init(params) if state is None else state
    (params, _), _ = jax.lax.scan(body, (params, state), batches)
    return params


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pmap_with_average_gradients_equals_full_batch_steps(case):
    tx = case.make(0.01)
    params = quadratic_params()
    # (steps, devices, per-device batch): a different batch every step.
    targets = jnp.linspace(-1.0, 1.0, STEPS * DEVICES * 2).reshape(STEPS, DEVICES, 2) ** 3

    def per_device(params, batches):
        return run_steps(tx, contract_loss, params, batches, average_over="batch")

    replicated = jax.tree.map(lambda x: jnp.broadcast_to(x, (DEVICES, *x.shape)), params)
    got = jax.pmap(per_device, axis_name="batch")(replicated, jnp.swapaxes(targets, 0, 1))
    want = jax.jit(lambda p, b: run_steps(tx, contract_loss, p, b))(params, targets.reshape(STEPS, -1))
    assert_trees_close(jax.tree.map(lambda x: x[0], got), want)
    for leaf in jax.tree.leaves(got):  # every device holds the same params
        np.testing.assert_array_equal(leaf, jnp.broadcast_to(leaf[0], leaf.shape))


def test_pmap_lbfgs_with_zoom_linesearch_takes_full_batch_extras():
    # The contract case is lbfgs(linesearch=None), which needs no extras. With its default
    # zoom linesearch, lbfgs also needs value=, grad= and value_fn=: pass the full-batch
    # ones (pmean of the per-shard loss and gradient; a value_fn that pmeans the loss).
    tx = gdx.lbfgs()
    dp_tx = gdx.chain(gdx.distributed.average_gradients("batch"), tx)
    targets = jnp.linspace(-1.0, 1.0, STEPS * DEVICES * 2).reshape(STEPS, DEVICES, 2) ** 3

    def run(tx, params, batches, mean):
        def body(carry, batch):
            params, state = carry
            value_fn = lambda p: mean(contract_loss(p, batch))  # noqa: E731
            value, grad = mean(jax.value_and_grad(contract_loss)(params, batch))
            updates, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=value_fn)
            return (gdx.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(body, (params, tx.init(params)), batches)
        return params

    params = quadratic_params()
    replicated = jax.tree.map(lambda x: jnp.broadcast_to(x, (DEVICES, *x.shape)), params)
    pmean = lambda tree: jax.lax.pmean(tree, "batch")  # noqa: E731
    got = jax.pmap(lambda p, b: run(dp_tx, p, b, pmean), axis_name="batch")(
        replicated, jnp.swapaxes(targets, 0, 1)
    )
    want = jax.jit(lambda p, b: run(tx, p, b, lambda tree: tree))(params, targets.reshape(STEPS, -1))
    assert_trees_close(jax.tree.map(lambda x: x[0], got), want)


# Leaves split over 8 devices along different dimensions, and a replicated one.
PARAM_SPECS = {"w": P("batch", None), "v": P(None, "batch"), "b": P()}


def regression_params():
    key_w, key_v = jax.random.split(jax.random.key(0))
    return {
        "w": jax.random.normal(key_w, (8, 4), jnp.float32) / 3,
        "v": jax.random.normal(key_v, (4, 16), jnp.float32) / 4,
        "b": jnp.array([0.1, -0.2, 0.3], jnp.float32),
    }


def regression_loss(params, batch):
    x, y = batch
    hidden = jnp.tanh(x @ params["w"])  # (n, 4)
    prediction = hidden @ params["v"]  # (n, 16)
    return jnp.mean((prediction[:, :3] + params["b"][None, :] - y) ** 2) + 0.1 * jnp.mean(
        prediction[:, 3:] ** 2
    )


def regression_batches(per_step=16):
    key_x, key_y = jax.random.split(jax.random.key(1))
    return jax.random.normal(key_x, (STEPS, per_step, 8)), jax.random.normal(key_y, (STEPS, per_step, 3))


def shifted_quadratic(params, targets):
    """The contract's loss on shardable leaves: curvature 1 / 10 / 100 per leaf, shifted by the batch mean.

    The targets are multiples of 1/4, so their mean over a sharded batch is exact in
    float32 in any summation order: sharded and single-device runs get bitwise equal
    gradients, and the comparison checks the optimizer on sharded arrays, not round-off
    (some optimizers amplify a one-ulp change of the gradient a lot: soap's eigenbases).
    """
    shift = jnp.mean(targets)
    curvature = {"w": 1.0, "v": 10.0, "b": 100.0}
    return sum(0.5 * curvature[k] * jnp.sum((p - shift) ** 2) for k, p in params.items())


def shardable_params():
    key_w, key_v = jax.random.split(jax.random.key(0))
    # Square matrices: a non-square one has a rank-deficient Gram matrix G G^T, whose
    # null-space eigenvectors are arbitrary; soap runs Adam on the round-off living in
    # those directions (normalised to O(1) steps), so any change of summation order
    # changes its result by ~1e-2. With full-rank Gram matrices it agrees to 1e-5.
    return {
        "w": jax.random.normal(key_w, (8, 8), jnp.float32),
        "v": jax.random.normal(key_v, (16, 16), jnp.float32) / 4,
        "b": jnp.array([0.1, -0.2, 0.3], jnp.float32),
    }


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jit_with_sharded_params_and_batch_equals_single_device(case):
    tx = case.make(0.01)
    params = shardable_params()
    targets = jnp.round(4 * jax.random.normal(jax.random.key(1), (STEPS, 16))) / 4
    run = jax.jit(lambda p, s, t: run_steps(tx, shifted_quadratic, p, t, state=s))
    state = tx.init(params)
    want = run(params, state, targets)

    sharded_params = {k: jax.device_put(v, NamedSharding(MESH, PARAM_SPECS[k])) for k, v in params.items()}
    sharded_targets = jax.device_put(targets, NamedSharding(MESH, P(None, "batch")))
    # The state starts out laid out like the params (init_sharded works for every case).
    sharded_state = gdx.distributed.init_sharded(tx, sharded_params)
    assert_same_state(sharded_state, state)
    got = run(sharded_params, sharded_state, sharded_targets)
    assert_trees_close(got, want, atol=ATOL_BY_CASE.get(case.name, ATOL))
    assert not got["w"].sharding.is_fully_replicated  # the run really was sharded


def test_shard_map_step_with_average_gradients_equals_single_device_step():
    tx = gdx.adamw(0.01)
    params, (x, y) = regression_params(), regression_batches()
    sharded_tx = gdx.chain(gdx.distributed.average_gradients("batch"), tx)

    # The pattern of docs/guides/distributed.md: params and state replicated (P()), batch split
    # along "batch".
    # `pcast(..., to="varying")`: differentiate this device's copy of the params, so `grad`
    # returns this shard's gradient (of a replicated, "unvarying" input, shard_map's
    # `grad` would return the psum over the shards instead).
    @jax.jit
    @jax.shard_map(mesh=MESH, in_specs=(P(), P(), P("batch")), out_specs=(P(), P()))
    def step(params, state, batch):
        local_params = jax.lax.pcast(params, "batch", to="varying")
        grads = jax.grad(regression_loss)(local_params, batch)  # this shard's gradient
        updates, state = sharded_tx.update(grads, state, params)  # averaged over "batch" first
        return gdx.apply_updates(params, updates), state

    state = sharded_tx.init(params)
    reference, reference_state = params, tx.init(params)
    reference_step = jax.jit(lambda p, s, b: _plain_step(tx, p, s, b))
    for i in range(STEPS):
        params, state = step(params, state, (x[i], y[i]))
        reference, reference_state = reference_step(reference, reference_state, (x[i], y[i]))
    assert_trees_close(params, reference)
    assert_trees_close(state[1], reference_state)


def _plain_step(tx, params, state, batch):
    updates, state = tx.update(jax.grad(regression_loss)(params, batch), state, params)
    return gdx.apply_updates(params, updates), state


def test_average_gradients_is_stateless_and_rejects_a_bad_axis_name():
    assert gdx.distributed.average_gradients("batch").init({"w": jnp.ones(3)}) == gdx.EmptyState()
    with pytest.raises(TypeError, match="axis_name"):
        gdx.distributed.average_gradients(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="axis_name"):
        gdx.distributed.average_gradients(["batch"])  # type: ignore[arg-type]

"""`gdx.fuse`: same numbers and state as the unfused transformation, on packed buffers.

Fused and unfused runs are compared after every step with float32 rtol 1e-5,
atol 1e-6 (not bit-identical: the global norm and trust-ratio norms sum the
packed buffers in a different order than leaf by leaf) and bfloat16 rtol/atol
1e-2. The tree has 12 small leaves of mixed shapes (scalars included), 2 large
leaves and a bfloat16 leaf; a low `pack_leaves_below` and `max_bucket_size`
give several buckets per dtype, runs of equal-size leaves, and per-leaf leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import gdx
from gdx.fused._packing import PackedTree
from tests.parity.harness import grad_sequence, run_trajectory

OPTAX_ADAM: Any = optax.adam(1e-2)  # an optax member: fuse cannot vouch for it
FUSE_ARGS = dict(pack_leaves_below=64, max_bucket_size=40)
STEPS = 20


def make_params() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    shapes = [(), (3,), (4, 3), (2, 3, 4), (5,), (), (7,), (2, 2), (6,), (3, 3), (1,), (7,)]
    small = [jnp.asarray(rng.standard_normal(s, dtype=np.float32)) for s in shapes]
    return {
        "block": {"kernel": small[2], "bias": small[1], "scale": small[0]},
        "conv": (small[3], small[4]),
        "misc": small[5:],
        "big": {"kernel": jnp.asarray(rng.standard_normal((8, 10), dtype=np.float32))},
        "embedding": jnp.asarray(rng.standard_normal(100, dtype=np.float32)),
        "half": jnp.asarray(rng.standard_normal((6, 2), dtype=np.float32), jnp.bfloat16),
    }


def no_bias(params: Any) -> Any:
    """A mask callable: decay every leaf except biases and scalars."""
    return jax.tree_util.tree_map_with_path(lambda path, x: "bias" not in str(path) and x.ndim > 0, params)


schedule = gdx.warmup_cosine_decay_schedule(0.0, 1e-2, 5, STEPS)
CASES: dict[str, Callable[[], gdx.GradientTransformation]] = {
    "sgd": lambda: gdx.sgd(0.1),
    "sgd_momentum": lambda: gdx.sgd(0.1, momentum=0.9),
    "sgd_nesterov": lambda: gdx.sgd(0.1, momentum=0.9, nesterov=True),
    "adagrad": lambda: gdx.adagrad(0.1),
    "rmsprop": lambda: gdx.rmsprop(0.01),
    "rmsprop_centered_momentum": lambda: gdx.rmsprop(0.01, centered=True, momentum=0.9),
    "adam": lambda: gdx.adam(1e-2),
    "adamw": lambda: gdx.adamw(1e-2, weight_decay=0.1),
    "adamw_mask": lambda: gdx.adamw(1e-2, weight_decay=0.1, mask=no_bias),
    "nadam": lambda: gdx.nadam(1e-2),
    "nadamw": lambda: gdx.nadamw(1e-2, weight_decay=0.1),
    "adamax": lambda: gdx.adamax(1e-2),
    "adamaxw": lambda: gdx.adamaxw(1e-2, weight_decay=0.1),
    "amsgrad": lambda: gdx.amsgrad(1e-2),
    "lion": lambda: gdx.lion(1e-3, weight_decay=0.1),
    "lamb": lambda: gdx.lamb(1e-2, weight_decay=0.01, mask=no_bias),
    "lars": lambda: gdx.lars(0.1, weight_decay=0.01, trust_ratio_mask=no_bias),
    "yogi": lambda: gdx.yogi(1e-2),
    "adabelief": lambda: gdx.adabelief(1e-2),
    "radam": lambda: gdx.radam(1e-2),
    "rprop": lambda: gdx.rprop(1e-2),
    "clip_adamw_schedule": lambda: gdx.chain(
        gdx.clip_by_global_norm(1.0), gdx.adamw(schedule, weight_decay=0.1, mask=no_bias)
    ),
    "named_chain": lambda: gdx.named_chain(
        ("clip", gdx.clip_by_global_norm(1.0)), ("opt", gdx.masked(gdx.adam(1e-2), no_bias))
    ),
}


def assert_close(got: Any, expected: Any, where: str) -> None:
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype, f"{where}: dtype {got.dtype} != unfused {expected.dtype}"
    assert got.shape == expected.shape, f"{where}: shape {got.shape} != unfused {expected.shape}"
    if got.dtype == np.dtype(jnp.bfloat16):
        np.testing.assert_allclose(
            got.astype(np.float32), expected.astype(np.float32), 1e-2, 1e-2, err_msg=where
        )
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=where)


def assert_trees_close(got: Any, expected: Any, what: str) -> None:
    got_leaves, got_def = jax.tree_util.tree_flatten_with_path(got)
    expected_leaves, expected_def = jax.tree_util.tree_flatten_with_path(expected)
    got_paths = [jax.tree_util.keystr(p) for p, _ in got_leaves]
    assert got_paths == [jax.tree_util.keystr(p) for p, _ in expected_leaves], f"{what}: layouts differ"
    for (path, g), (_, e) in zip(got_leaves, expected_leaves):
        assert_close(g, e, f"{what}{jax.tree_util.keystr(path)}")


@pytest.mark.parametrize("name", list(CASES))
def test_fused_equals_unfused_every_step_and_state_view(name):
    params = make_params()
    tx = CASES[name]()
    common: dict[str, Any] = dict(steps=STEPS, seed=1, apply_updates=gdx.apply_updates)
    trajectory, state = run_trajectory(tx, params, **common)
    fused_trajectory, fused_state = run_trajectory(gdx.fuse(tx, **FUSE_ARGS), params, **common)
    assert_trees_close(fused_trajectory, trajectory, "params (all steps)")
    assert isinstance(fused_state, gdx.FusedState)
    assert_trees_close(gdx.fuse_state_view(fused_state), state, "state")


def test_layout_buckets_by_dtype_and_size_and_keeps_large_leaves():
    params = make_params()
    state = gdx.fuse(gdx.adam(1e-2), **FUSE_ARGS).init(params)
    spec = state.layout.spec
    leaves = jax.tree.leaves(params)
    assert sorted(leaves[i].size for i in spec.per_leaf) == [80, 100]
    for bucket in spec.buckets:
        assert len({leaves[i].dtype for i in bucket.leaves}) == 1
        assert sum(leaves[i].size for i in bucket.leaves) <= FUSE_ARGS["max_bucket_size"]
    assert all(o.dtype == jnp.int32 for o in jax.tree.leaves(state.layout))
    mu = state.inner_state[0].mu
    assert isinstance(mu, PackedTree) and len(mu.buckets) == len(spec.buckets)


def test_state_pack_inverts_view_and_a_run_can_switch_to_fuse():
    params = make_params()
    tx = gdx.adamw(1e-2, weight_decay=0.1, mask=no_bias)
    fused = gdx.fuse(tx, **FUSE_ARGS)
    grads = jax.tree.map(lambda x: x[0], grad_sequence(params, 1, seed=3))
    _, unfused_state = tx.update(grads, tx.init(params), params)
    packed = gdx.fuse_state_pack(unfused_state, jax.eval_shape(fused.init, params))
    assert_trees_close(gdx.fuse_state_view(packed), unfused_state, "view(pack(state))")
    updates, _ = tx.update(grads, unfused_state, params)
    fused_updates, _ = jax.jit(fused.update)(grads, packed, params)
    assert_trees_close(fused_updates, updates, "updates after switching")


def test_jit_with_donation_does_not_recompile_and_keeps_dtypes():
    params = make_params()
    tx = gdx.fuse(gdx.chain(gdx.clip_by_global_norm(1.0), gdx.adamw(schedule)), **FUSE_ARGS)
    traces = []

    def step(params, state, grads):
        traces.append(1)  # runs only while tracing
        updates, state = tx.update(grads, state, params)
        for update, grad in zip(jax.tree.leaves(updates), jax.tree.leaves(grads)):
            assert update.dtype == grad.dtype
        return gdx.apply_updates(params, updates), state

    step = jax.jit(step, donate_argnums=(0, 1))
    grads = jax.tree.map(lambda x: x[0], grad_sequence(params, 1, seed=3))
    state = tx.init(params)
    for _ in range(4):
        params, state = step(params, state, grads)
    assert len(traces) == 1


def test_leaf_kernels_do_not_recompute_the_chain_tail():
    # Structure, not timing: the packed updates are computed once and each leaf's kernel
    # only slices them. Before gdx.fuse materialized them, XLA:CPU fused the schedule
    # (its cosine) and the learning-rate multiply into every leaf's slice kernel:
    # one cosine per leaf in the compiled program, and at 2000 leaves 2x the compile time.
    params = {f"p{i:03d}": jnp.ones((100,), jnp.float32) for i in range(50)}
    warmup_cosine = gdx.warmup_cosine_decay_schedule(0.0, 1e-3, 10, 100)
    tx = gdx.fuse(gdx.chain(gdx.clip_by_global_norm(1.0), gdx.adamw(warmup_cosine)))

    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return gdx.apply_updates(params, updates), state

    compiled = jax.jit(step).lower(params, tx.init(params), params).compile()
    assert compiled.as_text().count("cosine(") <= 2


def test_pmap_with_pmeaned_grads_equals_unfused():
    devices = jax.devices()[:2]
    params = make_params()
    grads = grad_sequence(params, len(devices), seed=5)  # one gradient per device

    def run(tx):
        def step(params, state, grads):
            grads = jax.lax.pmean(grads, "batch")
            updates, state = tx.update(grads, state, params)
            return gdx.apply_updates(params, updates), state

        replicated = jax.tree.map(lambda x: jnp.stack([x] * len(devices)), params)
        state = jax.pmap(tx.init, devices=devices)(replicated)
        step = jax.pmap(step, axis_name="batch", devices=devices)
        for _ in range(2):
            replicated, state = step(replicated, state, grads)
        return jax.tree.map(lambda x: x[0], replicated)

    tx = gdx.lamb(1e-2, weight_decay=0.01)
    assert_trees_close(run(gdx.fuse(tx, **FUSE_ARGS)), run(tx), "pmapped params")


def test_sharded_params_under_jit_equal_unfused_and_never_share_a_bucket():
    mesh = Mesh(np.array(jax.devices()[:8]), ("x",))
    params = make_params()
    params["sharded_small"] = jnp.arange(16, dtype=jnp.float32) / 16  # small, split over devices
    shardings = jax.tree.map(lambda _: NamedSharding(mesh, P()), params)
    shardings["sharded_small"] = NamedSharding(mesh, P("x"))
    shardings["big"]["kernel"] = NamedSharding(mesh, P("x"))
    params = jax.device_put(params, shardings)
    grads = jax.device_put(jax.tree.map(lambda x: x[0], grad_sequence(params, 1, seed=7)), shardings)

    def run(tx):
        state = tx.init(params)
        step = jax.jit(lambda p, s, g: tx.update(g, s, p))
        updates, state = step(params, state, grads)
        return step(gdx.apply_updates(params, updates), state, grads)

    tx = gdx.chain(gdx.clip_by_global_norm(1.0), gdx.adamw(1e-2, weight_decay=0.1))
    fused = gdx.fuse(tx, **FUSE_ARGS)
    (updates, state), (fused_updates, fused_state) = run(tx), run(fused)
    assert_trees_close(fused_updates, updates, "sharded updates")
    assert_trees_close(gdx.fuse_state_view(fused_state), state, "sharded state")
    spec = fused.init(params).layout.spec
    leaves = jax.tree.leaves(params)
    sharded = next(i for i, leaf in enumerate(leaves) if leaf is params["sharded_small"])
    assert sharded in spec.per_leaf
    for bucket in spec.buckets:
        assert len({leaves[i].sharding for i in bucket.leaves}) == 1


@pytest.mark.parametrize(
    "make, member",
    [
        (lambda: gdx.adafactor(1e-2), "factored"),
        (lambda: gdx.sm3(1e-2), "sm3"),
        (lambda: gdx.novograd(1e-2), "novograd"),
        (lambda: gdx.fromage(1e-2), "fromage"),
        (lambda: gdx.chain(gdx.clip_by_global_norm(1.0), OPTAX_ADAM), "optax"),
        (lambda: gdx.stateless(lambda u, p: u), "stateless"),
        (lambda: gdx.masked(gdx.adam(1e-2), True, mask_compatible_extra_args=True), "mask_compatible"),
    ],
)
def test_unsupported_members_are_rejected_by_name(make, member):
    with pytest.raises(TypeError, match=f"fuse.*{member}.*unfused"):
        gdx.fuse(make())


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(pack_leaves_below=0), "pack_leaves_below"),
        (dict(pack_leaves_below=1.5), "pack_leaves_below"),
        (dict(max_bucket_size=-1), "max_bucket_size"),
        (dict(max_bucket_size=True), "max_bucket_size"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        gdx.fuse(gdx.adam(1e-2), **kwargs)


def test_mismatched_trees_and_states_raise_value_error():
    params = make_params()
    fused = gdx.fuse(gdx.adam(1e-2), **FUSE_ARGS)
    state = fused.init(params)
    with pytest.raises(ValueError, match="structure of the params"):
        fused.update({"other": jnp.zeros(3)}, state)
    with pytest.raises(ValueError, match="FusedState"):
        fused.update(params, gdx.adam(1e-2).init(params))
    with pytest.raises(TypeError, match="fuse"):
        fused.init({"count": jnp.zeros(3, jnp.int32)})


def test_fuse_inside_nnx_optimizer_matches_unfused():
    # nnx.Optimizer calls init on Param-wrapped leaves (paths `[...].value`) and update on
    # the bare arrays (paths `[...]`): fuse accepts the leaf wrappers and returns updates in
    # the grads' structure, as the unfused optimizer does.
    from flax import nnx

    def train(tx):
        model = nnx.Sequential(nnx.Linear(4, 8, rngs=nnx.Rngs(0)), nnx.LayerNorm(8, rngs=nnx.Rngs(1)))
        optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
        x = jax.random.normal(jax.random.key(0), (16, 4))

        @nnx.jit
        def step(model, optimizer):
            loss, grads = nnx.value_and_grad(lambda m: jnp.mean(m(x) ** 2))(model)
            optimizer.update(model, grads)
            return loss

        losses = [float(step(model, optimizer)) for _ in range(5)]
        return losses, nnx.to_pure_dict(nnx.state(model, nnx.Param)), optimizer.opt_state

    fused_losses, fused, fused_state = train(gdx.fuse(gdx.adamw(1e-2)))
    losses, unfused, unfused_state = train(gdx.adamw(1e-2))
    # The optimizer's state (leaves held in Flax variables) views in the unfused layout,
    # and packs back.
    view = gdx.fuse_state_view(fused_state)
    assert len(jax.tree.leaves(view)) == len(jax.tree.leaves(unfused_state))
    for a, b in zip(jax.tree.leaves(view), jax.tree.leaves(unfused_state)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    packed = gdx.fuse_state_pack(view, fused_state)
    for a, b in zip(jax.tree.leaves(packed), jax.tree.leaves(fused_state)):
        np.testing.assert_array_equal(a, b)
    # Adam is element-wise, but XLA:CPU contracts the packed buffers' multiply-adds
    # differently from the per-leaf ones (1 ulp differences): float32 tolerances.
    np.testing.assert_allclose(fused_losses, losses, rtol=1e-6)
    assert jax.tree.structure(fused) == jax.tree.structure(unfused)
    for a, b in zip(jax.tree.leaves(fused), jax.tree.leaves(unfused)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fuse_still_rejects_a_different_structure():
    tx = gdx.fuse(gdx.adam(1e-2))
    state = tx.init({"a": jnp.ones(3), "b": jnp.ones(2)})
    with pytest.raises(ValueError, match="structure of the params"):
        tx.update({"a": jnp.ones(3), "c": jnp.ones(2)}, state)

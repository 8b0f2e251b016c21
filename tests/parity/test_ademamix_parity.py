"""AdEMAMix and Simplified AdEMAMix against `optax.contrib` 0.2.8.

Params are compared after every step and the final state leaf by leaf
(harness); one jitted scan per case and library.
"""

import jax.numpy as jnp
import optax
import pytest

import gdx
from tests.parity.harness import assert_parity, decaying, make_params, not_a_vector


def b3_warmup(count):
    """The paper's b3 warmup shape (log-linear from b1 to b3), simplified: linear over 20 steps."""
    fraction = jnp.minimum(count.astype(jnp.float32) / 20.0, 1.0)
    return 0.9 + fraction * (0.999 - 0.9)


def alpha_warmup(count):
    return 5.0 * jnp.minimum(count.astype(jnp.float32) / 20.0, 1.0)


CASES = {
    "ademamix-defaults": (lambda lib: lib.ademamix(0.01), 100),
    "ademamix-schedules-weight-decay": (
        lambda lib: lib.ademamix(
            decaying,
            b1=0.8,
            b2=0.99,
            b3=b3_warmup,
            alpha=alpha_warmup,
            eps=1e-6,
            eps_root=1e-8,
            weight_decay=0.01,
            mask=not_a_vector,
        ),
        50,
        # optax turns a bfloat16 leaf's m2 into float32 under a float32 b3 schedule (its scan then
        # fails: the carry changes dtype); gdx keeps the state dtype. Compare on float32 params.
        False,
    ),
    "scale_by_ademamix-defaults": (lambda lib: lib.scale_by_ademamix(), 30),
    "simplified_ademamix-defaults": (lambda lib: lib.simplified_ademamix(0.001), 100),
    "simplified_ademamix-alpha-schedule-weight-decay": (
        lambda lib: lib.simplified_ademamix(
            decaying,
            b1=0.9,
            b2=0.99,
            alpha=alpha_warmup,
            eps=1e-6,
            eps_root=1e-8,
            weight_decay=0.01,
            mask=not_a_vector,
        ),
        50,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_optax(case):
    make, steps, *bfloat16 = CASES[case]
    params = make_params(bfloat16=bfloat16[0] if bfloat16 else True)
    assert_parity(make(gdx), make(optax.contrib), steps=steps, params=params)


@pytest.mark.parametrize("alpha", [5.0, alpha_warmup], ids=["alpha-constant", "alpha-schedule"])
def test_scale_by_simplified_ademamix_matches_optax(alpha):
    # Scaled down (the raw update grows to about 1/(1 - b1) + alpha per step) so 50 steps keep
    # the params in a well-conditioned range.
    def make(lib, contrib):
        tx = contrib.scale_by_simplified_ademamix(b1=0.9, b2=0.99, alpha=alpha, eps=1e-6, eps_root=1e-8)
        return lib.chain(tx, lib.scale(-0.05))

    # optax returns a float32 update for a bfloat16 leaf under a float32 alpha schedule (alpha * g
    # promotes) and rounds it only when the update is applied; gdx keeps the update in the
    # leaf's dtype. Compare the schedule case on float32 params, as for ademamix's b3 above.
    params = make_params(bfloat16=not callable(alpha))
    assert_parity(make(gdx, gdx.contrib), make(optax, optax.contrib), steps=50, params=params)

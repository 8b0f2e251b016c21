"""Port of optax's L-BFGS recipe: `lbfgs()` with `value_and_grad_from_state` in a `lax.while_loop`.

Source: google-deepmind/optax, docs/_collections/examples/lbfgs.ipynb (`run_opt`:
`value_and_grad_from_state(fun)`, `opt.update(grad, state, params,
value=value, grad=grad, value_fn=fun)`, stopping on
`otu.tree_get(state, 'count')` and `otu.tree_norm(otu.tree_get(state,
'grad'))` with `otu = optax.tree_utils`). Reduced: the objective is a
softmax regression on sklearn's digits with a small L2 term.
"""

import jax
import jax.numpy as jnp

from tests.conformance.ports._port import assert_same_bits, cross_entropy, digits_batches, run_both

MAX_ITER = 25


def run(ox):
    otu = ox.tree_utils
    x, y = digits_batches(1, batch_size=256, seed=14)[0]

    def fun(w):
        return cross_entropy(x @ w["kernel"] + w["bias"], y) + 1e-3 * jnp.sum(w["kernel"] ** 2)

    def run_opt(init_params, fun, opt, max_iter, tol):
        value_and_grad_fun = ox.value_and_grad_from_state(fun)

        def step(carry):
            params, state = carry
            value, grad = value_and_grad_fun(params, state=state)
            updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=fun)
            return ox.apply_updates(params, updates), state

        def continuing_criterion(carry):
            _, state = carry
            iter_num = otu.tree_get(state, "count")
            err = otu.tree_norm(otu.tree_get(state, "grad"))
            return (iter_num == 0) | ((iter_num < max_iter) & (err >= tol))

        init_carry = (init_params, opt.init(init_params))
        return jax.lax.while_loop(continuing_criterion, step, init_carry)

    init = {"kernel": jnp.zeros((64, 10), jnp.float32), "bias": jnp.zeros((10,), jnp.float32)}
    params, state = jax.jit(lambda p: run_opt(p, fun, ox.lbfgs(), MAX_ITER, 1e-3))(init)
    return params, state, fun(init), fun(params)


def test_optax_lbfgs_recipe_port_is_bit_identical_to_optax():
    (ref, ref_state, ref_first, ref_last), (got, got_state, got_first, got_last) = run_both(run)
    assert ref_last < 0.5 * ref_first
    assert_same_bits(got_last, ref_last, "final value")
    assert_same_bits(got, ref, "params")
    assert_same_bits(got_state, ref_state, "opt_state")

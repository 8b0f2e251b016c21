"""Step sizes computed from the run itself: Polyak's (`scale_by_polyak`) and DoG's
(`scale_by_distance_over_gradients`).

The arithmetic mirrors optax 0.2.8 operation for operation, with promotions
written out so the code runs under `jax.numpy_dtype_promotion('strict')`.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks, docs
from gdx._common.dtypes import canonical_dtype, promoted, promoted_dtype, tree_cast
from gdx._common.tree_math import squared_global_norm as tree_squared_norm
from gdx.core import EmptyState, GradientTransformation, GradientTransformationExtraArgs

# optax compares with `jnp.finfo(float).eps`, a float64 that jax rounds to float32.
_FLOAT64_EPS = float(jnp.finfo(float).eps)


@docs.shared_args
def scale_by_polyak(
    f_min: jax.typing.ArrayLike = 0.0,
    max_learning_rate: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 0.0,
    variant: str = "sps",
) -> GradientTransformation:
    """Scales the updates by Polyak's step size, computed from the loss value.

    Update rule (`value` is the loss at the current params, passed to `update`)::

        gap = value - f_min                      # variant "sps"
        gap = max(value - f_min, 0)              # variant "sps+"
        step = 0                                  if ||u||**2 + eps <= 2.2e-16
             = min(gap / (||u||**2 + eps), max_learning_rate)   otherwise
        u <- step * u

    `update(updates, state, params=None, *, value)` needs `value=` (the loss);
    a chain forwards it.

    Args:
      f_min, max_learning_rate, eps, variant: {polyak}

    Returns:
      A stateless `GradientTransformation` (`EmptyState`) whose `update` takes `value=`.

    References:
      Loizou et al., Stochastic Polyak Step-size for SGD: An Adaptive Learning Rate
      for Fast Convergence, AISTATS 2021.
      Berrada et al., Training Neural Networks for and by Interpolation, ICML 2020.
      Garrigos et al., Function Value Learning: Adaptive Learning Rates Based on the
      Polyak Stepsize and Function Splitting in ERM, 2023 ("sps+").
    """
    who = "scale_by_polyak"
    checks.finite(who, "f_min", f_min)
    if callable(max_learning_rate):  # a cap on the Polyak step, read as a number (as in optax)
        raise TypeError(
            f"{who}: max_learning_rate must be a number, not a schedule, got {max_learning_rate!r}"
        )
    checks.non_negative(who, "max_learning_rate", max_learning_rate)
    checks.non_negative(who, "eps", eps)
    checks.one_of(who, "variant", variant, ("sps", "sps+"))

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        if value is None:  # TypeError, as optax's (there `value` is a required keyword argument)
            raise TypeError(
                f"{who} needs the loss: call update(grads, state, params, value=loss) "
                "(e.g. `loss, grads = jax.value_and_grad(loss_fn)(params)`)"
            )
        grad_sq_norm = tree_squared_norm(updates)
        gap = promoted(jnp.subtract, value, f_min).astype(grad_sq_norm.dtype)
        if variant == "sps+":
            gap = jax.nn.relu(gap)
        denominator = promoted(jnp.add, grad_sq_norm, eps)
        polyak_step = promoted(jnp.minimum, promoted(jnp.divide, gap, denominator), max_learning_rate)
        step = jnp.where(denominator <= _FLOAT64_EPS, jnp.array(0.0, polyak_step.dtype), polyak_step)
        updates = jax.tree.map(lambda u: promoted(jnp.multiply, step, u).astype(u.dtype), updates)
        return updates, state

    return GradientTransformationExtraArgs(init, update)


class ScaleByDistanceOverGradientsState(NamedTuple):
    """State of `scale_by_distance_over_gradients`, one entry per param leaf.

    `max_dist`: the largest distance from the initial params so far (0-d);
    `grad_sum_of_squares`: the running sum of squared gradients (shape `(1,)`,
    float32); `init_params`: the initial params in `param_dtype`.
    """

    max_dist: Any
    grad_sum_of_squares: Any
    init_params: Any


def _l2(x: jax.Array, y: Any = 0.0) -> jax.Array:
    return jnp.sqrt(jnp.square(promoted(jnp.subtract, x, y)).sum())


def scale_by_distance_over_gradients(
    reps_rel: jax.typing.ArrayLike = 1e-6,
    eps: jax.typing.ArrayLike = 1e-8,
    param_dtype: Any = jnp.float32,
    global_scale: jax.typing.ArrayLike = 1.0,
) -> GradientTransformation:
    """Scales each leaf by DoG's step size: the distance travelled over the root of summed squared gradients.

    Update rule, leaf by leaf (layer-wise DoG, "LDoG"; `p0` the initial params)::

        init:  d = reps_rel * (1 + ||p0||),  G = 0
        d <- max(d, ||p - p0||)
        G <- G + ||g||**2
        u <- global_scale * d / sqrt(G + eps) * g

    It is a preconditioner, like `scale_by_adam`: chain it with `scale(-1)` or
    pass `global_scale=-1` for a descent step. The authors recommend averaging
    the iterates.

    Deliberate difference from optax: `max_dist` is kept in the promoted dtype
    of the params and `param_dtype` from the start (optax starts it in the
    params' dtype and promotes it at the first step, which changes the state's
    dtype for bfloat16 params), and updates keep the grads' shape and dtype
    (optax turns a 0-d leaf's update into shape `(1,)`). Float32 trees without
    0-d leaves give optax's numbers.

    Args:
      reps_rel: sets the first step through the initial distance, > 0; 1e-4 for
        models with batch norm, 1e-6 (default) otherwise.
      eps: added under the square root, >= 0. Default 1e-8.
      param_dtype: dtype of the stored initial params. Default float32.
      global_scale: multiplies every update (1 or -1 typically). Default 1.

    Returns:
      A `GradientTransformation` with state
      `ScaleByDistanceOverGradientsState(max_dist, grad_sum_of_squares, init_params)`.
      `update` needs `params`.

    References:
      Ivgi, Hinder & Carmon, DoG is SGD's Best Friend: A Parameter-Free Dynamic
      Step Size Schedule, ICML 2023.
    """
    who = "scale_by_distance_over_gradients"
    checks.positive(who, "reps_rel", reps_rel)
    checks.non_negative(who, "eps", eps)
    checks.finite(who, "global_scale", global_scale)
    param_dtype = canonical_dtype(param_dtype)

    def initial_distance(p):
        distance = promoted(jnp.multiply, reps_rel, promoted(jnp.add, 1, _l2(p)))
        return distance.astype(promoted_dtype(distance.dtype, param_dtype))

    def init(params):
        return ScaleByDistanceOverGradientsState(
            max_dist=jax.tree.map(initial_distance, params),
            grad_sum_of_squares=jax.tree.map(lambda _: jnp.zeros(1, jnp.float32), params),
            init_params=tree_cast(params, param_dtype),
        )

    def scale_leaf(g, distance, sum_of_squares):
        step_size = promoted(
            jnp.multiply,
            global_scale,
            promoted(jnp.divide, distance, jnp.sqrt(promoted(jnp.add, sum_of_squares, eps))),
        )
        # optax broadcasts the (1,)-shaped step against g (a 0-d g becomes (1,)); gdx keeps g's shape.
        return promoted(jnp.multiply, step_size.reshape(()), g).astype(g.dtype)

    def update(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(f"{who} needs params: call update(grads, state, params)")
        checks.check_same_structure(updates, state.init_params, who=who, what="state.init_params")
        max_dist = jax.tree.map(
            lambda d, p, p0: promoted(jnp.maximum, d, _l2(p, p0)).astype(d.dtype),
            state.max_dist,
            params,
            state.init_params,
        )
        sums_of_squares = jax.tree.map(
            lambda total, g: promoted(jnp.add, total, jnp.square(g).sum()).astype(total.dtype),
            state.grad_sum_of_squares,
            updates,
        )
        updates = jax.tree.map(scale_leaf, updates, max_dist, sums_of_squares)
        return updates, ScaleByDistanceOverGradientsState(max_dist, sums_of_squares, state.init_params)

    return GradientTransformationExtraArgs(init, update)

"""L-BFGS: `scale_by_lbfgs`, a sign flip (or learning rate), then a zoom line search."""

from gdx._common import checks
from gdx.core import GradientTransformation, ScalarOrSchedule, identity
from gdx.optimizers._base import named_optimizer
from gdx.transforms.lbfgs import scale_by_lbfgs
from gdx.transforms.linesearch.zoom import scale_by_zoom_linesearch
from gdx.transforms.scaling import scale, scale_by_learning_rate


@checks.called_as("lbfgs")
def lbfgs(
    learning_rate: ScalarOrSchedule | None = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: GradientTransformation | None = scale_by_zoom_linesearch(  # noqa: B008 (optax's default)
        max_linesearch_steps=20, initial_guess_strategy="one"
    ),
) -> GradientTransformation:
    r"""The L-BFGS optimizer: a quasi-Newton direction with a strong Wolfe line search.

    Update rule (`P_k` the L-BFGS inverse-Hessian approximation built from the
    last `memory_size` pairs of params and gradient differences, see
    `gdx.scale_by_lbfgs`; `eta_k` from the line search)::

        d_k = -lr * P_k g_k          (lr = 1 when learning_rate is None)
        w_{k+1} = w_k + eta_k * d_k

    The line search needs the objective: call
    `update(grad, state, params, value=f(params), grad=grad, value_fn=f)`, and
    reuse the last evaluation of the line search with
    `gdx.value_and_grad_from_state(f)` (deterministic objectives)::

        solver = gdx.lbfgs()
        value_and_grad = gdx.value_and_grad_from_state(f)
        state = solver.init(params)
        for _ in range(steps):
            value, grad = value_and_grad(params, state=state)
            updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=f)
            params = gdx.apply_updates(params, updates)

    Args:
      learning_rate: None (default: the line search picks the step) or a
        number > 0 / schedule scaling the direction before the line search.
      memory_size: number of past pairs kept, an integer >= 1. Default 10.
      scale_init_precond: start the recursion from a scaled identity (default True).
      linesearch: a line search (`gdx.scale_by_zoom_linesearch`,
        `gdx.scale_by_backtracking_linesearch`) or None for none (then
        `update` needs no objective). Default: the zoom line search with
        `max_linesearch_steps=20, initial_guess_strategy="one"`, as optax.

    Returns:
      A `GradientTransformation` with state `(ScaleByLBFGSState, <scaling state>,
      <line-search state>)`, as `optax.lbfgs`. Memory: `2 * memory_size` copies
      of the params; meant for small and medium problems.

    References: Nocedal & Wright, "Numerical Optimization", 1999, Algorithms 7.4
    and 7.5; Liu & Nocedal, "On the limited memory BFGS method for large scale
    optimization", 1989.
    """
    who = "lbfgs"
    if linesearch is not None and not (hasattr(linesearch, "init") and hasattr(linesearch, "update")):
        raise TypeError(f"{who}: linesearch must be a GradientTransformation or None, got {linesearch!r}")
    base_scaling = scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate)
    return named_optimizer(
        who,
        scale_by_lbfgs(memory_size=memory_size, scale_init_precond=scale_init_precond),
        base_scaling,
        identity() if linesearch is None else linesearch,
    )

"""Muon's rescaling: momentum orthogonalized by a Newton-Schulz iteration (`scale_by_muon`).

`MuonDimensionNumbers` says which axes of a weight are the matrix's input
(reduction) and output axes; every other axis is a batch axis (a stack of
layers, the spatial axes of a conv kernel) and each slice is orthogonalized on
its own. The arithmetic mirrors `optax.contrib` 0.2.8 operation for operation.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gdx._common import checks
from gdx._common.dtypes import canonical_dtype, cast_like, promoted, tree_zeros_like
from gdx._common.moments import bias_correction, safe_increment, update_moment, zero_count
from gdx.core import EmptyState, GradientTransformation, GradientTransformationExtraArgs, Params, Updates

DEFAULT_NS_COEFFS = (3.4445, -4.7750, 2.0315)
DION_NS_COEFFS = (
    (4.0848, -6.8946, 2.9270),
    (3.9505, -6.3029, 2.6377),
    (3.7418, -5.5913, 2.3037),
    (2.8769, -3.1427, 1.2046),
    (2.8366, -3.0525, 1.2012),
)
NS_COEFFS_PRESETS = {"standard": DEFAULT_NS_COEFFS, "dion": DION_NS_COEFFS}
PRECONDITIONINGS = ("frobenius", "spectral", "aol", "schatten")


class MuonDimensionNumbers(NamedTuple):
    """Which axes of a weight take part in Muon's matrix orthogonalization.

    For `y = x @ W`, `reduction_axis` is the input axis (0) and `output_axis`
    the output axis (1). Axes named in neither are batch axes: each slice along
    them is orthogonalized separately (e.g. `MuonDimensionNumbers(1, 2)` for a
    stack of layers of shape `(layers, fan_in, fan_out)`). Several axes may be
    given as a tuple; they are flattened into one matrix dimension.
    """

    reduction_axis: Sequence[int] | int = 0
    output_axis: Sequence[int] | int = 1


WeightDimNumOrFn = MuonDimensionNumbers | Params | Callable[[Params], Any]


def is_dimension_numbers(x: Any) -> bool:
    return isinstance(x, MuonDimensionNumbers)


def _normalize_axes(x: jax.Array, dim_nums: MuonDimensionNumbers) -> tuple[tuple[int, ...], tuple[int, ...]]:
    reduction = (
        (dim_nums.reduction_axis,) if isinstance(dim_nums.reduction_axis, int) else dim_nums.reduction_axis
    )
    output = (dim_nums.output_axis,) if isinstance(dim_nums.output_axis, int) else dim_nums.output_axis
    return tuple(ax % x.ndim for ax in reduction), tuple(ax % x.ndim for ax in output)


def _reshape_fns(x: jax.Array, dim_nums: MuonDimensionNumbers) -> tuple[Callable, Callable]:
    """`x -> (batch, reduction, output)` and its inverse."""
    if x.ndim < 2:
        raise ValueError(f"scale_by_muon: Muon leaves must have rank >= 2, got shape {x.shape}")
    reduction_axes, output_axes = _normalize_axes(x, dim_nums)
    if set(reduction_axes) & set(output_axes):
        raise ValueError(
            f"scale_by_muon: reduction and output axes must be disjoint, got {reduction_axes} and "
            f"{output_axes} ({dim_nums} for shape {x.shape})"
        )
    batch_axes = tuple(sorted(set(range(x.ndim)) - set(reduction_axes) - set(output_axes)))
    transpose = batch_axes + reduction_axes + output_axes
    inverse_transpose = tuple(sorted(range(x.ndim), key=lambda i: transpose[i]))
    sizes = lambda axes: tuple(x.shape[ax] for ax in axes)  # noqa: E731
    flat_shape = (
        math.prod(sizes(batch_axes)),
        math.prod(sizes(reduction_axes)),
        math.prod(sizes(output_axes)),
    )
    unflat_shape = sizes(batch_axes) + sizes(reduction_axes) + sizes(output_axes)
    return (
        lambda y: y.transpose(transpose).reshape(flat_shape),
        lambda y: y.reshape(unflat_shape).transpose(inverse_transpose),
    )


def _fans(x: jax.Array, dim_nums: MuonDimensionNumbers) -> tuple[int, int]:
    reduction_axes, output_axes = _normalize_axes(x, dim_nums)
    return math.prod(x.shape[ax] for ax in reduction_axes), math.prod(x.shape[ax] for ax in output_axes)


def _quintic_step(x: jax.Array, a: jax.Array, coeffs: jax.Array) -> jax.Array:
    """`c0 X + (c1 A + c2 A A) X` with `A = X X^T`."""
    b = coeffs[1] * a + coeffs[2] * a @ a
    return coeffs[0] * x + b @ x


def _ns_step(x: jax.Array, coeffs: jax.Array) -> jax.Array:
    return _quintic_step(x, x @ x.T.conj(), coeffs)


def _aol_first_step(x: jax.Array, coeffs: jax.Array, eps: float = 1e-8) -> jax.Array:
    """First step with "almost orthogonal layer" rescaling of the rows (Boissin et al. 2025)."""
    a = x @ x.T.conj()
    rescaling = jnp.clip(jnp.abs(a).sum(axis=-1), min=eps)
    s = jnp.expand_dims(jax.lax.rsqrt(rescaling), -1)
    x, a = x * s, a * s * s.transpose(-1, -2)
    return _quintic_step(x, a, coeffs)


def _schatten_first_step(x: jax.Array, coeffs: jax.Array, eps: float = 1e-8) -> jax.Array:
    """First step with Schatten-4 norm rescaling (Grishina et al. 2025)."""
    a = x @ x.T
    rescaling = jnp.clip(jnp.linalg.norm(a, ord="fro", axis=(-2, -1)), min=eps)
    s = jnp.expand_dims(jax.lax.rsqrt(rescaling), (0, -1))
    x, a = x * s, a * s**2
    return _quintic_step(x, a, coeffs)


def _iteration(preconditioning: str) -> Callable[[Any, jax.Array, jax.Array], jax.Array]:
    first = {"aol": _aol_first_step, "schatten": _schatten_first_step}.get(preconditioning)
    if first is None:
        return lambda i, x, coeffs: _ns_step(x, coeffs)
    return lambda i, x, coeffs: jax.lax.cond(
        i == 0, lambda y: first(y, coeffs), lambda y: _ns_step(y, coeffs), x
    )


def orthogonalize_via_newton_schulz(
    x: jax.Array,
    ns_coeffs: jax.Array,
    ns_steps: int = 5,
    preconditioning: str = "frobenius",
    eps: Any = 1e-8,
    dimension_numbers: MuonDimensionNumbers | None = None,
) -> jax.Array:
    """Approximately `U V^T` for `x = U S V^T`, by a quintic Newton-Schulz iteration.

    The coefficients maximize the slope at zero rather than converge exactly:
    the result is `U S' V^T` with `S'` roughly uniform in (0.5, 1.5), which
    trains as well as `U V^T` (Jordan 2024). Matrices taller than wide are
    transposed first (the iteration commutes with transposition).
    """
    if x.ndim != 2 and not is_dimension_numbers(dimension_numbers):
        raise ValueError(
            f"scale_by_muon: a leaf of shape {x.shape} needs MuonDimensionNumbers "
            "(muon_weight_dimension_numbers) to be orthogonalized"
        )
    if x.ndim == 2:
        dimension_numbers = MuonDimensionNumbers(reduction_axis=0, output_axis=1)
    assert dimension_numbers is not None
    iterate = _iteration(preconditioning)

    def orthogonalize(m):
        transposed = m.shape[0] > m.shape[1]
        if transposed:
            m = m.T
        if preconditioning == "frobenius":
            m = m / (jnp.linalg.norm(m, ord="fro") + eps)
        elif preconditioning == "spectral":
            m = m / (jnp.linalg.norm(m, ord=2) + eps)
        coeffs = ns_coeffs.astype(m.dtype)
        if coeffs.ndim == 1:
            m = jax.lax.fori_loop(0, ns_steps, lambda i, y: iterate(i, y, coeffs), m, unroll=True)
        else:

            def body(carry, step_coeffs):
                i, y = carry
                return (i + 1, iterate(i, y, step_coeffs)), None

            (_, m), _ = jax.lax.scan(body, (jnp.asarray(0, jnp.int32), m), coeffs)
        return m.T if transposed else m

    reshape, inverse = _reshape_fns(x, dimension_numbers)
    return inverse(jax.vmap(orthogonalize)(reshape(x)))


def resolve_dimension_numbers(weight_dimension_numbers: Any, updates: Updates) -> Any:
    """The tree of `MuonDimensionNumbers` (a callable is called on the updates: only shapes matter).

    `None` means the default `MuonDimensionNumbers()` (a 2-D matrix) for every
    leaf; optax 0.2.8 raises a tree-structure error there instead.
    """
    if callable(weight_dimension_numbers):
        weight_dimension_numbers = weight_dimension_numbers(updates)
    if weight_dimension_numbers is None:
        return jax.tree.map(lambda _: MuonDimensionNumbers(), updates)
    return weight_dimension_numbers


def scale_by_shape(
    weight_dimension_numbers: WeightDimNumOrFn | None = None,
    consistent_rms: jax.typing.ArrayLike | None = None,
) -> GradientTransformation:
    """Scales each Muon update by a factor of its shape (stateless).

    Update rule, per leaf with fan-in `n` and fan-out `m` (per its dimension numbers)::

        u <- sqrt(max(1, m / n)) * u                   # consistent_rms is None (Jordan 2024)
        u <- sqrt(max(n, m)) * consistent_rms * u      # Liu et al. 2025, AdamW-like RMS

    Returns:
      A stateless `GradientTransformation` (`EmptyState()`).
    """

    def scale_leaf(u, dim_nums):
        fan_in, fan_out = _fans(u, dim_nums)
        if consistent_rms is None:
            scale = jnp.sqrt(jnp.maximum(1, fan_out / fan_in))
        else:
            scale = promoted(jnp.multiply, jnp.sqrt(jnp.maximum(fan_in, fan_out)), consistent_rms)
        return promoted(jnp.multiply, scale, u).astype(u.dtype)

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        dim_nums = resolve_dimension_numbers(weight_dimension_numbers, updates)
        return jax.tree.map(scale_leaf, updates, dim_nums, is_leaf=is_dimension_numbers), state

    return GradientTransformationExtraArgs(init, update)


class MuonState(NamedTuple):
    """State of `scale_by_muon`: int32 step count, momentum, and the Newton-Schulz coefficients."""

    count: jax.Array
    mu: Updates
    ns_coeffs: jax.Array


def validate_muon_args(who: str, ns_steps: Any, beta: Any, eps: Any, preconditioning: Any) -> None:
    checks.positive_int(who, "ns_steps", ns_steps)
    checks.decay_rate(who, "beta", beta)
    checks.non_negative(who, "eps", eps)
    checks.one_of(who, "preconditioning", preconditioning, PRECONDITIONINGS)


def scale_by_muon(
    ns_coeffs: Any = DEFAULT_NS_COEFFS,
    ns_steps: int = 5,
    beta: jax.typing.ArrayLike = 0.95,
    eps: jax.typing.ArrayLike = 1e-8,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: Literal["frobenius", "spectral", "aol", "schatten"] = "frobenius",
    weight_dimension_numbers: WeightDimNumOrFn | None = None,
) -> GradientTransformation:
    r"""Rescales updates by Muon: momentum, then approximately orthogonalized per matrix.

    Update rule (`t` counts from 1; every leaf is a matrix or has dimension numbers)::

        mu <- beta * mu + (1 - beta) * g
        m_hat = mu / (1 - beta**t)                                          # nesterov=False
        m_hat = beta * mu / (1 - beta**(t+1)) + (1 - beta) * g / (1 - beta**t)   # nesterov=True
        X = m_hat / (||m_hat||_F + eps)            # preconditioning="frobenius"
        repeat ns_steps times: X <- a X + (b A + c A A) X,  A = X X^T       # (a, b, c) = ns_coeffs
        u <- X                                     # adaptive: u <- <m_hat, X> X

    Args:
      ns_coeffs: Newton-Schulz coefficients `(a, b, c)`, or one triple per step
        (`((a, b, c), ...)`, the last `ns_steps` are used). Default
        `(3.4445, -4.7750, 2.0315)`.
      ns_steps: number of Newton-Schulz iterations, an integer >= 1. Default 5.
      beta: momentum decay, in [0, 1). Default 0.95.
      eps: added to the norm before dividing, >= 0. Default 1e-8.
      mu_dtype: dtype of the momentum in state; `None` keeps the params'.
      nesterov: Nesterov momentum (default True).
      adaptive: scale by the dual norm `<m_hat, X>` (Bernstein & Newhouse 2024). Default False.
      preconditioning: rescaling before the iteration: "frobenius" (default),
        "spectral", "aol" or "schatten".
      weight_dimension_numbers: a tree of `MuonDimensionNumbers` with the
        params' structure, or a callable returning one; `None`: every leaf is a
        2-D matrix (optax 0.2.8 raises a tree-structure error for `None`).

    Returns:
      A `GradientTransformation` with state `MuonState(count, mu, ns_coeffs)`, as optax.

    References: Jordan et al., "Muon: An optimizer for hidden layers in neural
    networks", 2024 (blog); Bernstein & Newhouse, "Old Optimizer, New Norm: An
    Anthology", 2024.
    """
    who = "scale_by_muon"
    validate_muon_args(who, ns_steps, beta, eps, preconditioning)
    mu_dtype = canonical_dtype(mu_dtype)

    def init(params):
        coeffs = jnp.asarray(ns_coeffs)
        if coeffs.ndim > 2 or coeffs.shape[-1] != 3:
            raise ValueError(f"{who}: ns_coeffs must have shape (3,) or (n, 3), got {coeffs.shape}")
        if coeffs.ndim == 2:
            if not coeffs.shape[0] <= ns_steps:
                raise ValueError(
                    f"{who}: ns_coeffs has {coeffs.shape[0]} rows, more than ns_steps={ns_steps}"
                )
            coeffs = coeffs[-ns_steps:]
        return MuonState(count=zero_count(), mu=tree_zeros_like(params, dtype=mu_dtype), ns_coeffs=coeffs)

    def update(updates, state, params=None, **extra_args):
        del params, extra_args
        checks.check_same_structure(updates, state.mu, who=who, what="state.mu")
        dim_nums = resolve_dimension_numbers(weight_dimension_numbers, updates)
        mu = update_moment(updates, state.mu, beta, 1)
        count_inc = safe_increment(state.count)
        if nesterov:
            mu_hat = jax.tree.map(
                lambda m, g: promoted(
                    jnp.add, promoted(jnp.multiply, beta, m), promoted(jnp.multiply, 1 - beta, g)
                ),
                bias_correction(mu, beta, safe_increment(count_inc)),
                bias_correction(updates, beta, count_inc),
            )
        else:
            mu_hat = bias_correction(mu, beta, count_inc)
        new_updates = jax.tree.map(
            lambda x, d: orthogonalize_via_newton_schulz(
                x, state.ns_coeffs, ns_steps, preconditioning, eps, d
            ),
            mu_hat,
            dim_nums,
            is_leaf=is_dimension_numbers,
        )
        if adaptive:
            new_updates = jax.tree.map(lambda x, y: jnp.sum(x.conj() * y) * y, mu_hat, new_updates)
        new_updates = jax.tree.map(lambda u, g: u.astype(g.dtype), new_updates, updates)
        return new_updates, MuonState(count=count_inc, mu=cast_like(mu, state.mu), ns_coeffs=state.ns_coeffs)

    return GradientTransformationExtraArgs(init, update)

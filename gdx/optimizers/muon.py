"""Muon: orthogonalized momentum for matrices, AdamW for every other leaf (`muon`)."""

from typing import Any, Literal

import jax

from gdx._common import checks
from gdx.core import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    MaskOrFn,
    ScalarOrSchedule,
    chain,
)
from gdx.optimizers.adamw import adamw
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.preconditioners.muon import (
    DEFAULT_NS_COEFFS,
    NS_COEFFS_PRESETS,
    MuonDimensionNumbers,
    WeightDimNumOrFn,
    is_dimension_numbers,
    scale_by_muon,
    scale_by_shape,
)
from gdx.transforms.scaling import scale_by_learning_rate
from gdx.wrappers.masked import MaskedNode
from gdx.wrappers.partition import partition


def _validate_muon(who: str, ns_coeffs: Any, consistent_rms: Any) -> None:
    """The checks of the arguments muon does not hand to a building block (those check the others)."""
    if consistent_rms is not None:
        checks.positive(who, "consistent_rms", consistent_rms)
    if isinstance(ns_coeffs, str) and ns_coeffs not in NS_COEFFS_PRESETS:
        checks.one_of(who, "ns_coeffs", ns_coeffs, tuple(NS_COEFFS_PRESETS))


@checks.called_as("muon")
def muon(
    learning_rate: ScalarOrSchedule,
    ns_coeffs: Any = DEFAULT_NS_COEFFS,
    ns_steps: int = 5,
    beta: jax.typing.ArrayLike = 0.95,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: MaskOrFn = None,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: Literal["frobenius", "spectral", "aol", "schatten"] = "frobenius",
    adam_b1: jax.typing.ArrayLike = 0.9,
    adam_b2: jax.typing.ArrayLike = 0.999,
    adam_eps_root: jax.typing.ArrayLike = 0.0,
    adam_weight_decay: ScalarOrSchedule = 0.0,
    adam_learning_rate: ScalarOrSchedule | None = None,
    muon_weight_dimension_numbers: WeightDimNumOrFn | None = None,
    consistent_rms: jax.typing.ArrayLike | None = None,
) -> GradientTransformation:
    r"""Muon: momentum orthogonalized by Newton-Schulz for matrices, AdamW for the rest.

    Update rule for a Muon leaf (see `scale_by_muon`; `n`, `m` = fan-in, fan-out)::

        X <- newton_schulz(nesterov_momentum(g))        # ~ U V^T of the momentum
        u <- -lr * (sqrt(max(1, m / n)) * X + weight_decay * p)
        # consistent_rms=c: sqrt(max(n, m)) * c * X instead (Liu et al. 2025)

    Every other leaf gets `adamw(adam_learning_rate or learning_rate, adam_b1,
    adam_b2, eps, adam_eps_root, weight_decay=adam_weight_decay, nesterov=nesterov)`.
    By default the Muon leaves are the 2-D ones; `muon_weight_dimension_numbers`
    chooses them (a `MuonDimensionNumbers` leaf: Muon with that reshape, `None`:
    AdamW), e.g. `MuonDimensionNumbers(reduction_axis=(0, 1, 2), output_axis=3)`
    for an HWIO conv kernel or `MuonDimensionNumbers(1, 2)` for stacked layers.

    Args:
      learning_rate: a number >= 0 or a schedule.
      ns_coeffs: Newton-Schulz coefficients `(a, b, c)`, one triple per step, or
        a preset name ("standard", "dion"). Default `(3.4445, -4.7750, 2.0315)`.
      ns_steps: Newton-Schulz iterations, an integer >= 1. Default 5.
      beta: momentum decay in [0, 1). Default 0.95.
      eps: numerical stability, >= 0 (also AdamW's eps). Default 1e-8.
      weight_decay: decoupled weight decay of the Muon leaves (times the
        learning rate), >= 0 or a schedule. Default 0.
      weight_decay_mask: which Muon leaves decay (pytree of bools or callable); `None`: all.
      mu_dtype: dtype of the momenta in state; `None` keeps the params'.
      nesterov: Nesterov momentum, for Muon and AdamW. Default True.
      adaptive: scale by the dual norm of the momentum. Default False.
      preconditioning: "frobenius" (default), "spectral", "aol" or "schatten".
      adam_b1, adam_b2: AdamW's moment decays, in [0, 1). Defaults 0.9, 0.999.
      adam_eps_root: AdamW's eps inside the square root, >= 0. Default 0.
      adam_weight_decay: AdamW's weight decay, >= 0. Default 0.
      adam_learning_rate: AdamW's learning rate; `None` uses `learning_rate`.
      muon_weight_dimension_numbers: a tree (or prefix) of `MuonDimensionNumbers`
        / `None`, or a callable `params -> such a tree`. Default: 2-D leaves.
      consistent_rms: if given (> 0, e.g. 0.2), scale Muon updates to an
        AdamW-like RMS instead of the width scaling.

    Returns:
      A `GradientTransformation` with state `PartitionState({"adam": ..., "muon":
      MaskedState((MuonState, EmptyState(), EmptyState(), EmptyState()))})`, as
      `optax.contrib.muon`. `update` needs `params`.

    References: Jordan et al., "Muon: An optimizer for hidden layers in neural
    networks", 2024 (blog, github.com/KellerJordan/Muon); Bernstein & Newhouse,
    "Old Optimizer, New Norm: An Anthology", 2024; Liu et al., "Muon is
    Scalable for LLM Training", 2025.
    """
    who = "muon"
    _validate_muon(who, ns_coeffs, consistent_rms)
    # The AdamW half checks its arguments under muon's names for them.
    adam_names = checks.called_as(
        who,
        learning_rate="learning_rate" if adam_learning_rate is None else "adam_learning_rate",
        b1="adam_b1",
        b2="adam_b2",
        eps_root="adam_eps_root",
        weight_decay="adam_weight_decay",
    )
    if adam_learning_rate is None:
        adam_learning_rate = learning_rate
    coeffs = NS_COEFFS_PRESETS[ns_coeffs] if isinstance(ns_coeffs, str) else ns_coeffs
    dimension_numbers = muon_weight_dimension_numbers

    def specs_of(params):
        specs = dimension_numbers(params) if callable(dimension_numbers) else dimension_numbers
        return MuonDimensionNumbers() if specs is None else specs

    def param_labels(params):
        if dimension_numbers is None:
            return jax.tree.map(lambda x: "muon" if x.ndim == 2 else "adam", params)
        fill = lambda spec, subtree: jax.tree.map(lambda _: "adam" if spec is None else "muon", subtree)  # noqa: E731
        return jax.tree.map(
            fill, specs_of(params), params, is_leaf=lambda x: x is None or is_dimension_numbers(x)
        )

    def muon_dimension_numbers(params):
        # The specs with MaskedNode() where the partition masks Muon out, so their
        # tree matches the masked updates scale_by_muon sees.
        mask = jax.tree.map(lambda label: label == "muon", param_labels(params))
        fill = lambda spec, submask: jax.tree.map(lambda m: spec if m else MaskedNode(), submask)  # noqa: E731
        is_leaf = lambda x: x is None or is_dimension_numbers(x) or isinstance(x, MaskedNode)  # noqa: E731
        return jax.tree.map(fill, specs_of(params), mask, is_leaf=is_leaf)

    with adam_names:
        adam_half = adamw(
            learning_rate=adam_learning_rate,
            b1=adam_b1,
            b2=adam_b2,
            eps=eps,
            eps_root=adam_eps_root,
            weight_decay=adam_weight_decay,
            mu_dtype=mu_dtype,
            nesterov=nesterov,
        )
    inner = partition(
        transforms={
            "muon": chain(
                scale_by_muon(
                    ns_coeffs=coeffs,
                    ns_steps=ns_steps,
                    beta=beta,
                    eps=eps,
                    mu_dtype=mu_dtype,
                    nesterov=nesterov,
                    adaptive=adaptive,
                    preconditioning=preconditioning,
                    weight_dimension_numbers=muon_dimension_numbers,
                ),
                scale_by_shape(
                    weight_dimension_numbers=muon_dimension_numbers, consistent_rms=consistent_rms
                ),
                add_decayed_weights(weight_decay, weight_decay_mask),
                scale_by_learning_rate(learning_rate),
            ),
            "adam": adam_half,
        },
        param_labels=param_labels,
    )

    def init(params):
        checks.check_float_params(params, who=who)
        return inner.init(params)

    return GradientTransformationExtraArgs(init, inner.update)

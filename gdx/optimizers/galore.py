"""GaLore, the named optimizer: `scale_by_galore` around Adam, weight decay and the learning rate."""

from typing import Any, cast

import jax

from gdx._common import checks, docs
from gdx.core import (
    GradientTransformation,
    MaskOrFn,
    ScalarOrSchedule,
)
from gdx.optimizers._base import named_optimizer
from gdx.transforms.decay import add_decayed_weights
from gdx.transforms.galore import scale_by_galore
from gdx.transforms.scaling import scale_by_learning_rate


@checks.called_as("galore")
@docs.shared_args
def galore(
    learning_rate: ScalarOrSchedule,
    rank: int = 128,
    update_proj_gap: int = 200,
    scale: float = 1.0,
    base_optimizer: GradientTransformation | None = None,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: MaskOrFn = None,
    weight_dimension_numbers: Any | None = None,
) -> GradientTransformation:
    r"""The GaLore optimizer: `scale_by_galore`, decoupled weight decay, then the learning rate.

    Update rule (for a leaf seen as an `m x n` matrix `G`, `m >= n`; see `scale_by_galore`)::

        P <- U[:, :rank] of svd(G), refreshed every update_proj_gap steps
        u <- -lr * (scale * P base_optimizer(P^T G) + weight_decay * x)

    With the default Adam base, optimizer memory for a projected `m x n` leaf is
    `2 * rank * n` (plus the `m x rank` projector) instead of `2 * m * n`.

    Args:
      learning_rate: a number >= 0 or a schedule `count -> learning rate`
        (use 1.0 if `base_optimizer` already scales by a learning rate).
      rank, update_proj_gap, scale: {galore}
      base_optimizer: a transformation that does not need params; `None`
        (default) is `scale_by_adam()`.
      weight_decay: decoupled weight decay in the full space, >= 0. Default 0.
      mask: which params get weight decay (pytree of bools or callable); `None` decays all.
      weight_dimension_numbers: which leaves to project and how (see `scale_by_galore`).

    Returns:
      A `GradientTransformation` with state
      `(GaLoreState(count, base_optimizer_state, projector), <weight-decay state>, <learning-rate state>)`.

    Reference: Zhao et al., "GaLore: Memory-Efficient LLM Training by Gradient
    Low-Rank Projection", ICML 2024 (https://arxiv.org/abs/2403.03507).
    """
    who = "galore"
    return named_optimizer(
        who,
        scale_by_galore(
            rank=rank,
            update_proj_gap=update_proj_gap,
            scale=scale,
            base_optimizer=base_optimizer,
            weight_dimension_numbers=weight_dimension_numbers,
        ),
        add_decayed_weights(cast(Any, weight_decay), mask),
        scale_by_learning_rate(learning_rate),
    )

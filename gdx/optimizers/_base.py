"""How a named optimizer is built: a `chain` whose `init` checks the params."""

from gdx._common import checks
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, chain


def named_optimizer(name: str, *transforms: GradientTransformation) -> GradientTransformation:
    """`chain(*transforms)` (optax's state layout) whose `init` rejects non-float params.

    Integer or boolean params would silently truncate every update to zero,
    so `init` raises a `TypeError` naming the leaf and the optimizer.
    """
    chained = chain(*transforms)

    def init(params):
        checks.check_float_params(params, who=name)
        return chained.init(params)

    return GradientTransformationExtraArgs(init, chained.update)

"""optax's top-level tree math: moment updates, bias correction, Polyak and periodic parameter copies.

The public face of `gdx._common.moments`, whose functions every gdx
transformation uses; each computes, operation for operation, what
`optax.<name>` computes, with the promotions written out so the code is valid
under strict dtype promotion. Results have the dtype optax's standard promotion gives.
"""

from gdx._common.moments import bias_correction as bias_correction
from gdx._common.moments import incremental_update as incremental_update
from gdx._common.moments import periodic_update as periodic_update
from gdx._common.moments import update_infinity_moment as update_infinity_moment
from gdx._common.moments import update_moment as update_moment
from gdx._common.moments import update_moment_per_elem_norm as update_moment_per_elem_norm

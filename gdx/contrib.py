"""Drop-in names for `optax.contrib`: `import gdx.contrib as contrib` where code used `optax.contrib`.

Every name here also lives at gdx's top level, where it is documented; this
module only re-exports it under optax's path.
"""

from gdx.schedules.plateau import ReduceLROnPlateauState as ReduceLROnPlateauState
from gdx.schedules.plateau import reduce_on_plateau as reduce_on_plateau

# (begin contrib-muon-schedulefree-adopt-ademamix-sam)
# (end contrib-muon-schedulefree-adopt-ademamix-sam)
# (begin contrib-lr-free)
# (end contrib-lr-free)
# (begin contrib-rest)
# (end contrib-rest)

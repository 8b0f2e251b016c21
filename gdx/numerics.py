"""Norms with a floor and a finite gradient at zero: `safe_norm`, `safe_root_mean_squares`, `floored_l2_norm`.

The public face of `gdx._common.norms` (see there for the update rules).
"""

from gdx._common.norms import floored_l2_norm as floored_l2_norm
from gdx._common.norms import safe_norm as safe_norm
from gdx._common.norms import safe_root_mean_squares as safe_root_mean_squares

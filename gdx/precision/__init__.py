"""Mixed precision and low-memory optimizer state.

- `master_weights`: float32 master copy of bfloat16/float16 params.
- `DynamicLossScale`, `all_finite`, `skip_nonfinite`: loss scaling for float16.
- `stochastic_round`, `apply_updates_stochastic`: unbiased rounding to low precision.
- `quantized_state`, `quantize_blockwise`, `dequantize_blockwise`: 8-bit optimizer state.
- `nu_dtype=` on the Adam family (gdx-only) and optax's `mu_dtype=`: low-precision moments.
"""

from gdx.precision.blockwise import QuantizedArray as QuantizedArray
from gdx.precision.blockwise import QuantizedStateWrapper as QuantizedStateWrapper
from gdx.precision.blockwise import dequantize_blockwise as dequantize_blockwise
from gdx.precision.blockwise import quantize_blockwise as quantize_blockwise
from gdx.precision.blockwise import quantized_state as quantized_state
from gdx.precision.loss_scale import DynamicLossScale as DynamicLossScale
from gdx.precision.loss_scale import all_finite as all_finite
from gdx.precision.loss_scale import skip_nonfinite as skip_nonfinite
from gdx.precision.master import MasterWeightsState as MasterWeightsState
from gdx.precision.master import master_params as master_params
from gdx.precision.master import master_weights as master_weights
from gdx.precision.rounding import apply_updates_stochastic as apply_updates_stochastic
from gdx.precision.rounding import stochastic_round as stochastic_round

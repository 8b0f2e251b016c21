"""8-bit optimizer state: blockwise quantization (`quantize_blockwise`) and `quantized_state`.

Each block of `block_size` consecutive elements (in the leaf's row-major
order) is stored as one uint8 code per element plus one float32 scale per
block. A code indexes a sorted codebook of values in [-1, 1]; the element is
`codebook[code] * |scale|`. Two codebooks per mapping:

- a signed one, for blocks with a negative value (first moments);
- an unsigned one over [0, 1] with twice the resolution, for blocks whose
  values are all >= 0 (second moments, running maxima, sums of squares).

Which one a block uses is chosen from the data, per block, and recorded in the
sign bit of its scale (negative scale: unsigned codebook), so no optimizer
needs to declare which of its state fields are non-negative, and a negative
value is never clipped.

Mappings:

- `"dynamic"` (default): the dynamic (tree) quantization map of bitsandbytes'
  8-bit Adam. Codes spread over 7 decades below the block maximum, dense near
  the maximum, so the many small second moments in a block are not rounded to
  zero (which would blow up `mu / (sqrt(nu) + eps)`). Error bound: half the gap
  between the two codebook entries around the value, times the block absmax.
- `"linear"`: `2**bits - 1` evenly spaced signed levels (`2**bits` unsigned):
  max abs error `absmax / (2**(bits-1) - 1) / 2` per block (half that for
  non-negative blocks). Simple, but small values in a block round to zero.

Reference: Dettmers, Lewis, Shleifer & Zettlemoyer, "8-bit Optimizers via
Block-wise Quantization", ICLR 2022.
"""

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdx._common import checks
from gdx.core import GradientTransformation, GradientTransformationExtraArgs, with_extra_args_support

MAPPINGS = ("dynamic", "linear")


def _dynamic_codebook(signed: bool, bits: int) -> np.ndarray:
    """bitsandbytes' `create_dynamic_map(signed, max_exponent_bits=bits - 1, total_bits=bits)`."""
    exponent_bits = bits - 1
    values = [0.0, 1.0]
    for i in range(exponent_bits):
        items = 2**i + 1 if signed else 2 ** (i + 1) + 1
        boundaries = np.linspace(0.1, 1.0, items)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        decade = 10.0 ** (-(exponent_bits - 1) + i)
        values += list(decade * means)
        if signed:
            values += list(-decade * means)
    return np.sort(np.asarray(values, np.float64))


def _linear_codebook(signed: bool, bits: int) -> np.ndarray:
    if signed:  # symmetric: 2**bits - 1 levels, 0 exact; the last code repeats 1.0
        levels = np.linspace(-1.0, 1.0, 2**bits - 1)
        return np.concatenate([levels, [1.0]])
    return np.linspace(0.0, 1.0, 2**bits)


@functools.cache
def codebooks(mapping: str, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """`(signed, unsigned)` sorted float32 codebooks of `2**bits` entries each, for `mapping`."""
    make = _dynamic_codebook if mapping == "dynamic" else _linear_codebook
    return make(True, bits).astype(np.float32), make(False, bits).astype(np.float32)


# Nearest-code search without a binary search: the top bits of |v|'s float32 pattern index a
# table holding the nearest code at the bucket's lower end; one comparison with the next
# midpoint finishes the job, because no bucket (relative width 2**-9) holds two midpoints.
_BUCKET_SHIFT = 14
_NUM_BUCKETS = (int(np.float32(1.0).view(np.uint32)) >> _BUCKET_SHIFT) + 1


@functools.cache
def _search_tables(mapping: str, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Stacked tables for three ascending books of |v|: unsigned, signed (v >= 0), negated signed (v < 0).

    Returns `(start_code, midpoints)`: `start_code[book * _NUM_BUCKETS + bucket]` and
    `midpoints[book * 2**bits + code]` (`inf` after the last code).
    """
    signed_book, unsigned_book = codebooks(mapping, bits)
    lower_ends = (np.arange(_NUM_BUCKETS + 1, dtype=np.uint32) << _BUCKET_SHIFT).view(np.float32)
    starts, mids = [], []
    for book in (unsigned_book, signed_book, np.sort(-signed_book)):
        midpoints = (book[:-1] + book[1:]) / 2
        per_bucket = np.searchsorted(midpoints, lower_ends, side="left")
        if np.any(np.diff(per_bucket) > 1):
            raise AssertionError("quantize: a search bucket holds two midpoints")  # never for bits <= 8
        starts.append(per_bucket[:-1])
        mids.append(np.append(midpoints, np.inf))
    return np.concatenate(starts).astype(np.int32), np.concatenate(mids).astype(np.float32)


def _nearest_codes(normalized: jax.Array, non_negative: jax.Array, mapping: str, bits: int) -> jax.Array:
    starts, mids = (jnp.asarray(table) for table in _search_tables(mapping, bits))
    magnitude = jnp.abs(normalized)
    book = jnp.where(non_negative, 0, jnp.where(normalized >= 0, 1, 2))
    bucket = (jax.lax.bitcast_convert_type(magnitude, jnp.uint32) >> jnp.uint32(_BUCKET_SHIFT)).astype(
        jnp.int32
    )
    bucket = jnp.minimum(bucket, _NUM_BUCKETS - 1)  # NaN (its block decodes to NaN anyway)
    # `take(mode="clip")`: no out-of-bounds masking, several times faster than indexing on CPU.
    code = jnp.take(starts, book * _NUM_BUCKETS + bucket, mode="clip")
    code = code + (magnitude > jnp.take(mids, book * 2**bits + code, mode="clip")).astype(jnp.int32)
    # The negated book is the signed book reversed.
    return jnp.where(book == 2, 2**bits - 1 - code, code)


class QuantizedArray(NamedTuple):
    """A blockwise-quantized array: uint8 `codes` (the array's shape) and float32 `scales` (one per block).

    The sign bit of a scale selects the codebook (set: unsigned); `|scale|` is
    the block's absolute maximum (divided by the magnitude of the most negative
    code when the block's largest magnitude is negative, so it decodes exactly).
    """

    codes: jax.Array
    scales: jax.Array


def _blocks(flat: jax.Array, block_size: int) -> jax.Array:
    padding = -flat.size % block_size
    return jnp.pad(flat, (0, padding)).reshape(-1, block_size)


def quantize_blockwise(
    x: jax.Array, block_size: int = 256, *, bits: int = 8, mapping: str = "dynamic"
) -> QuantizedArray:
    """Quantizes `x` block by block to the nearest codebook entry (see the module docstring).

    Args:
      x: a floating array (any shape; computed in float32).
      block_size: elements per block (the last block is zero-padded), >= 1. Default 256.
      bits: codebook size `2**bits`, in [2, 8] (codes are stored as uint8 either way). Default 8.
      mapping: `"dynamic"` (default) or `"linear"`.

    Returns:
      A `QuantizedArray(codes, scales)`; decode with `dequantize_blockwise` and the same settings.
    """
    blocks = _blocks(jnp.asarray(x, jnp.float32).reshape(-1), block_size)
    block_min, block_max = jnp.min(blocks, axis=1), jnp.max(blocks, axis=1)
    absmax = jnp.maximum(block_max, -block_min)
    non_negative = block_min >= 0
    # The signed dynamic book ends at +1 but at -0.993: a block whose largest magnitude is
    # negative is scaled so that element lands on the last negative code, so it decodes to
    # itself and repeated round trips (state that does not change, e.g. an x0 copy) do not
    # shrink it by 0.7% a step.
    most_negative = float(-codebooks(mapping, bits)[0][0])
    scale = jnp.where(non_negative | (block_max >= -block_min), absmax, absmax / most_negative)
    normalized = blocks * (1 / jnp.where(scale > 0, scale, 1))[:, None]

    codes = _nearest_codes(normalized, non_negative[:, None], mapping, bits)
    codes = codes.astype(jnp.uint8).reshape(-1)[: math.prod(jnp.shape(x))].reshape(jnp.shape(x))
    scales = jnp.where(non_negative, -scale, scale)
    return QuantizedArray(codes=codes, scales=scales)


def dequantize_blockwise(
    q: QuantizedArray,
    block_size: int = 256,
    *,
    bits: int = 8,
    mapping: str = "dynamic",
    dtype: jax.typing.DTypeLike = jnp.float32,
) -> jax.Array:
    """Decodes a `QuantizedArray` made by `quantize_blockwise` with the same settings.

    Returns:
      `codebook[code] * |scale|` in `dtype` (default float32), with the codes' shape.
    """
    signed_book, unsigned_book = (jnp.asarray(book) for book in codebooks(mapping, bits))
    codes = _blocks(q.codes.reshape(-1), block_size).astype(jnp.int32)
    unsigned = jnp.signbit(q.scales)[:, None]
    book = jnp.concatenate([signed_book, unsigned_book])
    values = jnp.take(book, codes + jnp.where(unsigned, len(signed_book), 0), mode="clip")
    values = values * jnp.abs(q.scales)[:, None]
    return values.reshape(-1)[: q.codes.size].reshape(q.codes.shape).astype(dtype)


class QuantizedStateWrapper(NamedTuple):
    """State of `quantized_state`: the inner state with large float leaves as `QuantizedArray` values."""

    inner_state: Any


def _is_quantized(x: Any) -> bool:
    return isinstance(x, QuantizedArray)


def quantized_state(
    inner: GradientTransformation,
    bits: int = 8,
    block_size: int = 256,
    *,
    mapping: str = "dynamic",
    min_size: int = 4096,
    skip_fields: Sequence[str] = (),
) -> GradientTransformation:
    """Stores `inner`'s state (moments, ...) blockwise-quantized to 8 bits between steps.

    Update rule::

        state_f32 = dequantize(state)           # every QuantizedArray -> float32
        u, state_f32 <- inner(g, state_f32, params)
        state = quantize(state_f32)             # the same leaves, re-quantized

    Every floating state leaf with at least `min_size` elements (moments of
    weight matrices) is stored as uint8 codes plus one float32 scale per
    `block_size` elements: `1 + 4 / block_size` bytes per element (1.016 at
    256), about 25% of float32 for Adam. Smaller leaves (biases, norms,
    scalars, counters) stay as they are; they are a small part of a real
    model's state. The update itself is computed in float32 from the
    dequantized state, and this step's update uses the unquantized new moments.

    Mapping and sign handling are described in `gdx.precision.blockwise`: by
    default bitsandbytes' dynamic map, signed or unsigned (twice the
    resolution) chosen per block from the data.

    Meant for moments. State that holds a copy of the params (prodigy's
    `params0`, the `x0` of madgrad, dog and mechanize, schedule-free's `z`) or
    whose update cancels (centered `rmsprop`'s `nu - mu**2`) loses what 8 bits
    cannot hold: on the contract's quadratic (every state leaf quantized)
    prodigy's step-size estimate never grows and mechanize ends 1e8 times
    higher, while the Adam family, Lion, LAMB, Muon, Shampoo and SOAP end
    within a small factor of their float32 loss. Name such fields in
    `skip_fields` (`quantized_state(prodigy(), skip_fields=("params0",))`
    quantizes its moments only) or keep the optimizer unquantized.

    With `master_weights`, put `quantized_state` inside it
    (`master_weights(quantized_state(adam(lr)))`): wrapped around it, it would
    quantize the float32 master copy too, which defeats its purpose.

    Args:
      inner: any optimizer (e.g. `gdx.adam(1e-3)`).
      bits: codebook size `2**bits`, in [2, 8]. Default 8 (codes are uint8 in every case).
      block_size: elements per quantization block, >= 1. Default 256.
      mapping: `"dynamic"` (default) or `"linear"`.
      min_size: leaves with fewer elements stay unquantized, >= 1. Default 4096.
      skip_fields: names of state fields (NamedTuple fields or dict keys, anywhere
        on a leaf's path) whose leaves stay unquantized, e.g. `("params0",)` for
        prodigy, `("x0",)` for madgrad and mechanize, `("z",)` for schedule-free.
        Default: none.

    Returns:
      A `GradientTransformation` with state `QuantizedStateWrapper(inner_state)`.

    Reference: Dettmers et al., "8-bit Optimizers via Block-wise Quantization", ICLR 2022.
    """
    who = "quantized_state"
    checks.positive_int(who, "bits", bits)
    if not 2 <= bits <= 8:
        raise ValueError(f"{who}: bits must be in [2, 8], got {bits!r}")
    checks.positive_int(who, "block_size", block_size)
    checks.positive_int(who, "min_size", min_size)
    checks.one_of(who, "mapping", mapping, MAPPINGS)
    inner = with_extra_args_support(inner)
    if isinstance(skip_fields, str) or not all(isinstance(name, str) for name in skip_fields):
        raise TypeError(f"{who}: skip_fields must be a sequence of field names, got {skip_fields!r}")
    skipped = frozenset(skip_fields)
    settings = {"bits": bits, "mapping": mapping}

    def quantize_leaf(path, x):
        x = jnp.asarray(x)
        names = {getattr(key, "name", getattr(key, "key", None)) for key in path}
        if jnp.issubdtype(x.dtype, jnp.floating) and x.size >= min_size and not names & skipped:
            return quantize_blockwise(x, block_size, **settings)
        return x

    def dequantize(state):
        return jax.tree.map(
            lambda x: dequantize_blockwise(x, block_size, **settings) if _is_quantized(x) else x,
            state,
            is_leaf=_is_quantized,
        )

    def init(params):
        state = jax.tree_util.tree_map_with_path(quantize_leaf, inner.init(params))
        return QuantizedStateWrapper(inner_state=state)

    def update(updates, state, params=None, **extra_args):
        updates, new_inner = inner.update(updates, dequantize(state.inner_state), params, **extra_args)
        requantized = jax.tree.map(
            lambda old, new: quantize_blockwise(new, block_size, **settings) if _is_quantized(old) else new,
            state.inner_state,
            new_inner,
            is_leaf=_is_quantized,
        )
        return updates, QuantizedStateWrapper(inner_state=requantized)

    return GradientTransformationExtraArgs(init, update)

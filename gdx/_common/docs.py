"""The one home of the argument descriptions that several docstrings share.

A recipe (`gdx.optimizers.adam`) takes the arguments of the rule it wraps
(`gdx.transforms.scale_by_adam`); both document them from the table below. In a
docstring's `Args:`, a line `NAMES: {FAMILY}` stands for one entry per name, each
described by the table's `FAMILY` entry of that name::

    @docs.shared_args
    def adam(learning_rate, b1=0.9, b2=0.999, ...):
        '''...
        Args:
          learning_rate: {common}
          b1, b2, eps, eps_root, mu_dtype: {adam}
          nesterov: use Nesterov momentum (NAdam). Default False.
        '''

renders, when the function is defined, as `learning_rate: <common.learning_rate>`,
`b1: <adam.b1>`, ... one entry a line, so `__doc__`, `help()` and the Sphinx
reference read the full text. An entry of the table may itself be `{FAMILY}`
(a family defined above it). A name the table lacks raises at import.
"""

import re
from collections.abc import Callable
from typing import TypeVar

# Each family lists its entries as an `Args:` section does (continuation lines
# indented further); a family is described once here and nowhere else.
_TABLE = r"""
common:
  learning_rate: a number >= 0 or a schedule `count -> learning rate`.

adam:
  b1: decay of the first moment, in [0, 1). Default 0.9.
  b2: decay of the second moment, in [0, 1). Default 0.999.
  eps: added to the denominator outside the square root, >= 0. Default 1e-8.
  eps_root: added inside the square root, >= 0 (useful when differentiating
    through the update). Default 0.
  mu_dtype: dtype of the first moment in state (e.g. `jnp.bfloat16`); `None`
    keeps the params' dtype. Updates keep the grads' dtype either way.
  nesterov: use Nesterov momentum (NAdam, Dozat 2016). Default False.
  nu_dtype: gdx-only, dtype of the second moment in state (e.g.
    `jnp.bfloat16`); `None` keeps the params' dtype. The moment is computed
    in the promoted dtype of grad and state (float32 for float32 grads),
    used unrounded for this step's update, and stored rounded to `nu_dtype`.

amsgrad:
  bias_correction_mu: bias-correct the first moment. Default True (False
    matches the paper).
  bias_correction_nu: bias-correct the second moment before the maximum.
    Default True (False matches the paper).
  nu_dtype: gdx-only, dtype of `nu` and `nu_max` in state; `None` keeps the
    params' dtype. Computed in the promoted dtype, stored in `nu_dtype`.

adamax:
  b2: decay of the infinity norm, in [0, 1). Default 0.999.
  eps: added to `|g|`, >= 0. Default 1e-8.
  nu_dtype: gdx-only, dtype of the infinity norm `nu` in state; `None` keeps
    the params' dtype. Computed in the promoted dtype, stored in `nu_dtype`.

dadapt:
  learning_rate: a multiplier of the estimated step size (number >= 0 or a
    schedule, e.g. warmup then linear decay from 1 to 0). Default 1.
  betas: `(b1, b2)`, the AdamW moment decays, each in [0, 1). Default (0.9, 0.999).
  eps: added to the AdamW denominator, >= 0. Default 1e-8.
  estim_lr0: initial (under-)estimate `d0` of the step size, > 0. Default 1e-6.
  weight_decay: decoupled (AdamW) weight decay, >= 0. Default 0.

prodigy:
  learning_rate, betas: {dadapt}
  beta3: decay of the estimate's sums, in [0, 1); `None` for `sqrt(b2)`.
  eps: added to the AdamW denominator (scaled by `d`), >= 0. Default 1e-8.
  estim_lr0: {dadapt}
  estim_lr_coef: multiplies the estimate, > 0. Default 1.
  weight_decay: {dadapt}
  safeguard_warmup: leave the learning rate out of the sum `s` (helps with
    a warmup schedule). Default False.

momo:
  learning_rate: the largest step size (number >= 0 or a schedule); large is fine. Default 1.
  beta: momentum of the averages, in [0, 1). Default 0.9.
  lower_bound: a lower bound of the loss (0 for most losses). Default 0.
  weight_decay: decoupled weight decay, >= 0. Default 0.
  adapt_lower_bound: estimate the lower bound online. Default False.

momo_adam:
  learning_rate: the largest step size (number >= 0 or a schedule). Default 1e-2 (optax's).
  b1: decay of the first moment and of the averages, in [0, 1). Default 0.9.
  b2: {adam}
  eps: added to the preconditioner, >= 0. Default 1e-8.
  lower_bound, weight_decay, adapt_lower_bound: {momo}

adam_variants:
  nu_dtype: gdx-only, dtype of the second moment in state; `None` keeps the
    params' dtype. Computed in the promoted dtype, stored in `nu_dtype`.

belief:
  b2: decay of the prediction-error variance, in [0, 1). Default 0.999.
  eps: added to the denominator outside the square root, >= 0. Default 1e-16
    (the paper uses 1e-8).
  eps_root: added to the variance at every step, >= 0; must be > 0 to
    differentiate through the update. Default 1e-16 (the paper uses 0).

radam:
  threshold: the adaptive step is used once `rho >= threshold`, a finite
    number. Default 5 (optax's; with the default b2, from the 6th step on;
    the paper uses 4, where `r` is 0 anyway).

yogi:
  b2: rate of the second moment's change, in [0, 1). Default 0.999.
  eps: added to the denominator outside the square root, >= 0. Default 1e-3
    (the paper's).

acprop:
  b2: decay of the second central moment, in [0, 1). Default 0.999.
  eps: added to the denominator outside the square root, >= 0. Default 1e-16.
  eps_root: added to the second moment at every step, >= 0 (must be > 0 to
    differentiate through the update). Default 1e-16.

adan:
  b1: decay of the gradient average, in [0, 1). Default 0.98.
  b2: decay of the gradient-change average, in [0, 1). Default 0.92.
  b3: decay of the squared-term average, in [0, 1). Default 0.99.
  nu_dtype: gdx-only, dtype of the second moment `n` in state; `None` keeps
    the params' dtype. Computed in the promoted dtype, stored in `nu_dtype`.

galore:
  rank: the projection rank, an int >= 1. Default 128.
  update_proj_gap: steps between projector refreshes, an int >= 1. Default 200.
  scale: multiplies the projected-back updates, finite. Default 1.0.

rprop:
  learning_rate: the initial step size, >= 0 (a number, not a schedule).
  eta_minus: factor that shrinks a step after a sign change, in (0, 1]. Default 0.5.
  eta_plus: factor that grows a step while the sign holds, >= 1. Default 1.2.
  min_step_size: smallest step size, >= 0. Default 1e-6.
  max_step_size: largest step size, > 0 and >= min_step_size. Default 50.

madgrad:
  learning_rate: {common}
  momentum: weight of the current iterate in the averaging, in [0, 1)
    (`1 - c` in the paper). Default 0.9.
  eps: added to the learning rate and to the denominator, >= 0. Default 1e-6.

rss:
  initial_accumulator_value: initial value of `s`, >= 0. Default 0.1.
  eps: added inside the square root, >= 0. Default 1e-7.

rms:
  eps: stabilizer of the denominator, >= 0. Default 1e-8.
  initial_scale: initial value of `nu`, >= 0. Default 0.
  eps_in_sqrt: add `eps` inside the square root (default) or outside.
  nu_dtype: gdx-only, dtype of `nu` in state (e.g. `jnp.bfloat16`); `None`
    keeps the params' dtype. Computed in the promoted dtype, stored in `nu_dtype`.

adadelta:
  rho: decay of both running averages, in [0, 1). Default 0.9.
  eps: added inside both square roots, > 0 (with 0 the first update, and so
    every later one, is 0). Default 1e-6.

polyak:
  f_min: a lower bound of the loss (its minimum; 0 for models that
    interpolate the data); a wrong guess can diverge or stall. Default 0.
  max_learning_rate: the largest step, >= 0 (0 freezes the params). Default 1.
  eps: added to the squared norm in the denominator, >= 0. Default 0.
  variant: "sps" (default) or "sps+" (only the non-negative part of the gap).

lion:
  b1: interpolation between gradient and momentum for the update, in [0, 1) (default 0.9).
  b2: decay of the momentum, in [0, 1) (default 0.99).
  mu_dtype: dtype of the momentum; `None` (default) uses the params'.
"""

_PLACEHOLDER = re.compile(r"^(?P<indent>\s*)(?P<names>\w+(?:, \w+)*): \{(?P<family>\w+)\}\s*$")
_FUNCTION = TypeVar("_FUNCTION", bound=Callable)


def _expand(text: str, table: dict[str, str]) -> str:
    """`text` with each `NAMES: {FAMILY}` line replaced by one entry a name from `table`."""
    out: list[str] = []
    for line in text.splitlines():
        match = _PLACEHOLDER.match(line)
        if match is None:
            out.append(line)
            continue
        indent, family = match["indent"], match["family"]
        for name in match["names"].split(", "):
            key = f"{family}.{name}"
            if key not in table:
                raise KeyError(f"gdx/_common/docs.py has no description {key!r}")
            first, *rest = table[key].splitlines()
            out.append(f"{indent}{name}: {first}")
            out += [f"{indent}  {more}" for more in rest]
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _parse(table_text: str) -> dict[str, str]:
    """`{"family.name": description}` of `_TABLE`; a description's later lines lose their indent."""
    table: dict[str, str] = {}
    for block in table_text.strip().split("\n\n"):
        header, *body = block.splitlines()
        family = header.removesuffix(":")
        entries: list[tuple[str, list[str]]] = []
        for line in _expand("\n".join(body), table).splitlines():
            if line.startswith("    "):
                entries[-1][1].append(line.strip())
            else:
                name, first = line.strip().split(": ", 1)
                entries.append((name, [first]))
        table.update({f"{family}.{name}": "\n".join(lines) for name, lines in entries})
    return table


DESCRIPTIONS = _parse(_TABLE)


def shared_args(function: _FUNCTION) -> _FUNCTION:
    """Fills the `NAMES: {FAMILY}` lines of `function`'s docstring from the table, at definition."""
    if function.__doc__ is not None:  # None under `python -OO`
        function.__doc__ = _expand(function.__doc__, DESCRIPTIONS)
    return function

"""A training doctor: names the likely problem of a run from its loss (and grad-norm) history."""

import dataclasses
from collections.abc import Sequence

import numpy as np

ADVICE = {
    "exploding_gradients": (
        "gradient norms exploded: add gdx.clip_by_global_norm(1.0) before the optimizer "
        "(gdx.chain(gdx.clip_by_global_norm(1.0), tx)) and lower the learning rate"
    ),
    "non_finite_loss": (
        "the loss became NaN/inf: the learning rate is far too high (divide it by ~10) unless the loss "
        "itself has an invalid operation such as log(0); gdx.apply_if_finite skips bad steps"
    ),
    "diverging": (
        "the loss spiked or ended above where it started: learning rate far too high, divide it by ~10"
    ),
    "oscillating": (
        "the loss oscillates without settling: learning rate slightly too high, divide it by 2-3 "
        "(or decay it with a schedule)"
    ),
    "vanishing_gradients": (
        "gradient norms are vanishingly small and the loss does not move: check initialization, "
        "saturating activations and normalization; a larger learning rate will not fix it"
    ),
    "too_low": (
        "the loss barely moves and is still falling at its initial pace: learning rate too low, "
        "raise it (x3 to x10) or run gdx.diagnostics.lr_find"
    ),
    "healthy": "the loss falls and levels off: no learning-rate problem visible",
}
"""Problem name -> advice, the rule table of the doctor."""


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What `doctor` found.

    Attributes:
      problem: one of the keys of `ADVICE` ("diverging", "oscillating", "too_low", "healthy", ...).
      advice: what to do about it.
      evidence: the numbers the rule used (name -> value).
    """

    problem: str
    advice: str
    evidence: dict[str, float]

    @property
    def healthy(self) -> bool:
        return self.problem == "healthy"

    def __str__(self) -> str:
        numbers = ", ".join(f"{name} {value:.4g}" for name, value in self.evidence.items())
        return f"{self.problem}: {self.advice}\n  evidence: {numbers}"


def _diagnosis(problem: str, **evidence: float) -> Diagnosis:
    return Diagnosis(problem, ADVICE[problem], {name: float(value) for name, value in evidence.items()})


def doctor(
    losses: Sequence[float] | np.ndarray,
    grad_norms: Sequence[float] | np.ndarray | None = None,
    *,
    spike_factor: float = 5.0,
    divergence_factor: float = 1.5,
    oscillation_fraction: float = 0.5,
    oscillation_amplitude: float = 0.02,
    min_progress: float = 0.1,
    explosion_factor: float = 10.0,
    vanishing_norm: float = 1e-6,
) -> Diagnosis:
    """Names the likely problem of a training run from its loss history.

    Rules, checked in this order (`first` = the first loss, `tail` = the last half):

    ========================  ====================================================  =====================
    problem                   symptom                                               advice
    ========================  ====================================================  =====================
    exploding_gradients       max grad norm > explosion_factor x median early norm  clip by global norm
    non_finite_loss           a NaN/inf loss                                        LR / 10
    diverging                 max loss > spike_factor x first, or tail mean >       LR / 10
                              divergence_factor x first
    oscillating               > oscillation_fraction of the tail's steps reverse    LR / 2-3
                              direction and the tail spans > oscillation_amplitude
                              of its median
    vanishing_gradients       tail grad norms < vanishing_norm, loss barely moves   fix init/activations
    too_low                   loss fell < min_progress of first and the last        raise the LR
                              quarter falls > 30% as fast as the first quarter
    healthy                   none of the above
    ========================  ====================================================  =====================

    Args:
      losses: the loss per step (or per epoch), at least 4 values.
      grad_norms: optional global grad norm per step (e.g. the "grad_norm" of
        `gdx.diagnostics.health_monitor`); enables the gradient rules. Default None.
      spike_factor: see the table, > 1. Default 5.0.
      divergence_factor: see the table, > 1. Default 1.5.
      oscillation_fraction: see the table, in (0, 1). Default 0.5.
      oscillation_amplitude: see the table, > 0. Default 0.02.
      min_progress: see the table, in (0, 1). Default 0.1.
      explosion_factor: see the table, > 1. Default 10.0.
      vanishing_norm: see the table, > 0. Default 1e-6.

    Returns:
      A `Diagnosis(problem, advice, evidence)`; `print` it.
    """
    loss = np.asarray(losses, np.float64).ravel()
    if loss.size < 4:
        raise ValueError(f"doctor: need at least 4 losses, got {loss.size}")
    norms = None if grad_norms is None else np.asarray(grad_norms, np.float64).ravel()
    if norms is not None and norms.size == 0:
        raise ValueError("doctor: grad_norms is empty; pass None or the grad norm of every step")

    if norms is not None:
        head = norms[: max(1, norms.size // 10)]
        early = float(np.median(head[np.isfinite(head)])) if np.isfinite(head).any() else np.nan
        finite_norms = norms[np.isfinite(norms)]
        peak = float(finite_norms.max()) if finite_norms.size else np.inf
        if early > 0 and (peak > explosion_factor * early or not np.isfinite(norms).all()):
            return _diagnosis(
                "exploding_gradients",
                early_grad_norm=early,
                max_grad_norm=peak,
                ratio=peak / early,
                first_nonfinite_step=_first_nonfinite(norms),
            )

    first = loss[0]
    if not np.isfinite(loss).all():
        return _diagnosis("non_finite_loss", first_nonfinite_step=_first_nonfinite(loss), first_loss=first)

    tail = loss[loss.size // 2 :]
    scale = max(abs(first), 1e-12)
    peak_ratio = loss.max() / scale
    tail_ratio = tail.mean() / scale
    if first > 0 and (peak_ratio > spike_factor or tail_ratio > divergence_factor):
        return _diagnosis(
            "diverging",
            first_loss=first,
            max_loss=loss.max(),
            max_over_first=peak_ratio,
            tail_mean_over_first=tail_ratio,
        )

    steps = np.diff(tail)
    reversals = float(np.mean(np.sign(steps[1:]) != np.sign(steps[:-1]))) if steps.size > 1 else 0.0
    amplitude = (tail.max() - tail.min()) / max(abs(float(np.median(tail))), 1e-12)
    if reversals > oscillation_fraction and amplitude > oscillation_amplitude:
        return _diagnosis(
            "oscillating",
            tail_reversal_fraction=reversals,
            tail_relative_amplitude=amplitude,
            first_loss=first,
        )

    progress = (first - loss.min()) / scale
    if norms is not None:
        tail_norm = float(np.median(norms[norms.size // 2 :]))
        if tail_norm < vanishing_norm and progress < min_progress:
            return _diagnosis(
                "vanishing_gradients", tail_median_grad_norm=tail_norm, relative_progress=progress
            )

    quarter = max(1, loss.size // 4)
    early_drop = loss[0] - loss[quarter]
    late_drop = loss[-quarter - 1] - loss[-1]
    pace = late_drop / early_drop if early_drop > 0 else 0.0
    if progress < min_progress and (pace > 0.3 or progress < 1e-3):
        return _diagnosis("too_low", relative_progress=progress, late_over_early_pace=pace, first_loss=first)
    return _diagnosis("healthy", relative_progress=progress, late_over_early_pace=pace, final_loss=loss[-1])


def _first_nonfinite(values: np.ndarray) -> float:
    bad = np.flatnonzero(~np.isfinite(values))
    return float(bad[0]) if bad.size else -1.0

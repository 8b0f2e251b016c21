"""The checks that are the same for every optimizer and transformation, each one test over a table.

Validation (bad hyperparameters, a learning rate of the wrong type, non-float params, grads that
do not match the params, missing params), a saturated step count, complex params against optax,
and jit-once/dtypes for the transformations outside tests/test_contract.py. A module's own test
file keeps only what is particular to it; its rows live here, keyed by the gdx name. The
contract suite (tests/test_contract.py) already runs convergence, jit, dtypes and the needs-params
check over every named optimizer, so those are not repeated here.
"""

import math
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdx
from tests.optimizers.checks import ADAPTIVE_HYPERPARAMETERS, grads_like, params_f32
from tests.parity.harness import make_params, optax_promotion

pytestmark = pytest.mark.filterwarnings("ignore:`optimistic_adam` is deprecated:DeprecationWarning")

# --- named optimizers: a bad value names the argument and the value ----------------------------

ADAM_BAD = {"b1": [1.0, -0.1], "b2": [1.0], "eps": [-1e-8, math.inf], "eps_root": [-1e-8]}

# Built as `gdx.<name>(learning_rate=1e-2, <argument>=<value>)`; every name also gets the bad
# learning rates of LEARNING_RATE_BAD.
NAMED_BAD = {
    # optimizers/adam_variants
    "adabelief": ADAM_BAD,
    "radam": {**ADAM_BAD, "threshold": [math.nan]},
    "yogi": {"b1": [1.0], "b2": [2.0], "eps": [-1e-3]},
    # optimizers/adadelta, adan, novograd
    "adadelta": {"rho": [1.0, -0.5], "eps": [0.0, -1e-6], "weight_decay": [-1e-4]},
    "adan": {
        "b1": [1.0],
        "b2": [-0.1],
        "b3": [1.5],
        "eps": [-1.0],
        "eps_root": [-1.0],
        "weight_decay": [-0.1],
    },
    "novograd": {"b1": [1.0], "b2": [-0.25], "eps": [-1.0], "eps_root": [-1.0], "weight_decay": [-1.0]},
    # optimizers/optimistic
    "optimistic_gradient_descent": {"alpha": [math.nan], "beta": [math.inf]},
    "optimistic_adam": {**ADAM_BAD, "optimism": [math.nan]},
    "optimistic_adam_v2": {**ADAM_BAD, "alpha": [math.inf], "beta": [math.nan]},
    # optimizers/sign_sgd
    "rprop": {
        "eta_minus": [0.0, 1.5],
        "eta_plus": [0.9, math.inf],
        "min_step_size": [-1.0],
        "max_step_size": [0.0, 1e-7],
    },
    "sign_sgd": {},
    "signum": {"beta": [1.0, -0.1]},
}
LEARNING_RATE_BAD = [-1e-3, math.nan, math.inf]

# optimizers/adaptive (the Adam and RMS families): the arguments each one validates are
# ADAPTIVE_HYPERPARAMETERS (tests/optimizers/checks.py).
ADAPTIVE_BAD_VALUES = {
    "b1": [1.0, -0.1],
    "b2": [1.0, 1.5],
    "eps": [-1e-8, math.inf],
    "eps_root": [-1e-8],
    "weight_decay": [-1e-4],
    "decay": [1.0, -0.5],
    "initial_scale": [-1.0],
    "initial_accumulator_value": [-0.1],
    "momentum": [1.0, -0.5],
}
for _name, _args in ADAPTIVE_HYPERPARAMETERS.items():
    NAMED_BAD[_name] = {arg: ADAPTIVE_BAD_VALUES[arg] for arg in _args}

NAMED_BAD_CASES = [
    (name, arg, value)
    for name, args in NAMED_BAD.items()
    for arg, values in {**args, "learning_rate": LEARNING_RATE_BAD}.items()
    for value in values
]


@pytest.mark.parametrize(
    "name, arg, value", NAMED_BAD_CASES, ids=[f"{n}-{a}={v}" for n, a, v in NAMED_BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_the_argument_and_the_value(name, arg, value):
    kwargs = {"learning_rate": 1e-2, arg: value}
    with pytest.raises(ValueError, match=rf"^{name}: {arg} must be .*got {re.escape(repr(value))}"):
        getattr(gdx, name)(**kwargs)


@pytest.mark.parametrize("name", [*NAMED_BAD, "sm3"])
def test_learning_rate_of_wrong_type_raises_type_error(name):
    with pytest.raises(TypeError, match=f"{name}: learning_rate"):
        getattr(gdx, name)("fast")


# --- any transformation: a bad value names the argument ----------------------------------------

# (gdx name, the keyword arguments it is built with, the argument the error names).
BAD_CASES = [
    # optimizers/adam_variants
    ("scale_by_belief", dict(b1=1.0), "b1"),
    ("scale_by_radam", dict(threshold=math.inf), "threshold"),
    ("scale_by_yogi", dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    # optimizers/adadelta, adan, novograd, optimistic, sign_sgd
    ("scale_by_adadelta", dict(eps=0.0), "eps"),
    ("scale_by_adan", dict(b3=1.0), "b3"),
    ("scale_by_novograd", dict(weight_decay=-1.0), "weight_decay"),
    ("scale_by_optimistic_gradient", dict(beta=math.nan), "beta"),
    ("scale_by_rprop", dict(learning_rate=-1.0), "learning_rate"),
    ("scale_by_rprop", dict(learning_rate=1.0, min_step_size=2.0, max_step_size=1.0), "max_step_size"),
    # optimizers/adaptive
    ("scale_by_adam", dict(b1=1.0), "b1"),
    ("scale_by_adam", dict(eps_root=-1.0), "eps_root"),
    ("scale_by_amsgrad", dict(b2=-0.1), "b2"),
    ("scale_by_amsgrad", dict(eps=-1.0), "eps"),
    ("scale_by_adamax", dict(b1=1.2), "b1"),
    ("scale_by_rms", dict(decay=1.0), "decay"),
    ("scale_by_rms", dict(initial_scale=-1.0), "initial_scale"),
    ("scale_by_stddev", dict(eps=-1.0), "eps"),
    ("scale_by_rss", dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    ("scale_by_rss", dict(eps=-1e-7), "eps"),
    # optimizers/adafactor
    ("adafactor", dict(learning_rate=math.inf), "learning_rate"),
    ("adafactor", dict(learning_rate=-1e-3), "learning_rate"),
    ("adafactor", dict(min_dim_size_to_factor=-1), "min_dim_size_to_factor"),
    ("adafactor", dict(min_dim_size_to_factor=2.5), "min_dim_size_to_factor"),
    ("adafactor", dict(decay_rate=-0.8), "decay_rate"),
    ("adafactor", dict(decay_offset=-1), "decay_offset"),
    ("adafactor", dict(clipping_threshold=0.0), "clipping_threshold"),
    ("adafactor", dict(momentum=1.0), "momentum"),
    ("adafactor", dict(weight_decay_rate=-1e-4), "weight_decay_rate"),
    ("adafactor", dict(eps=-1e-30), "eps"),
    ("scale_by_factored_rms", dict(min_dim_size_to_factor=-2), "min_dim_size_to_factor"),
    ("scale_by_factored_rms", dict(epsilon=-1.0), "epsilon"),
    ("scale_by_factored_rms", dict(step_offset=-3), "step_offset"),
    # optimizers/sm3
    ("sm3", dict(learning_rate=-1e-2), "learning_rate"),
    ("sm3", dict(learning_rate=1e-2, momentum=1.0), "momentum"),
    ("sm3", dict(learning_rate=1e-2, momentum=-0.1), "momentum"),
    ("scale_by_sm3", dict(b1=1.0), "b1"),
    ("scale_by_sm3", dict(b2=1.5), "b2"),
    ("scale_by_sm3", dict(eps=-1e-8), "eps"),
    # optimizers/fromage, noisy_sgd, polyak_sgd
    ("fromage", dict(learning_rate=math.nan), "learning_rate"),
    ("fromage", dict(learning_rate=1e-2, min_norm=-1.0), "min_norm"),
    ("noisy_sgd", dict(learning_rate=-1.0), "learning_rate"),
    ("noisy_sgd", dict(learning_rate=1e-2, eta=-0.01), "eta"),
    ("noisy_sgd", dict(learning_rate=1e-2, gamma=-0.5), "gamma"),
    ("add_noise", dict(eta=-1.0, gamma=0.55), "eta"),
    ("polyak_sgd", dict(max_learning_rate=-1.0), "max_learning_rate"),
    ("polyak_sgd", dict(scaling=-1.0), "scaling"),
    ("polyak_sgd", dict(f_min=math.inf), "f_min"),
    ("polyak_sgd", dict(eps=-1e-3), "eps"),
    ("polyak_sgd", dict(variant="sps++"), "variant"),
    ("scale_by_polyak", dict(max_learning_rate=-1.0), "max_learning_rate"),
    ("scale_by_polyak", dict(variant="polyak"), "variant"),
    # transforms/block, step_size, adaptive_clipping, normalization
    ("scale_by_param_block_norm", dict(min_scale=-1e-3), "min_scale"),
    ("scale_by_param_block_rms", dict(min_scale=-1e-3), "min_scale"),
    ("scale_by_distance_over_gradients", dict(reps_rel=0.0), "reps_rel"),
    ("scale_by_distance_over_gradients", dict(eps=-1.0), "eps"),
    ("adaptive_grad_clip", dict(clipping=0.0), "clipping"),
    ("adaptive_grad_clip", dict(clipping=0.1, eps=-1.0), "eps"),
    ("clip_by_block_rms", dict(threshold=-1.0), "threshold"),
    ("normalize_by_update_norm", dict(scale_factor=0.0), "scale_factor"),
    ("normalize_by_update_norm", dict(eps=-1.0), "eps"),
    # optimizers/acprop, madgrad, galore, sophia, dpsgd
    ("acprop", dict(learning_rate=0.1, b1=1.0), "b1"),
    ("acprop", dict(learning_rate=0.1, b2=-0.1), "b2"),
    ("acprop", dict(learning_rate=0.1, eps_root=-1.0), "eps_root"),
    ("scale_by_acprop", dict(eps=-1.0), "eps"),
    ("madgrad", dict(learning_rate=0.1, momentum=1.0), "momentum"),
    ("madgrad", dict(learning_rate=0.1, eps=-1.0), "eps"),
    ("madgrad", dict(learning_rate=0.1, weight_decay=-1.0), "weight_decay"),
    ("scale_by_madgrad", dict(learning_rate=-0.1), "learning_rate"),
    ("galore", dict(learning_rate=0.1, rank=0), "rank"),
    ("galore", dict(learning_rate=0.1, update_proj_gap=0), "update_proj_gap"),
    ("galore", dict(learning_rate=0.1, scale=math.nan), "scale"),
    ("scale_by_galore", dict(update_proj_gap=2.5), "update_proj_gap"),
    ("sophia", dict(learning_rate=0.1, b1=1.0), "b1"),
    ("sophia", dict(learning_rate=0.1, gamma=-0.01), "gamma"),
    ("sophia", dict(learning_rate=0.1, clip_threshold=0.0), "clip_threshold"),
    ("sophia", dict(learning_rate=0.1, update_interval=0), "update_interval"),
    (
        "sophia",
        dict(learning_rate=0.1, verbose=True, print_win_rate_every_n_steps=0),
        "print_win_rate_every_n_steps",
    ),
    ("differentially_private_aggregate", dict(noise_multiplier=1.0, l2_norm_clip=0.0), "l2_norm_clip"),
    ("differentially_private_aggregate", dict(l2_norm_clip=1.0, noise_multiplier=-1.0), "noise_multiplier"),
    (
        "dpsgd",
        dict(learning_rate=0.1, l2_norm_clip=1.0, noise_multiplier=1.0, seed=0, momentum=1.5),
        "momentum",
    ),
    ("dpsgd", dict(l2_norm_clip=1.0, noise_multiplier=1.0, seed=0, learning_rate=-0.1), "learning_rate"),
    # optimizers/sgd, lion, layerwise (lamb, lars)
    ("sgd", dict(learning_rate=math.inf), "learning_rate"),
    ("sgd", dict(learning_rate=-0.1), "learning_rate"),
    ("sgd", dict(learning_rate=0.1, momentum=1.0), "momentum"),
    ("sgd", dict(learning_rate=0.1, momentum=-0.1), "momentum"),
    ("lion", dict(learning_rate=-1e-3), "learning_rate"),
    ("lion", dict(learning_rate=1e-3, b1=1.0), "b1"),
    ("lion", dict(learning_rate=1e-3, b2=-0.5), "b2"),
    ("lion", dict(learning_rate=1e-3, weight_decay=-1e-3), "weight_decay"),
    ("scale_by_lion", dict(mode="soft"), "mode"),
    ("lamb", dict(learning_rate=1e-3, b1=1.5), "b1"),
    ("lamb", dict(learning_rate=1e-3, b2=1.0), "b2"),
    ("lamb", dict(learning_rate=1e-3, eps=-1e-6), "eps"),
    ("lamb", dict(learning_rate=1e-3, weight_decay=-0.1), "weight_decay"),
    ("lars", dict(learning_rate=-1.0), "learning_rate"),
    ("lars", dict(learning_rate=0.1, weight_decay=-1e-4), "weight_decay"),
    ("lars", dict(learning_rate=0.1, eps=-1.0), "eps"),
    ("lars", dict(learning_rate=0.1, momentum=1.0), "momentum"),
    # optimizers/ademamix, adopt, muon, schedule_free
    ("ademamix", dict(learning_rate=0.01, b3=1.0), "b3"),
    ("ademamix", dict(learning_rate=0.01, alpha=math.inf), "alpha"),
    ("simplified_ademamix", dict(learning_rate=0.01, b1=-0.1), "b1"),
    ("adopt", dict(learning_rate=0.01, b2=1.0), "b2"),
    ("muon", dict(learning_rate=0.01, ns_steps=0), "ns_steps"),
    ("muon", dict(learning_rate=0.01, beta=1.0), "beta"),
    ("muon", dict(learning_rate=0.01, preconditioning="newton"), "preconditioning"),
    ("muon", dict(learning_rate=0.01, ns_coeffs="bogus"), "ns_coeffs"),
    ("muon", dict(learning_rate=0.01, adam_b1=1.0), "adam_b1"),
    ("muon", dict(learning_rate=0.01, adam_learning_rate=-1.0), "adam_learning_rate"),
    ("muon", dict(learning_rate=0.01, consistent_rms=-0.2), "consistent_rms"),
    ("muon", dict(learning_rate=0.01, weight_decay=-0.1), "weight_decay"),
    ("scale_by_muon", dict(ns_steps=2.5), "ns_steps"),
    ("schedule_free", dict(base_optimizer=gdx.sgd(0.1), learning_rate=0.1, b1=0.0), "b1"),
    ("schedule_free_sgd", dict(b1=1.5), "b1"),
    ("schedule_free_sgd", dict(warmup_steps=-1), "warmup_steps"),
    ("schedule_free_sgd", dict(weight_decay=-1.0), "weight_decay"),
    ("schedule_free_adamw", dict(weight_lr_power=-1.0), "weight_lr_power"),
    ("schedule_free_adamw", dict(b2=1.0), "b2"),
    # optimizers/lr_free
    ("prodigy", dict(betas=(1.0, 0.999)), "betas[0]"),
    ("prodigy", dict(betas=(0.9, 1.5)), "betas[1]"),
    ("prodigy", dict(betas=0.9), "betas"),
    ("prodigy", dict(beta3=1.0), "beta3"),
    ("prodigy", dict(eps=-1.0), "eps"),
    ("prodigy", dict(estim_lr0=0.0), "estim_lr0"),
    ("prodigy", dict(estim_lr_coef=-1.0), "estim_lr_coef"),
    ("prodigy", dict(weight_decay=-0.1), "weight_decay"),
    ("dadapt_adamw", dict(betas=(0.9, -0.1)), "betas[1]"),
    ("dadapt_adamw", dict(estim_lr0=-1.0), "estim_lr0"),
    ("dadapt_adamw", dict(weight_decay=math.nan), "weight_decay"),
    ("cocob", dict(alpha=0.0), "alpha"),
    ("cocob", dict(eps=0.0), "eps"),
    ("cocob", dict(weight_decay=-1.0), "weight_decay"),
    ("scale_by_cocob", dict(alpha=-1.0), "alpha"),
    ("dog", dict(init_step=("nope", 1e-6)), "init_step[0]"),
    ("dog", dict(init_step=("distance", 0.0)), "init_step[1]"),
    ("dog", dict(init_step=1e-6), "init_step"),
    ("dog", dict(eps=-1.0), "eps"),
    ("dog", dict(weight_decay=-1.0), "weight_decay"),
    ("dowg", dict(init_estim_sq_dist=0.0), "init_estim_sq_dist"),
    ("dowg", dict(eps=0.0), "eps"),
    ("mechanize", dict(base_optimizer=gdx.adam(1.0), weight_decay=-1.0), "weight_decay"),
    ("mechanize", dict(base_optimizer=gdx.adam(1.0), eps=math.nan), "eps"),
    ("mechanize", dict(base_optimizer=gdx.adam(1.0), s_init=0.0), "s_init"),
    ("mechanize", dict(base_optimizer=gdx.adam(1.0), num_betas=0), "num_betas"),
    ("mechanize", dict(base_optimizer=gdx.adam(1.0), num_betas=2.5), "num_betas"),
    ("momo", dict(learning_rate=-1.0), "learning_rate"),
    ("momo", dict(beta=1.0), "beta"),
    ("momo", dict(lower_bound=math.nan), "lower_bound"),
    ("momo", dict(weight_decay=-1.0), "weight_decay"),
    ("momo_adam", dict(b1=1.0), "b1"),
    ("momo_adam", dict(b2=-0.1), "b2"),
    ("momo_adam", dict(eps=-1.0), "eps"),
    # optimizers/lbfgs (and its line searches)
    ("lbfgs", dict(learning_rate=-1.0), "learning_rate"),
    ("lbfgs", dict(learning_rate=math.nan), "learning_rate"),
    ("lbfgs", dict(learning_rate=math.inf), "learning_rate"),
    ("lbfgs", dict(memory_size=0), "memory_size"),
    ("lbfgs", dict(memory_size=-1), "memory_size"),
    ("lbfgs", dict(memory_size=2.5), "memory_size"),
    ("scale_by_lbfgs", dict(memory_size=0), "memory_size"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=0), "max_linesearch_steps"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=-3), "max_linesearch_steps"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=1.5), "max_linesearch_steps"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, max_learning_rate=0.0), "max_learning_rate"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, max_learning_rate=-1.0), "max_learning_rate"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, tol=-1e-3), "tol"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, increase_factor=1.0), "increase_factor"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, increase_factor=0.5), "increase_factor"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, increase_factor=math.inf), "increase_factor"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, slope_rtol=-0.1), "slope_rtol"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, slope_rtol=1.0), "slope_rtol"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, curv_rtol=0.0), "curv_rtol"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, curv_rtol=-1.0), "curv_rtol"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, curv_rtol=0.4, slope_rtol=0.5), "slope_rtol"),
    ("scale_by_zoom_linesearch", dict(max_linesearch_steps=5, approx_dec_rtol=-1e-6), "approx_dec_rtol"),
    (
        "scale_by_zoom_linesearch",
        dict(max_linesearch_steps=5, stepsize_precision=-1e-5),
        "stepsize_precision",
    ),
    (
        "scale_by_zoom_linesearch",
        dict(max_linesearch_steps=5, initial_guess_strategy="two"),
        "initial_guess_strategy",
    ),
    ("scale_by_backtracking_linesearch", dict(max_backtracking_steps=-1), "max_backtracking_steps"),
    ("scale_by_backtracking_linesearch", dict(max_backtracking_steps=2.5), "max_backtracking_steps"),
    ("scale_by_backtracking_linesearch", dict(max_backtracking_steps=5, slope_rtol=1.0), "slope_rtol"),
    ("scale_by_backtracking_linesearch", dict(max_backtracking_steps=5, slope_rtol=-0.5), "slope_rtol"),
    (
        "scale_by_backtracking_linesearch",
        dict(max_backtracking_steps=5, decrease_factor=0.0),
        "decrease_factor",
    ),
    (
        "scale_by_backtracking_linesearch",
        dict(max_backtracking_steps=5, decrease_factor=1.0),
        "decrease_factor",
    ),
    (
        "scale_by_backtracking_linesearch",
        dict(max_backtracking_steps=5, decrease_factor=1.5),
        "decrease_factor",
    ),
    (
        "scale_by_backtracking_linesearch",
        dict(max_backtracking_steps=5, increase_factor=0.5),
        "increase_factor",
    ),
    (
        "scale_by_backtracking_linesearch",
        dict(max_backtracking_steps=5, increase_factor=math.nan),
        "increase_factor",
    ),
    (
        "scale_by_backtracking_linesearch",
        dict(max_backtracking_steps=5, max_learning_rate=0.0),
        "max_learning_rate",
    ),
    ("scale_by_backtracking_linesearch", dict(max_backtracking_steps=5, atol=-1.0), "atol"),
    ("scale_by_backtracking_linesearch", dict(max_backtracking_steps=5, rtol=-1.0), "rtol"),
    # optimizers/shampoo_soap: each named optimizer and, but for weight_decay, its transform
    ("shampoo", dict(learning_rate=0.01, block_size=0), "block_size"),
    ("scale_by_shampoo", dict(block_size=0), "block_size"),
    ("shampoo", dict(learning_rate=0.01, block_size=2.5), "block_size"),
    ("scale_by_shampoo", dict(block_size=2.5), "block_size"),
    ("shampoo", dict(learning_rate=0.01, b1=1.0), "b1"),
    ("scale_by_shampoo", dict(b1=1.0), "b1"),
    ("shampoo", dict(learning_rate=0.01, b2=-0.1), "b2"),
    ("scale_by_shampoo", dict(b2=-0.1), "b2"),
    ("shampoo", dict(learning_rate=0.01, matrix_epsilon=-1e-6), "matrix_epsilon"),
    ("scale_by_shampoo", dict(matrix_epsilon=-1e-6), "matrix_epsilon"),
    ("shampoo", dict(learning_rate=0.01, diagonal_epsilon=math.nan), "diagonal_epsilon"),
    ("scale_by_shampoo", dict(diagonal_epsilon=math.nan), "diagonal_epsilon"),
    ("shampoo", dict(learning_rate=0.01, start_preconditioning_step=-1), "start_preconditioning_step"),
    ("scale_by_shampoo", dict(start_preconditioning_step=-1), "start_preconditioning_step"),
    ("shampoo", dict(learning_rate=0.01, preconditioning_compute_steps=0), "preconditioning_compute_steps"),
    ("scale_by_shampoo", dict(preconditioning_compute_steps=0), "preconditioning_compute_steps"),
    ("shampoo", dict(learning_rate=0.01, graft_type="adam"), "graft_type"),
    ("scale_by_shampoo", dict(graft_type="adam"), "graft_type"),
    ("shampoo", dict(learning_rate=0.01, exponent_override=-2), "exponent_override"),
    ("scale_by_shampoo", dict(exponent_override=-2), "exponent_override"),
    ("shampoo", dict(learning_rate=0.01, weight_decay=-0.1), "weight_decay"),
    ("soap", dict(learning_rate=0.01, b1=1.0), "b1"),
    ("scale_by_soap", dict(b1=1.0), "b1"),
    ("soap", dict(learning_rate=0.01, b2=1.5), "b2"),
    ("scale_by_soap", dict(b2=1.5), "b2"),
    ("soap", dict(learning_rate=0.01, shampoo_beta=1.0), "shampoo_beta"),
    ("scale_by_soap", dict(shampoo_beta=1.0), "shampoo_beta"),
    ("soap", dict(learning_rate=0.01, shampoo_beta=math.inf), "shampoo_beta"),
    ("scale_by_soap", dict(shampoo_beta=math.inf), "shampoo_beta"),
    ("soap", dict(learning_rate=0.01, eps=-1e-8), "eps"),
    ("scale_by_soap", dict(eps=-1e-8), "eps"),
    ("soap", dict(learning_rate=0.01, precondition_frequency=0), "precondition_frequency"),
    ("scale_by_soap", dict(precondition_frequency=0), "precondition_frequency"),
    ("soap", dict(learning_rate=0.01, max_precond_dim=0), "max_precond_dim"),
    ("scale_by_soap", dict(max_precond_dim=0), "max_precond_dim"),
    ("soap", dict(learning_rate=0.01, weight_decay=-0.01), "weight_decay"),
    # transforms/clipping, momentum; wrappers/sam
    ("clip_by_global_norm", dict(max_norm=0.0), "max_norm"),
    ("clip_by_global_norm", dict(max_norm=-1.0), "max_norm"),
    ("ema", dict(decay=1.0), "decay"),
    ("sam", dict(optimizer=gdx.sgd(0.1), adv_optimizer=gdx.sgd(0.1), sync_period=0), "sync_period"),
]


@pytest.mark.parametrize(
    "name, kwargs, argument", BAD_CASES, ids=[f"{n}-{a}={list(k.values())[-1]}" for n, k, a in BAD_CASES]
)
def test_bad_hyperparameter_raises_naming_the_argument(name, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{name}: {re.escape(argument)} must be"):
        getattr(gdx, name)(**kwargs)


# The same for a value of the wrong type (a string where a number belongs).
BAD_TYPE_CASES = [
    # optimizers/lr_free
    ("dowg", dict(weight_decay="0.1"), "weight_decay"),
    ("mechanize", dict(base_optimizer=gdx.adam(1.0), weight_decay="0.1"), "weight_decay"),
]


@pytest.mark.parametrize(
    "name, kwargs, argument",
    BAD_TYPE_CASES,
    ids=[f"{n}-{a}={list(k.values())[-1]}" for n, k, a in BAD_TYPE_CASES],
)
def test_hyperparameter_of_wrong_type_raises_type_error_naming_the_argument(name, kwargs, argument):
    with pytest.raises(TypeError, match=rf"^{name}: {re.escape(argument)} must be"):
        getattr(gdx, name)(**kwargs)


# --- params and grads ---------------------------------------------------------------------------


def named(name, *args, **kwargs):
    return lambda: getattr(gdx, name)(*args, **kwargs)


# Named optimizers, as built for the params checks.
NAMED = {
    **{name: named(name, 1e-2) for name in NAMED_BAD},
    "adafactor": named("adafactor", 1e-2, min_dim_size_to_factor=2),
    "sm3": named("sm3", 1e-2),
    "fromage": named("fromage", 1e-2),
    "polyak_sgd": named("polyak_sgd"),
    "noisy_sgd": named("noisy_sgd", 1e-2, key=0),
    # optimizers/sgd, lion, layerwise
    **{name: named(name, 0.1) for name in ["sgd", "lion", "lamb", "lars"]},
}


@pytest.mark.parametrize(
    "steps",
    [jnp.zeros(2, jnp.int32), jnp.zeros(2, jnp.bool_), jnp.zeros((), jnp.int32)],
    ids=["int32", "bool", "int32-scalar"],
)
@pytest.mark.parametrize("name", NAMED)
def test_non_float_params_raise_type_error_at_init(name, steps):
    params = {"w": jnp.ones(3), "steps": steps}
    with pytest.raises(TypeError, match=rf"^{name}: params leaf at \['steps'\]"):
        NAMED[name]().init(params)


# A grads tree of another structure, or a leaf of another shape, names the path: on a nested tree
# (the rows of optimizers/adam_variants, adadelta, adan, novograd, optimistic, sign_sgd) ...
NESTED_MISMATCH = [name for name in NAMED_BAD if name not in ADAPTIVE_HYPERPARAMETERS and name != "sign_sgd"]


@pytest.mark.parametrize("name", NESTED_MISMATCH)
def test_grads_tree_mismatch_names_the_first_differing_path(name):
    tx = NAMED[name]()
    params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
    state = tx.init(params)
    wrong_structure = {"dense": {"kernel": jnp.ones((2, 2)), "scale": jnp.ones(2)}}
    with pytest.raises(ValueError, match="bias|scale"):
        tx.update(wrong_structure, state, params)
    wrong_shape = {"dense": {"kernel": jnp.ones((3, 2)), "bias": jnp.ones(2)}}
    with pytest.raises(ValueError, match=r"\['dense'\]\['kernel'\]"):
        tx.update(wrong_shape, state, params)


# ... and on `params_f32()`: transformations that keep per-leaf state or check the grads against
# the params.
PER_LEAF = {
    **{name: NAMED[name] for name in ADAPTIVE_HYPERPARAMETERS},
    "adafactor": NAMED["adafactor"],
    "scale_by_factored_rms": named("scale_by_factored_rms", min_dim_size_to_factor=2),
    "sm3": NAMED["sm3"],
    "scale_by_sm3": named("scale_by_sm3"),
    "scale_by_param_block_rms": named("scale_by_param_block_rms"),
    "scale_by_distance_over_gradients": named("scale_by_distance_over_gradients"),
    "adaptive_grad_clip": named("adaptive_grad_clip", 0.1),
    "zero_nans": named("zero_nans"),
    "keep_params_nonnegative": named("keep_params_nonnegative"),
}


@pytest.mark.parametrize("name", PER_LEAF)
def test_grads_with_another_structure_raise_naming_the_path(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    state = tx.init(params)
    grads = {"a": params["a"], "c": params["b"]}
    with pytest.raises(ValueError, match=re.escape("['c']")):
        tx.update(grads, state, params)


@pytest.mark.parametrize("name", [n for n in PER_LEAF if n != "zero_nans"])
def test_grads_with_another_shape_raise_naming_the_path(name):
    tx = PER_LEAF[name]()
    params = params_f32()
    state = tx.init(params)
    grads = {"a": params["a"], "b": jnp.ones(5)}
    with pytest.raises(ValueError, match=re.escape("['b'] has shape (5,)")):
        tx.update(grads, state, params)


NEEDS_PARAMS = [
    "adamw",
    "nadamw",
    "adamaxw",
    "adafactor",
    "scale_by_factored_rms",
    "fromage",
    "scale_by_param_block_rms",
    "scale_by_distance_over_gradients",
    "adaptive_grad_clip",
    "keep_params_nonnegative",
]


@pytest.mark.parametrize("name", NEEDS_PARAMS)
def test_missing_params_is_a_clear_error(name):
    tx = {**NAMED, **PER_LEAF}[name]()
    params = params_f32()
    with pytest.raises(ValueError, match="needs params"):
        tx.update(params, tx.init(params))


# --- a step count at its int32 maximum ---------------------------------------------------------

# (transform, its keyword arguments, the state field that holds the count).
SATURATING = [
    ("scale_by_adam", {}, "count"),
    ("scale_by_amsgrad", {}, "count"),
    ("scale_by_adamax", {}, "count"),
    ("scale_by_rms", dict(bias_correction=True), "count"),
    ("scale_by_belief", {}, "count"),
    ("scale_by_radam", {}, "count"),
    ("scale_by_yogi", {}, "count"),
    ("scale_by_adan", {}, "t"),
]


@pytest.mark.parametrize("name, kwargs, field", SATURATING, ids=[n for n, _, _ in SATURATING])
def test_saturated_step_count_keeps_updates_finite(name, kwargs, field):
    tx = getattr(gdx, name)(**kwargs)
    params = params_f32()
    state = tx.init(params)._replace(**{field: jnp.array(np.iinfo(np.int32).max, jnp.int32)})
    updates, state = tx.update(grads_like(params), state)
    assert int(getattr(state, field)) == np.iinfo(np.int32).max
    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))


# --- complex params, three steps against optax -------------------------------------------------

# (transform, its keyword arguments, atol): the harness draws real gradients only; complex moments
# use |g|**2 = g * conj(g). rtol is 1e-6 for all.
COMPLEX_CASES = [
    ("scale_by_adam", {}, 0.0),
    ("scale_by_adam", dict(nesterov=True), 0.0),
    ("scale_by_amsgrad", {}, 0.0),
    ("scale_by_rms", {}, 0.0),
    ("scale_by_stddev", dict(bias_correction=True), 0.0),
    ("scale_by_rss", {}, 0.0),
    ("scale_by_belief", {}, 1e-7),
    ("scale_by_yogi", {}, 1e-7),
    ("scale_by_radam", dict(threshold=1.0), 1e-7),
    ("scale_by_adan", {}, 1e-7),
    ("scale_by_optimistic_gradient", {}, 1e-7),
    ("scale_by_sign", {}, 1e-7),
]


@pytest.mark.parametrize(
    "name, kwargs, atol", COMPLEX_CASES, ids=[f"{n}-{'-'.join(k) or 'defaults'}" for n, k, _ in COMPLEX_CASES]
)
def test_complex_params_match_optax(name, kwargs, atol):
    params = {"w": jnp.asarray(np.arange(6.0) + 1j * np.arange(6.0)[::-1], jnp.complex64)}
    grads = [{"w": jnp.asarray(np.full(6, 0.3 - 0.7j) * (k + 1), jnp.complex64)} for k in range(3)]
    tx = getattr(gdx, name)(**kwargs)
    state = tx.init(params)
    for g in grads:
        updates, state = tx.update(g, state)
    with optax_promotion(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's complex -> real cast in optax's radam
        reference = getattr(optax, name)(**kwargs)
        reference_state = reference.init(params)
        for g in grads:
            expected, reference_state = reference.update(g, reference_state)
    assert updates["w"].dtype == expected["w"].dtype
    np.testing.assert_allclose(updates["w"], expected["w"], rtol=1e-6, atol=atol)
    for got, want in zip(jax.tree.leaves(state), jax.tree.leaves(reference_state)):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=atol)


# --- transformations outside the contract suite: jit once, dtypes kept, state of arrays ----------

MIXED = make_params(0)  # float32 leaves and a bfloat16 one


def per_example(params, batch=3):
    return jax.tree.map(lambda x: jnp.stack([x * (i + 1) for i in range(batch)]), params)


def objective(params):
    return sum(
        jnp.sum(0.5 * x.astype(jnp.float32) ** 2 + 0.1 * x.astype(jnp.float32) ** 4)
        for x in jax.tree.leaves(params)
    )


def same(params):
    return params


# name: (make, grads from the params, extra arguments of update).
OUTSIDE_CONTRACT = {
    "dpsgd": (named("dpsgd", 0.1, 1.0, 0.5, seed=0, momentum=0.9), per_example, {}),
    "sophia": (named("sophia", 0.01, update_interval=2), same, {"obj_fn": objective}),
    "normalize": (named("normalize"), same, {}),
    "split_real_and_imaginary": (lambda: gdx.split_real_and_imaginary(gdx.adam(0.1)), same, {}),
}


@pytest.mark.parametrize("name", sorted(OUTSIDE_CONTRACT))
def test_jits_once_keeps_dtypes_and_state_is_arrays(name):
    make, grads_of, extra = OUTSIDE_CONTRACT[name]
    tx, traces = make(), []

    @jax.jit
    def step(params, state):
        traces.append(1)
        updates, state = tx.update(grads_of(params), state, params, **extra)
        return gdx.apply_updates(params, updates), state, updates

    params, state = MIXED, tx.init(MIXED)
    for _ in range(3):
        params, new_state, updates = step(params, state)
        assert jax.tree.structure(new_state) == jax.tree.structure(state)
        for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
            assert (
                isinstance(after, jax.Array) and before.dtype == after.dtype and before.shape == after.shape
            )
        state = new_state
    assert len(traces) == 1
    for update, param in zip(jax.tree.leaves(updates), jax.tree.leaves(MIXED)):
        assert update.dtype == param.dtype and update.shape == param.shape
        assert bool(jnp.all(jnp.isfinite(update.astype(jnp.float32))))

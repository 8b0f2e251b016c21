"""Shampoo and SOAP (gdx-only, no optax counterpart): NumPy references, preconditioner
properties, convergence against Adam, and vmap/pmap (bad hyperparameters:
tests/optimizers/test_generic.py).

The NumPy references are written from the papers' pseudo-code (Gupta et al. 2018 with
Anil et al. 2020's blocking/grafting; Vyas et al. 2024's Algorithm / reference
`soap.py`), in float64, with ragged blocks cut by slicing (gdx pads) and SOAP's
first moment kept in the original basis (gdx keeps it in the eigenbasis and rotates
it on refresh): the same maths written a different way.
"""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdx
from gdx.transforms.preconditioners import kronecker

TINY = float(np.finfo(np.float32).tiny)


def random_grads(shapes, steps, seed=0):
    rng = np.random.default_rng(seed)
    return [{k: rng.standard_normal(s) for k, s in shapes.items()} for _ in range(steps)]


def run_gdx(tx, shapes, grads):
    params = {k: jnp.zeros(s, jnp.float32) for k, s in shapes.items()}
    state = tx.init(params)
    update = jax.jit(tx.update)
    outs = []
    for g in grads:
        u, state = update({k: jnp.asarray(v, jnp.float32) for k, v in g.items()}, state, params)
        outs.append({k: np.asarray(v, np.float64) for k, v in u.items()})
    return outs, state


# --- NumPy Shampoo ---------------------------------------------------------------------


def np_inverse_root(m, p, eps):
    w, v = np.linalg.eigh((m + m.T) / 2)
    w = np.maximum(w, max(eps * w.max(), TINY))
    return (v * w ** (-1.0 / p)) @ v.T


def np_shampoo(grads, block, b1, b2, deps, meps, start, every, graft_type, nesterov):
    state, outs = {}, []
    for s, g_tree in enumerate(grads):
        out = {}
        for k, g in g_tree.items():
            st = state.setdefault(k, {"mu": np.zeros_like(g), "v": np.zeros_like(g), "blocks": {}})
            if graft_type == "sgd":
                graft = g
            elif graft_type == "adagrad":
                st["v"] = st["v"] + g * g
                graft = g / (np.sqrt(st["v"]) + deps)
            else:
                st["v"] = b2 * st["v"] + (1 - b2) * g * g
                graft = g / (np.sqrt(st["v"] / (1 - b2 ** (s + 1))) + deps)
            direction = graft
            if g.ndim >= 2:
                mat, graft_mat = g.reshape(-1, g.shape[-1]), graft.reshape(-1, g.shape[-1])
                shampoo = np.zeros_like(mat)
                for i in range(0, mat.shape[0], block):
                    for j in range(0, mat.shape[1], block):
                        gb = mat[i : i + block, j : j + block]
                        b = st["blocks"].setdefault(
                            (i, j), {"L": 0 * gb @ gb.T, "R": 0 * gb.T @ gb, "PL": None, "PR": None}
                        )
                        b["L"] = b2 * b["L"] + (1 - b2) * gb @ gb.T
                        b["R"] = b2 * b["R"] + (1 - b2) * gb.T @ gb
                        if s % every == 0:
                            b["PL"], b["PR"] = (
                                np_inverse_root(b["L"], 4, meps),
                                np_inverse_root(b["R"], 4, meps),
                            )
                        pre = b["PL"] @ gb @ b["PR"]
                        graft_norm = np.linalg.norm(graft_mat[i : i + block, j : j + block])
                        shampoo[i : i + block, j : j + block] = pre * graft_norm / np.linalg.norm(pre)
                if s >= start:
                    direction = shampoo.reshape(g.shape)
            st["mu"] = b1 * st["mu"] + direction
            out[k] = b1 * st["mu"] + direction if nesterov else st["mu"]
        outs.append(out)
    return outs


SHAMPOO_SHAPES = {"w": (4, 3), "big": (6, 5), "bias": (3,), "conv": (2, 2, 3)}
SHAMPOO_CONFIGS = [
    dict(b1=0.9, b2=0.99, graft_type="rmsprop", nesterov=True, start=2, every=2),
    dict(b1=0.5, b2=0.9, graft_type="adagrad", nesterov=False, start=0, every=1),
    dict(b1=0.0, b2=0.999, graft_type="sgd", nesterov=True, start=1, every=3),
]


@pytest.mark.parametrize("config", SHAMPOO_CONFIGS, ids=lambda c: c["graft_type"])
def test_shampoo_matches_numpy_reference(config):
    grads = random_grads(SHAMPOO_SHAPES, steps=6)
    tx = gdx.scale_by_shampoo(
        block_size=4,
        b1=config["b1"],
        b2=config["b2"],
        start_preconditioning_step=config["start"],
        preconditioning_compute_steps=config["every"],
        graft_type=config["graft_type"],
        nesterov=config["nesterov"],
    )
    got, _ = run_gdx(tx, SHAMPOO_SHAPES, grads)
    want = np_shampoo(grads, 4, config["b1"], config["b2"], 1e-10, 1e-6, config["start"], config["every"],
                      config["graft_type"], config["nesterov"])  # fmt: skip
    for step, (g, w) in enumerate(zip(got, want)):
        for k in SHAMPOO_SHAPES:
            # float32 eigh/matmuls vs float64: inverse 4th roots of 3x3..4x4 blocks whose
            # statistics are rank-deficient in the first steps (eigenvalues clipped at 1e-6 of
            # the largest) amplify float32 rounding ~1e2x; the largest error seen is 1/3 of this bound.
            np.testing.assert_allclose(g[k], w[k], rtol=2e-4, atol=2e-5, err_msg=f"step {step} leaf {k}")


# --- NumPy SOAP ------------------------------------------------------------------------


def np_soap(grads, b1, b2, sb, eps, freq, max_dim):
    state, outs = {}, []
    for g_tree in grads:
        out = {}
        for k, g in g_tree.items():
            factors = (
                [g.ndim == 2 and g.shape[d] <= max_dim for d in (0, 1)] if g.ndim == 2 else [False, False]
            )
            st = state.get(k)
            if st is None:  # first call: statistics and eigh bases only, no step
                st = state[k] = {
                    "step": 0,
                    "m": np.zeros_like(g),
                    "v": np.zeros_like(g),
                    "L": None,
                    "R": None,
                }
                st["L"] = (1 - sb) * g @ g.T if factors[0] else None
                st["R"] = (1 - sb) * g.T @ g if factors[1] else None
                st["QL"] = None if st["L"] is None else np.flip(np.linalg.eigh(st["L"])[1], 1)
                st["QR"] = None if st["R"] is None else np.flip(np.linalg.eigh(st["R"])[1], 1)
                out[k] = np.zeros_like(g)
                continue

            def project(x, st=st):
                x = x if st["QL"] is None else st["QL"].T @ x
                return x if st["QR"] is None else x @ st["QR"]

            def back(x, st=st):
                x = x if st["QL"] is None else st["QL"] @ x
                return x if st["QR"] is None else x @ st["QR"].T

            st["step"] += 1
            t = st["step"]
            st["m"] = b1 * st["m"] + (1 - b1) * g  # first moment in the original basis
            st["v"] = b2 * st["v"] + (1 - b2) * project(g) ** 2
            out[k] = back(project(st["m"]) / (np.sqrt(st["v"]) + eps)) * np.sqrt(1 - b2**t) / (1 - b1**t)
            if st["L"] is not None:
                st["L"] = sb * st["L"] + (1 - sb) * g @ g.T
            if st["R"] is not None:
                st["R"] = sb * st["R"] + (1 - sb) * g.T @ g
            if t % freq == 0:
                for name, stats, axis in (("QL", "L", 0), ("QR", "R", 1)):
                    if st[name] is None:
                        continue
                    q = st[name]
                    order = np.argsort(-np.diag(q.T @ st[stats] @ q), kind="stable")
                    st["v"] = np.take(st["v"], order, axis=axis)
                    st[name] = np.linalg.qr(st[stats] @ q[:, order])[0]
        outs.append(out)
    return outs


# Shapes whose first-step statistics have at most a 1-D null space, so the first eigenbasis
# is unique up to signs (which the update does not depend on); "tall" exceeds max_precond_dim=5.
SOAP_SHAPES = {"w": (4, 3), "sq": (3, 3), "tall": (7, 4), "bias": (4,)}


@pytest.mark.parametrize(("b1", "b2", "shampoo_beta", "freq"), [(0.95, 0.95, -1.0, 3), (0.9, 0.99, 0.8, 4)])
def test_soap_matches_numpy_reference(b1, b2, shampoo_beta, freq):
    grads = random_grads(SOAP_SHAPES, steps=10, seed=1)
    tx = gdx.scale_by_soap(b1, b2, shampoo_beta, 1e-8, precondition_frequency=freq, max_precond_dim=5)
    got, _ = run_gdx(tx, SOAP_SHAPES, grads)
    want = np_soap(grads, b1, b2, b2 if shampoo_beta < 0 else shampoo_beta, 1e-8, freq, 5)
    for step, (g, w) in enumerate(zip(got, want)):
        for k in SOAP_SHAPES:
            # Adam's m / sqrt(v) in a float32 eigenbasis vs float64: components along
            # low-energy eigendirections carry ~1e-6 relative error, refreshed bases
            # (eigh, QR) add their own rounding; the largest error seen is 1/10 of this bound.
            np.testing.assert_allclose(g[k], w[k], rtol=1e-4, atol=1e-5, err_msg=f"step {step} leaf {k}")


# --- preconditioner properties ---------------------------------------------------------


def test_inverse_pth_root_times_the_root_is_identity():
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((3, 6, 6)))
    spd = (q * np.logspace(0, 2, 6)) @ np.swapaxes(q, -1, -2)  # condition number 100, batched
    for p in (2, 4):
        root = np.asarray(kronecker.inverse_pth_root(jnp.asarray(spd, jnp.float32), p, 0.0), np.float64)
        # float32 eigh of a condition-100 matrix: ~1e-6 * 100 relative error in the product.
        eye = np.broadcast_to(np.eye(6), spd.shape)
        np.testing.assert_allclose(np.linalg.matrix_power(root, p) @ spd, eye, atol=2e-4)


def test_shampoo_with_exact_statistics_steps_along_the_polar_factor():
    # b2 = 0: L = G G^T and R = G^T G exactly, so L^(-1/4) G R^(-1/4) = U V^T (G = U S V^T).
    g = np.random.default_rng(3).standard_normal((5, 5))
    tx = gdx.scale_by_shampoo(b1=0.0, b2=0.0, start_preconditioning_step=0, nesterov=False)
    params = {"w": jnp.zeros((5, 5), jnp.float32)}
    updates, state = tx.update({"w": jnp.asarray(g, jnp.float32)}, tx.init(params))
    left, left_root = np.asarray(state.stats_left["w"][0, 0]), np.asarray(state.precond_left["w"][0, 0])
    np.testing.assert_allclose(left, g @ g.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.linalg.matrix_power(left_root.astype(np.float64), 4) @ (g @ g.T), np.eye(5),
                               atol=1e-3)  # fmt: skip  # float32 root of a matrix of condition ~1e3
    u, _, vt = np.linalg.svd(g)
    polar = u @ vt
    # SGD grafting keeps the gradient's Frobenius norm.
    np.testing.assert_allclose(updates["w"], polar * np.linalg.norm(g) / np.sqrt(5), rtol=1e-3, atol=1e-4)


def test_soap_bases_are_orthonormal_and_start_as_the_eigenbases():
    shapes = {"w": (5, 4)}
    grads = random_grads(shapes, steps=4, seed=4)
    tx = gdx.scale_by_soap(precondition_frequency=2)
    _, first = run_gdx(tx, shapes, grads[:1])
    for stats, basis in (
        (first.stats_left["w"], first.basis_left["w"]),
        (first.stats_right["w"], first.basis_right["w"]),
    ):
        stats, basis = np.asarray(stats, np.float64), np.asarray(basis, np.float64)
        np.testing.assert_allclose(basis.T @ basis, np.eye(len(basis)), atol=1e-5)
        rotated = basis.T @ stats @ basis
        np.testing.assert_allclose(rotated - np.diag(np.diag(rotated)), 0, atol=1e-4)
        assert np.all(np.diff(np.diag(rotated)) <= 1e-5)  # descending, as the reference
    _, refreshed = run_gdx(tx, shapes, grads)  # the basis was refreshed by QR at step 2
    for basis in (refreshed.basis_left["w"], refreshed.basis_right["w"]):
        basis = np.asarray(basis, np.float64)
        np.testing.assert_allclose(basis.T @ basis, np.eye(len(basis)), atol=1e-5)


# --- convergence: an ill-conditioned Kronecker-structured quadratic with a matrix param --


def test_shampoo_and_soap_beat_adam_on_an_ill_conditioned_matrix_quadratic():
    # loss(W) = 0.5 <W, H_L W H_R>, H_L and H_R rotated, each of condition 100 (1e4 in all).
    # Each optimizer gets its best loss over the same learning-rate grid after 200 steps;
    # SOAP runs with Adam's betas, so the comparison is "Adam in the eigenbasis vs Adam".
    # Seen: Adam 0.25, Shampoo 3e-9, SOAP 8e-6; asserted: at least 100x better than Adam.
    rng = np.random.default_rng(0)

    def spd():
        q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
        return jnp.asarray((q * np.logspace(0, 2, 8)) @ q.T, jnp.float32)

    h_left, h_right = spd(), spd()
    w0 = jnp.asarray(rng.standard_normal((8, 8)), jnp.float32)

    def loss(params):
        return 0.5 * jnp.sum(params["w"] * (h_left @ params["w"] @ h_right))

    def best_loss(make):
        def final_loss(lr):
            tx = make(lr)

            def body(carry, _):
                params, state = carry
                updates, state = tx.update(jax.grad(loss)(params), state, params)
                return (gdx.apply_updates(params, updates), state), None

            params = {"w": w0}
            (params, _), _ = jax.lax.scan(body, (params, tx.init(params)), None, length=200)
            return loss(params)

        losses = jax.jit(jax.vmap(final_loss))(jnp.array([1.0, 0.3, 0.1, 0.03], jnp.float32))
        assert bool(jnp.all(jnp.isfinite(losses)))
        return float(jnp.min(losses))

    adam = best_loss(lambda lr: gdx.adam(lr))
    shampoo = best_loss(lambda lr: gdx.shampoo(lr, graft_type="rmsprop"))
    soap = best_loss(lambda lr: gdx.soap(lr, b1=0.9, b2=0.999, weight_decay=0.0))
    assert shampoo < adam / 100, (shampoo, adam)
    assert soap < adam / 100, (soap, adam)


# --- vmap and pmap on matrix leaves (the contract suite's quadratic has only vectors) ---

MAKERS = {
    "shampoo": lambda: gdx.shampoo(0.05, block_size=2, start_preconditioning_step=1, graft_type="adagrad"),
    "soap": lambda: gdx.soap(0.05, precondition_frequency=2),
}


INPUTS = jnp.asarray(np.random.default_rng(5).standard_normal((3, 5)), jnp.float32)


def matrix_loss(params, target):
    # Full-rank (4, 3) gradients: SOAP's first eigenbasis is then unique up to signs (a
    # rank-1 gradient would leave a 3-D null space whose basis is arbitrary, in any implementation).
    return jnp.sum((params["w"] @ INPUTS - target) ** 2) + jnp.sum(params["b"] ** 2)


@pytest.mark.parametrize("name", list(MAKERS))
def test_vmap_and_pmap_on_matrix_leaves(name):
    # Each step sees new targets: with an unchanged gradient, SOAP's first Adam step would take
    # the signs of the (rounding-level) off-diagonal entries of G in G's own singular basis,
    # which no two reduction orders agree on (the reference code behaves the same).
    tx = MAKERS[name]()
    steps = 4

    def step(params, state, target):
        updates, state = tx.update(jax.grad(matrix_loss)(params, target), state, params)
        return gdx.apply_updates(params, updates), state

    def run(params, targets):
        (params, _), _ = jax.lax.scan(
            lambda carry, t: (step(*carry, t), None), (params, tx.init(params)), targets
        )
        return params

    batch = {"w": jnp.arange(36.0).reshape(3, 4, 3) / 36 - 0.5, "b": jnp.ones((3, 2))}
    targets = jnp.asarray(np.random.default_rng(6).standard_normal((3, steps, 4, 5)), jnp.float32)
    batched = jax.jit(jax.vmap(run))(batch, targets)
    single_run = jax.jit(run)
    for i in range(3):
        single = single_run(jax.tree.map(lambda x, i=i: x[i], batch), targets[i])
        for got, want in zip(jax.tree.leaves(batched), jax.tree.leaves(single)):
            np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-6)

    devices = jax.local_device_count()
    params = jax.tree.map(lambda x: x[0], batch)
    device_targets = jnp.asarray(
        np.random.default_rng(7).standard_normal((steps, devices, 4, 5)), jnp.float32
    )

    def pmap_step(params, state, target):
        grads = jax.lax.pmean(jax.grad(matrix_loss)(params, target), "data")
        updates, state = tx.update(grads, state, params)
        return gdx.apply_updates(params, updates), state

    @jax.jit
    def full_batch_step(params, state, targets):
        per_device = jax.vmap(jax.grad(matrix_loss), (None, 0))(params, targets)
        updates, state = tx.update(jax.tree.map(lambda g: jnp.mean(g, axis=0), per_device), state, params)
        return gdx.apply_updates(params, updates), state

    replicate = lambda tree: jax.tree.map(lambda x: jnp.broadcast_to(x, (devices, *x.shape)), tree)  # noqa: E731
    p_params, p_state = replicate(params), replicate(tx.init(params))
    state = tx.init(params)
    pmapped = jax.pmap(pmap_step, axis_name="data")
    for t in range(steps):
        p_params, p_state = pmapped(p_params, p_state, device_targets[t])
        params, state = full_batch_step(params, state, device_targets[t])
    for got, want in zip(jax.tree.leaves(p_params), jax.tree.leaves(params)):
        np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got[0], got[-1])


# --- validation ------------------------------------------------------------------------


def test_complex_params_are_rejected():
    for make in (gdx.shampoo, gdx.soap):
        with pytest.raises(ValueError, match="complex"):
            make(0.01).init({"w": jnp.ones((2, 2), jnp.complex64)})


HANG_SCRIPT = """
import jax, jax.numpy as jnp, numpy as np, gdx
jax.jit(lambda a: a * 2)(jnp.ones(3)).block_until_ready()  # any computation first
rng = np.random.default_rng(0)
params = {k: jnp.asarray(0.02 * rng.standard_normal(s), jnp.float32) for k, s in
          {"k0": (784, 512), "k2": (512, 10)}.items()}
tx = gdx.shampoo(1e-3)
updates, _ = jax.jit(tx.update)(params, tx.init(params), params)
jax.block_until_ready(updates)
print("done")
"""


def test_shampoo_roots_do_not_hang_xla_cpu_in_a_fresh_process():
    # Regression: one `eigh` per leaf in the same computation (a ragged 784x512 leaf next to
    # another matrix), run after any other computation, never finished on XLA:CPU (jax 0.10.2,
    # one CPU device). The test session's 8 fake devices hide it, so this runs a fresh process
    # with the default single device. gdx now stacks equal-size matrices into one `eigh`.
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run(
        [sys.executable, "-c", HANG_SCRIPT], env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "done"

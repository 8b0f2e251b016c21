"""The substitution harness itself: after it runs, optax's names are gdx's objects.

Run in a fresh interpreter, because the substitution rewrites optax's modules for
the rest of the process (the parity tests need the real optax).
"""

import pathlib
import subprocess
import sys
import textwrap

from tests.conformance import optax_suite

SCRIPT = textwrap.dedent(
    """
    import optax, optax._src.alias, optax._src.base, optax.contrib, optax.transforms
    import gdx
    from tests.conformance import optax_suite
    replaced, missing = optax_suite.substitute_gdx()
    assert replaced > 300, replaced
    assert optax.adam is gdx.adam and optax._src.alias.adam is gdx.adam
    assert optax._src.base.GradientTransformation is gdx.GradientTransformation
    assert optax._src.base.GradientTransformationExtraArgs is gdx.GradientTransformationExtraArgs
    assert optax.contrib.muon is gdx.contrib.muon
    assert optax.transforms.clip_by_global_norm is gdx.transforms.clip_by_global_norm
    # names that another library owns are left alone
    import jax
    assert optax._src.alias.jnp is jax.numpy
    # out-of-scope families keep optax's code
    import optax.losses
    assert optax.losses.l2_loss.__module__.startswith("optax")
    print("ok", replaced, sum(len(v) for v in missing.values()))
    """
)


def test_substitution_replaces_shared_names_with_gdx_objects():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")


def test_baseline_is_recorded_for_the_installed_versions():
    header, baseline = optax_suite.read_baseline()
    assert header == optax_suite.versions_line(), "rerun `make conformance-baseline`"
    assert len(baseline) > 1900


def test_every_exclusion_names_its_documented_difference():
    guide = (pathlib.Path(__file__).parents[2] / "docs" / "guides" / "migrating-from-optax.md").read_text()
    differences = guide.split("## Differences from optax", 1)[1].split("\n## ", 1)[0]
    bullets = [line[4:].split("**", 1)[0] for line in differences.splitlines() if line.startswith("- **")]
    for pattern, reason in optax_suite.EXCLUDED.items():
        assert pattern.startswith("optax/"), pattern
        assert any(reason.startswith(title) for title in bullets), (pattern, reason, bullets)


def test_scope_covers_the_claimed_families():
    paths = optax_suite.test_paths()
    for family in ("/_src/", "/transforms/", "/schedules/", "/contrib/", "/tree_utils/"):
        assert any(family in p for p in paths), family
    assert not any(f"/{out}/" in p for out in optax_suite.OUT_OF_SCOPE for p in paths)

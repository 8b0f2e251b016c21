"""`python -m tests.conformance [--baseline] [pytest args]`: optax's own tests against gdx.

Runs the in-scope optax test files (see `optax_suite.py`) in one pytest session with
the substitution plugin, on 2 worker processes. `--baseline` runs them against
unmodified optax instead and rewrites `optax_baseline.txt`.
"""

import pathlib
import sys

import pytest

from tests.conformance import optax_suite


def main(argv: list[str]) -> int:
    baseline = "--baseline" in argv
    extra = [a for a in argv if a != "--baseline"]
    site_packages = pathlib.Path(optax_suite.test_paths()[0]).parents[2]
    args = [
        "-p",
        "tests.conformance.optax_suite",
        # optax's files, optax's rules: none of gdx's pytest configuration applies.
        "-c",
        str(pathlib.Path(__file__).with_name("pytest.ini")),
        "--rootdir",
        str(site_packages),
        "-p",
        "no:cacheprovider",
        "-q",
        "-n",
        "2",
        "--dist",
        "load",
        *(["--gdx-baseline"] if baseline else []),
        *extra,
        *optax_suite.test_paths(),
    ]
    return int(pytest.main(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# gdx: `make demo` and `make test` are all a fresh machine with python3 needs.
# Both create .venv and install gdx with every extra, pinned by constraints.txt.

PYTHON ?= python3
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed
# Run the pyright bundled in the wheel without asking the network for a newer version.
export PYRIGHT_PYTHON_IGNORE_WARNINGS = 1

.DEFAULT_GOAL := help
.PHONY: help install lint format docs test conformance conformance-baseline demo bench bench-quick bench-flax bench-flax-quick bench-gpu clean

help:
	@echo "make demo     train a small MLP on sklearn digits with gdx and optax, print a table"
	@echo "make test     lint, the whole test suite (pytest -n 2), then optax's own tests against gdx"
	@echo "make conformance  only optax's own test files against gdx (tests/conformance)"
	@echo "make bench    gdx vs optax benchmark, all cases (long); results in benchmarks/results/"
	@echo "make bench-quick  the benchmark's quick mode (under 10 minutes)"
	@echo "make bench-flax   whole training steps of Flax models (bench-flax-quick: fewer cases)"
	@echo "make bench-gpu    the one-call GPU run (benchmarks/gpu.sh; GDX_GPU_DRY=1 on CPU)"
	@echo "make docs     build the HTML site (API reference, pages) into docs/_build/html; warnings fail"
	@echo "make lint     ruff check, ruff format --check, pyright"
	@echo "make format   ruff format and ruff check --fix"
	@echo "make install  create $(VENV) and install gdx[test,demo,dev,docs] (done by the targets above)"
	@echo "make clean    remove $(VENV) and caches"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,demo,dev,docs]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Offline; -W --keep-going: every warning (a docstring that does not render, a broken
# reference) fails the build, and all of them are listed in one run. -E: read every page
# again (Sphinx does not notice a changed docstring, nor docs/_math.py, on unchanged pages).
docs: $(STAMP)
	$(BIN)/sphinx-build -E -W --keep-going -q -b html docs docs/_build/html

# pytest exits 5 when it collects nothing; make stops on any non-zero status.
test: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile
	$(BIN)/python -m tests.conformance

# optax's own test files (from its wheel) with gdx substituted for every shared name.
conformance: $(STAMP)
	$(BIN)/python -m tests.conformance

# Re-record which optax tests pass on unmodified optax (after changing constraints.txt).
conformance-baseline: $(STAMP)
	$(BIN)/python -m tests.conformance --baseline

demo: $(STAMP)
	$(BIN)/python -m gdx demo

# One device, whatever XLA_FLAGS the shell has (the test session fakes 8).
bench: $(STAMP)
	XLA_FLAGS= $(BIN)/python -m benchmarks.run

bench-quick: $(STAMP)
	XLA_FLAGS= $(BIN)/python -m benchmarks.run --quick

bench-flax: $(STAMP)
	XLA_FLAGS= $(BIN)/python -m benchmarks.flax_models

bench-flax-quick: $(STAMP)
	XLA_FLAGS= $(BIN)/python -m benchmarks.flax_models --quick

# On a machine with a GPU: installs jax's CUDA build, about 8 minutes (GDX_GPU_DRY=1: CPU dry run).
bench-gpu: $(STAMP)
	PYTHON=$(BIN)/python bash benchmarks/gpu.sh

clean:
	rm -rf $(VENV) docs/_build docs/api .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

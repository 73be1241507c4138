# The two set-up commands of the README:
#   make demo   - the whole pipeline on the bundled demo warehouse (writes output/)
#   make test   - lint, type-check and the test suite
# Both create .venv and install what they need, Graphviz included where the machine allows.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest system-deps venv bench bench-scale clean docs-cli

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "lineage needs Python >= 3.11; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Graphviz renders SVG/PNG/PDF (the demo needs only it); Chromium drives the HTML explorer's browser
# test. Installed with apt-get when we are root on Debian/Ubuntu; elsewhere we say how.
system-deps:
	@bash scripts/system-deps.sh graphviz chromium

demo: venv
	@bash scripts/system-deps.sh graphviz
	$(BIN)/lineage demo --out output

lint: venv
	$(BIN)/ruff check lineage tests benchmarks scripts
	$(BIN)/ruff format --check lineage tests benchmarks scripts

typecheck: venv
	$(BIN)/mypy

pytest: venv system-deps
	$(BIN)/python -m pytest -q -n 2

test: lint typecheck pytest

# docs/cli.md is generated from every command's --help; tests/test_cli_reference.py fails when it is stale.
docs-cli: venv
	$(BIN)/python scripts/cli_reference.py

bench: venv system-deps
	$(BIN)/python benchmarks/run_all.py

# The scale benchmark alone, at any size: make bench-scale VIEWS=50000 (add ARGS=--double for ratios).
VIEWS ?= 20000
bench-scale: venv system-deps
	$(BIN)/python benchmarks/scale.py --views $(VIEWS) $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

# betex — the two commands a newcomer needs are `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DATA_DIR ?= ./betex-data
PORT ?= 3000
HOST ?= 127.0.0.1

DOMAIN_SRC := $(shell find betex/core/domain -name '*.py') setup.py
BUILT := $(VENV)/.domain-built

.PHONY: serve test lint typecheck man bench recipes clean build

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# BETEX_PURE_PYTHON=1: the install skips compiling, $(BUILT) compiles right after (once, not twice).
$(STAMP): $(BIN)/python pyproject.toml setup.py
	BETEX_PURE_PYTHON=1 $(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# The mypyc build of betex/core/domain, in place (the editable install imports it). Rebuilt when a
# domain source changes; without a C compiler it leaves the pure-Python modules (setup.py).
$(BUILT): $(STAMP) $(DOMAIN_SRC)
	find betex/core/domain -name '*.so' -delete
	$(BIN)/python -c 'import setuptools' 2>/dev/null || $(BIN)/python -m pip install -q 'setuptools>=68'
	$(BIN)/python setup.py -q build_ext --inplace
	touch $(BUILT)

build: $(BUILT)
	@$(BIN)/betex --version

# `make serve PORT=3100 DATA_DIR=/tmp/bx`; Ctrl-C stops it cleanly (drain, commit, close).
serve: $(BUILT)
	$(BIN)/betex serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

test: $(BUILT)
	$(BIN)/ruff check betex tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q --ignore=tests/recipes

lint: $(STAMP)
	$(BIN)/ruff check betex tests bench
	$(BIN)/ruff format --check betex tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

man: $(STAMP)
	$(BIN)/python -m betex.cli.manpages man

# Benchmarks print a table and, as their last line, one JSON object. QUICK=1 for short runs.
BENCH_FLAGS := $(if $(QUICK),--quick,)
bench: $(BUILT)
	@for b in engine wal pipeline e2e cli; do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py $(BENCH_FLAGS) || exit 1; done

# Every recipe in smoke mode, each followed by a check that it left no process running
# (tests/recipes/test_recipes.py; run one alone with `PATH=.venv/bin:$$PATH recipes/NAME.sh --smoke`).
recipes: $(STAMP)
	$(BIN)/python -m pytest -q tests/recipes

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
	find betex -name '*.so' -delete

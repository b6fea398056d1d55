# betex — the two commands a newcomer needs are `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DATA_DIR ?= ./betex-data

.PHONY: serve test lint typecheck man bench recipes clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/betex serve --data-dir $(DATA_DIR)

test: $(STAMP)
	$(BIN)/ruff check betex tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check betex tests bench
	$(BIN)/ruff format --check betex tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

man: $(STAMP)
	$(BIN)/python -m betex.cli.manpages man

# Benchmarks print a table and, as their last line, one JSON object. QUICK=1 for short runs.
BENCH_FLAGS := $(if $(QUICK),--quick,)
bench: $(STAMP)
	@for b in engine wal pipeline e2e; do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py $(BENCH_FLAGS) || exit 1; done

recipes: $(STAMP)
	@for r in recipes/*.sh; do echo "== $$r"; PATH="$(CURDIR)/$(BIN):$$PATH" bash $$r --smoke || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

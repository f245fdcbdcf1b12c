# The two commands a new user runs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck unit integration browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	bash .ci/system-deps.sh
	LIVE_LOGGING_FORMAT=$${LIVE_LOGGING_FORMAT:-text} $(BIN)/live demo

test: $(STAMP)
	bash .ci/system-deps.sh chromium
	$(MAKE) check
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check live tests loadtests
	$(BIN)/ruff format --check live tests loadtests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

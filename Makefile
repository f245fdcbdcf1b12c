# The two commands a new user runs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The locks (requirements/*.lock, made by `make lock`) pin every package with its hashes;
# a stamp is older than its lock after a pull that changed it, so the venv is brought up
# to the lock again. `make run` needs only the server's lock, `make test` the dev one.
LIVE_STAMP := $(VENV)/.installed-live
DEV_STAMP := $(VENV)/.installed-dev
LOCK_PYTHON := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu
LOCK_FLAGS := --quiet --generate-hashes $(LOCK_PYTHON) --custom-compile-command "make lock"

.PHONY: run test check lint typecheck unit lock clean lighthouse

# Every package from lock $(1), then the checkout itself: editable, with no dependencies
# and no build environment of its own (its build backend, setuptools, is in the lock too).
define install_lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r $(1)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(2)
endef

$(LIVE_STAMP): requirements/live.lock pyproject.toml setup.py
	$(call install_lock,requirements/live.lock,$@)

$(DEV_STAMP): requirements/dev.lock pyproject.toml setup.py
	$(call install_lock,requirements/dev.lock,$@)

run: $(LIVE_STAMP)
	bash .ci/system-deps.sh
	LIVE_LOGGING_FORMAT=$${LIVE_LOGGING_FORMAT:-text} $(BIN)/live demo

# axe-core for the browser tests, at the version tools/axe/package-lock.json pins.
AXE := tools/axe/node_modules/axe-core/axe.min.js
$(AXE): tools/axe/package-lock.json
	cd tools/axe && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The medooze WHIP client (whip.js), published through a node that is not the room's
# origin by tests/media/test_nodes.py, at the version tools/whip-whep/package-lock.json pins.
WHIP_WHEP := tools/whip-whep/node_modules/whip-whep/whip.js
$(WHIP_WHEP): tools/whip-whep/package-lock.json
	cd tools/whip-whep && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: $(DEV_STAMP)
	bash .ci/system-deps.sh chromium ffmpeg
	$(MAKE) $(AXE) $(WHIP_WHEP)
	$(MAKE) check
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

check: lint typecheck

lint: $(DEV_STAMP)
	$(BIN)/ruff check live tests loadtests setup.py
	$(BIN)/ruff format --check live tests loadtests setup.py

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest -q tests/unit

# Re-resolve the locks after a change to the ranges in pyproject.toml, keeping every pin
# that still fits; `make lock LOCK_ARGS=--upgrade` (or `--upgrade-package redis`) moves pins.
# live.lock is resolved first and constrains dev.lock, so tests run the server's versions.
lock: $(DEV_STAMP)
	$(BIN)/uv pip compile pyproject.toml requirements/build.in $(LOCK_FLAGS) $(LOCK_ARGS) \
		-o requirements/live.lock
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev \
		-c requirements/live.lock $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/dev.lock

# Lighthouse (mobile) on the home page and on a viewer page with live video playing;
# scores printed, reports under test-output/lighthouse/. Lighthouse 12 runs on Node 20.
LIGHTHOUSE := tools/lighthouse/node_modules/.bin/lighthouse
$(LIGHTHOUSE): tools/lighthouse/package-lock.json
	cd tools/lighthouse && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lighthouse: $(DEV_STAMP) $(LIGHTHOUSE)
	bash .ci/system-deps.sh chromium
	$(BIN)/python -m loadtests.lighthouse_pages

clean:
	rm -rf $(VENV) var build .mypy_cache .ruff_cache .pytest_cache tools/*/node_modules

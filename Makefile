# mailflip: two commands do all set-up on a fresh Debian machine.
#   make demo   run the bundled scenario, then the local stack with a live demo order
#   make test   install what the tests need, then run the whole suite
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := $(VENV)/.npm-installed
VENDOR := src/mailflip/web/static/vendor
APT_STAMP := $(VENV)/.apt-installed
# Debian packages the suite needs: Dovecot (IMAP tests), PostgreSQL (store tests),
# isync (mbsync, the sync benchmark peer), Chromium (the portal's browser tests, driven
# by Playwright: Debian's build, so Playwright downloads no browser).
APT_PACKAGES := dovecot-imapd postgresql isync chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all install apt demo test test-fast lint bench clean

all: install

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

# The portal's browser libraries (uPlot for the throughput chart, Swagger UI for /docs)
# from the npm registry, pinned by package-lock.json, copied under static/vendor: the
# portal serves them itself and never fetches anything at run time.
$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "installing Debian package: npm"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/uplot $(VENDOR)/swagger-ui
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css \
	  node_modules/uplot/LICENSE $(VENDOR)/uplot/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	  node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/
	@mkdir -p $(VENV) && touch $@

install: $(STAMP) $(NPM_STAMP)

# Installs only what is missing; a machine that has everything touches nothing.
$(APT_STAMP):
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

apt: $(APT_STAMP)

# the demo's local Microsoft 365 keeps its mailboxes in a Dovecot (the first package)
demo: $(STAMP) $(NPM_STAMP) $(APT_STAMP)
	$(BIN)/mailflip demo

test: $(STAMP) $(NPM_STAMP) $(APT_STAMP) lint
	MAILFLIP_REQUIRE_POSTGRES=1 $(BIN)/python -m pytest -q -n 2 --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not postgres" -x

# The dependency rule (import-linter contracts in pyproject.toml), style and types.
lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src bench

bench: $(STAMP) $(APT_STAMP)
	$(BIN)/python bench/lifecycle.py
	bash bench/sync_vs_mbsync.sh

clean:
	rm -rf $(VENV) var .pytest_cache node_modules $(VENDOR)

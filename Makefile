# The only set-up steps on a fresh machine are `make serve` and `make test`.
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo serve check test test-fast clean

# The front ends (web/app: the web app; web/pages: the assets of pygeoapi's pages) are built from
# npm packages into sdgcube/web/dist, which the server serves: nothing comes from a CDN at run time.
WEB_PROJECTS := $(dir $(wildcard web/*/package.json))
WEB_SOURCES := $(shell find web -path '*/node_modules' -prune -o -type f -print 2>/dev/null)
WEB_STAMP := sdgcube/web/dist/.built

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "python3.12 not found" >&2; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[test,ml]'
	$(BIN)/sdgcube warmup  # compile the numba kernels now, not in the first job
	touch $@

$(WEB_STAMP): $(WEB_SOURCES)
	@for project in $(WEB_PROJECTS); do \
		echo "building $$project"; \
		(cd $$project && npm ci --no-audit --no-fund --loglevel=error && npm run build) || exit 1; \
	done
	mkdir -p $(@D) && touch $@

install: $(STAMP) $(WEB_STAMP)

demo: install
	$(BIN)/sdgcube demo-data --size small

serve: demo
	$(BIN)/sdgcube serve

# Lint, format and types; the rules live in pyproject.toml.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache sdgcube/web/dist web/*/node_modules

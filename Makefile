# scim-appliance: `make run` serves the appliance, `make test` runs lint and tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
HOST   ?= 127.0.0.1
PORT   ?= 8080
# Every package run and test use, pinned with its hashes (setup.cfg's runtime and dev
# requirements, their dependencies, pip and the build backend); `make constraints`
# regenerates it.
CONSTRAINTS := constraints.txt

.PHONY: run test lint pytest bench mutation clean constraints

# One environment for run and test: exactly the pinned versions, every file checked
# against its hash, then the appliance itself without dependencies (so nothing
# unpinned is fetched, not even the build backend). `pip check` stops here when
# setup.cfg names a package constraints.txt lacks: run `make constraints`.
$(VENV)/.installed: setup.cfg pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r $(CONSTRAINTS)
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(PIP) check
	touch $@

# mutmut (setup.cfg's `mutation` extra) is not pinned in constraints.txt: it is a
# developer's tool, never installed by run or test.
$(VENV)/.installed-mutation: $(VENV)/.installed
	$(PIP) install --quiet 'mutmut>=3.3'
	touch $@

run: $(VENV)/.installed
	$(BIN)/scim-appliance init
	$(BIN)/scim-appliance db upgrade
	SCIM_APPLIANCE_HOST=$(HOST) SCIM_APPLIANCE_PORT=$(PORT) $(BIN)/scim-appliance token issue --if-missing
	$(BIN)/scim-appliance sync enable --if-never-set
	$(BIN)/scim-appliance serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed
	$(BIN)/ruff check scim_appliance tests scripts

# The suite on SQLite, then (when SCIM_APPLIANCE_TEST_DATABASE_URL names a PostgreSQL
# server, as .ci/run sets it) again on PostgreSQL; each run spread over the cores
# (pytest-xdist) and timed. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=
pytest: $(VENV)/.installed
	@start=$$(date +%s); \
	env -u SCIM_APPLIANCE_TEST_DATABASE_URL \
	    $${SCIM_APPLIANCE_TEST_DATABASE_URL:+SCIM_APPLIANCE_TEST_POSTGRESQL_RUN_FOLLOWS=1} \
	    $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); \
	rc=$$?; echo "pytest on SQLite: $$(( $$(date +%s) - start )) s"; exit $$rc
	@if [ -z "$$SCIM_APPLIANCE_TEST_DATABASE_URL" ]; then \
	    echo "pytest on PostgreSQL: not run (SCIM_APPLIANCE_TEST_DATABASE_URL is unset; .ci/run sets it)"; \
	else start=$$(date +%s); \
	    $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); \
	    rc=$$?; echo "pytest on PostgreSQL: $$(( $$(date +%s) - start )) s"; exit $$rc; fi

test: lint pytest

# The provisioning benchmark (scripts/bench.py); BENCH_ARGS="--users 100000 --scale 1000,100000"
bench: $(VENV)/.installed
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

# Regenerate constraints.txt from setup.cfg with pip-tools (a dev requirement), for
# Python 3.11; the hashes cover every file of each pinned release, so Linux x86_64
# installs match. Pins that still satisfy setup.cfg are kept;
# CONSTRAINTS_ARGS=--upgrade moves every one to the newest release,
# CONSTRAINTS_ARGS="--upgrade-package NAME" one of them.
constraints:
	test -x $(BIN)/pip-compile || { $(PYTHON) -m venv $(VENV) && \
	    $(PIP) install --quiet --require-hashes -r $(CONSTRAINTS); }
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --all-build-deps \
	    --extra dev --extra postgresql --strip-extras --no-emit-index-url --no-emit-find-links \
	    $(CONSTRAINTS_ARGS) --output-file $(CONSTRAINTS) setup.cfg

# Mutation testing with mutmut 3 ([tool.mutmut] in pyproject.toml), not part of `make test`:
# each mutant runs against the tests that cover the function it changes. A fresh
# mutants/ each time, since the modules change. MUTATE picks modules by mutant name,
# e.g. MUTATE="scim_appliance.domain.names.rules*"; MUTATION_WORKERS the processes.
MUTATE ?= scim_appliance.domain.protocol.patch* scim_appliance.domain.protocol.filters* \
          scim_appliance.domain.names.rules*
MUTATION_WORKERS ?= 2
mutation: $(VENV)/.installed-mutation
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(MUTATION_WORKERS) $(foreach m,$(MUTATE),'$(m)') > /dev/null
	$(BIN)/mutmut results
	$(BIN)/python scripts/mutation_score.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mutants

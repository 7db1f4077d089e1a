# scim-appliance: `make run` serves the appliance, `make test` runs lint and tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test lint pytest bench mutation clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-mutation: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,mutation]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/scim-appliance init
	SCIM_APPLIANCE_HOST=$(HOST) SCIM_APPLIANCE_PORT=$(PORT) $(BIN)/scim-appliance token issue --if-missing
	$(BIN)/scim-appliance sync enable
	$(BIN)/scim-appliance serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check scim_appliance tests scripts

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest

test: lint pytest

# The provisioning benchmark (scripts/bench.py); BENCH_ARGS="--users 100000 --scale 1000,100000"
bench: $(VENV)/.installed-dev
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

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

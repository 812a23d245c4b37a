# Every target creates and uses .venv itself: a fresh clone needs only python3.
# `make demo` installs the tool alone (its four runtime dependencies); `make test` adds the
# development tools (linters, type checker, test runner, a Temporal dev server, ...).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
RUNTIME := $(VENV)/.installed-runtime
DEV     := $(VENV)/.installed-dev

.PHONY: help venv test quick lint typecheck unit demo bench schema clean

help:
	@echo "make demo   - run the main job on the embedded example (no service, no network;"
	@echo "              it writes only in the clone: .venv and build/demo)"
	@echo "make test   - lint, type-check and run the whole test suite (what CI runs)"
	@echo "make quick  - the test suite without the slow tests (for a quick local check)"
	@echo "make bench  - run the benchmarks and rewrite docs/performance.md"
	@echo "make schema - regenerate the committed JSON Schemas and reference tables"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(VENV)/bin/python
	$(PIP) -e .
	touch $(RUNTIME)

$(DEV): pyproject.toml $(RUNTIME)
	$(PIP) -e '.[dev]'
	touch $(DEV)

venv: $(DEV)

lint: $(DEV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(DEV)
	$(VENV)/bin/mypy

unit: $(DEV)
	$(PY) -m pytest -q

quick: $(DEV)
	$(PY) -m pytest -q -m "not slow"

test: lint typecheck unit

demo: $(RUNTIME)
	$(PY) examples/demo.py

bench: $(DEV)
	$(PY) bench/run.py
	$(PY) bench/redact.py
	$(PY) bench/ordinary.py
	$(PY) bench/redact_corpus.py
	$(PY) bench/report_caps.py

schema: $(DEV)
	$(PY) -m kaizen_agentic.generate

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

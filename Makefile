# Every target creates and uses .venv itself: a fresh clone needs only python3.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help venv test lint typecheck unit demo bench schema clean

help:
	@echo "make demo   - run the main job on the embedded example (no service, no network)"
	@echo "make test   - lint, type-check and run the test suite"
	@echo "make bench  - run the benchmarks and rewrite docs/performance.md"
	@echo "make schema - regenerate the committed JSON Schemas and reference tables"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest -q

test: lint typecheck unit

demo: $(STAMP)
	$(PY) examples/demo.py

bench: $(STAMP)
	$(PY) bench/run.py

schema: $(STAMP)
	$(PY) -m kaizen_agentic.generate

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

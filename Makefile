# The README's two commands: `make demo` and `make test`. Both create .venv (Python 3.11) on first use.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed-stamp
PY := $(VENV)/bin/python

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/primary-mask demo --out demo_out

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples

bench: $(STAMP)
	$(PY) benchmarks/bench_erase.py --out benchmarks/out/bench_erase.json
	$(PY) benchmarks/bench_localize.py --out benchmarks/out/bench_localize.json

clean:
	rm -rf demo_out benchmarks/out .pytest_cache

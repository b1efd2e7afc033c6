# census-mtl: `make run` trains and reports on the real data, `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Offline by default: no telemetry, no update checks.
export KEDRO_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export DVC_NO_ANALYTICS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install install-dev fetch run sample test lint docs viz notebook clean-sample bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

fetch: install  ## data/01_raw from data/01_raw, $$CENSUS_DATA_DIR or the UCI archive
	$(BIN)/python -m census_mtl.data fetch

run: fetch  ## the whole project on the real data
	$(BIN)/kedro run

sample: install  ## the whole project on synthetic data, in data/sample/
	$(BIN)/kedro run --env sample

test: install-dev  ## the test suite (PostgreSQL tests need Debian's postgresql; .ci/run installs it)
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs

docs: install-dev  ## the docs site into site/ (offline; any warning fails the build)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# kedro-viz asks PyPI for a newer version at every start and has no switch for it: a dead proxy
# for everything but this machine keeps the check from leaving it.
NO_UPDATE_CHECK := HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost

viz: install-dev
	$(NO_UPDATE_CHECK) $(BIN)/kedro viz run --host 127.0.0.1 --no-browser

# JupyterLab is not a project dependency (it is large): installed into .venv on first use.
notebook: install-dev  ## JupyterLab on notebooks/ (KEDRO_ENV=sample for the sample results)
	$(BIN)/pip install -q "jupyterlab>=4.2,<5"
	$(NO_UPDATE_CHECK) $(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 notebooks/

clean-sample:
	rm -rf data/sample

# Speed against DeepCTR-Torch, torch-rechub and PaddlePaddle (not project dependencies: their
# own environment). BENCH_ARGS adds options, e.g. BENCH_ARGS="--device cuda".
BENCH := .venv-bench
BENCH_ARGS ?=
$(BENCH)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/pip install -q -e . "deepctr-torch==0.3.0" requests "torch-rechub==0.9.0" \
		"paddlepaddle==3.3.1"
	touch $@

bench: $(BENCH)/.installed fetch  ## docs/benchmarks.md (Speed and benchmarks) explains the figures
	$(BIN)/kedro run --pipelines ingest,preprocess
	$(BENCH)/bin/python benchmarks/train_speed.py --epochs 2 --out docs/benchmarks.json $(BENCH_ARGS)

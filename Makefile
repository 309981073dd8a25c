# feedpub: `make run` builds the sample records and serves them; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run build watch test lint typecheck clean golden bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/feedpub build

run: build
	$(BIN)/feedpub serve

watch: $(STAMP)
	$(BIN)/feedpub build --watch

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

golden: $(STAMP)
	$(BIN)/python tests/make_golden.py

bench: $(STAMP)
	$(BIN)/python benchmarks/build_bench.py

clean:
	rm -rf $(VENV) .feedpub-cache feeds/all.* feeds/topics feeds/feeds.opml feeds/index.html

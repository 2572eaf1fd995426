# Two commands on a fresh clone: `make demo` and `make test`. Both build .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: 2.13.0 is the CPU wheel here; the range in pyproject then installs nothing more.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e .[dev]
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/tamrin run all --quick

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests

bench: $(STAMP)
	@echo "see BENCHMARKS.md for each benchmark's command"

clean:
	rm -rf $(VENV) runs .pytest_cache

# The two commands of the README. Only Python 3.11+ and git are assumed; everything else is
# installed into .venv from PyPI on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := demo-data
OUT    := results/demo

.PHONY: demo test lint install clean

# The demo needs only the package; the tests add the dev tools (pytest, hypothesis, ruff,
# the notebook runner, Dask), so a first `make demo` downloads about half as much.
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/.installed-dev

demo: $(BIN)/.installed
	$(BIN)/pdps demo-data --children 40 --units 400 --seed 2026 --as-of 2026-11-25 \
		--out $(DEMO) --force
	$(BIN)/pdps allocate --referrals $(DEMO)/referrals.csv --units $(DEMO)/units.csv \
		--conflicts $(DEMO)/conflicts.csv --as-of 2026-11-25 --out $(OUT) --force
	@$(BIN)/pdps report allocation $(OUT)

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(DEMO) results .pytest_cache .ruff_cache

# Every target sets up its own .venv from the project's files; it is redone only when they change.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
Q ?= who is Scale's interim CEO?
# Passed through the environment, so quotes and $ in a question need no escaping.
export Q

.PHONY: ask test lint typecheck pytest eval chat run index bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

ask: $(STAMP)
	$(BIN)/citebot ask "$$Q"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

eval: $(STAMP)
	$(BIN)/citebot eval --suite eval/suite.json

index: $(STAMP)
	$(BIN)/citebot index

chat: $(STAMP)
	$(BIN)/citebot chat

run: $(STAMP)
	$(BIN)/citebot run

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .cache .mypy_cache .pytest_cache .ruff_cache

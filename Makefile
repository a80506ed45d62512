# Two commands: `make test` and `make demo`. Both create .venv when missing and install
# the package with its dev extra under constraints.txt (torch==2.13.0, the CPU build).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo docs install bench lifecycle clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned, so no dependency can pull a CUDA build.
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	# setuptools boxes a note on every editable install (nothing to act on): keep it out
	PYTHONWARNINGS=ignore::UserWarning $(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -n 2 -q

demo: $(STAMP)
	$(PY) -m sk_embed bench --out results

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

# A longer run of the stateful lifecycle test than the suite's (about 10 minutes).
lifecycle: $(STAMP)
	SK_EMBED_LIFECYCLE_EXAMPLES=20 SK_EMBED_LIFECYCLE_STEPS=12 $(PY) -m pytest -n 2 -q tests/test_lifecycle_stateful.py

bench: $(STAMP)
	$(PY) benchmarks/loop_overhead.py
	$(PY) benchmarks/loss_speed.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache docs/_build docs/auto_examples docs/generated

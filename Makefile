# dsmath: two commands.
#   make reproduce [SCALE=smoke|real-smoke|tiny|gpu|paper] [ONLY=07_evaluation] [FORCE=1]
#   make test                (make test-unit: without the notebooks at smoke / real-smoke scale)
# Both create .venv and install the project into it on first use (and again when pyproject.toml or
# requirements.lock change). An existing torch in the venv is kept (install your CUDA build first on GPU).

SCALE ?= tiny
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.dsmath-installed
PYTEST_ARGS ?=
TORCH_VERSION ?= 2.13.0

# Hub access is the user's environment's choice (HF_HUB_OFFLINE is left alone); only `make test` runs offline.
# wandb stays offline unless WANDB_MODE says otherwise.
export WANDB_MODE ?= offline
export PYTHONHASHSEED := 0

.PHONY: reproduce test test-unit lab bench install clean-results

reproduce: $(STAMP)
	$(PY) -m dsmath_lib.reproduce --scale $(SCALE) $(if $(ONLY),--only $(ONLY)) $(if $(FORCE),--force)

test: export HF_HUB_OFFLINE = 1
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

# the unit layer: everything but the notebooks executed at smoke and real-smoke scale (tests/test_notebooks.py,
# tests/test_real_smoke.py)
test-unit: export HF_HUB_OFFLINE = 1
test-unit: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -q --ignore=tests/test_notebooks.py --ignore=tests/test_real_smoke.py $(PYTEST_ARGS)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP)
	for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==$(TORCH_VERSION)
	$(PY) -m pip install -q -c requirements.lock -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

clean-results:
	rm -rf results/$(SCALE) artifacts/$(SCALE)

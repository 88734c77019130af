# Three commands, each working on a fresh machine with only Python 3.11 and make:
#   make cookbook   set up, run every notebook with papermill, print a summary table
#   make test       set up, run unit + conformance tests and every notebook under nbmake
#   make lab        set up, open JupyterLab with the project's kernel
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup cookbook test lab clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	touch $(STAMP)

cookbook: setup
	$(BIN)/python -m cookbook.run_all

test: setup
	$(BIN)/python -m pytest tests notebooks --nbmake --nbmake-timeout=300 -q

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
lab: setup
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean:
	rm -rf build $(VENV)

# Three commands, each working on a fresh machine with only Python 3.11 and make:
#   make cookbook   set up, run every notebook with papermill, print a summary table
#   make test       set up, run unit + conformance tests and every notebook under nbmake, then
#                   every notebook through Run All in JupyterLab in headless Chromium
#   make lab        set up, open JupyterLab with the project's kernel
# Where Go is on PATH, each of them first builds the real daprd/placement/scheduler into
# .dapr/bin (make daprd), and `make test` then requires it: every sidecar test runs on daprd
# and on the local sidecar. Without Go, the local sidecar runs alone and the daprd half of the
# tests is skipped with a message saying how to get daprd.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
GO := $(shell command -v go)
DAPRD_BUILD := $(if $(GO),daprd)
REQUIRE_DAPRD := $(if $(GO),COOKBOOK_REQUIRE_DAPRD=1 DAPR_RUNTIME=daprd)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL_DISPLAY_NAME := Python 3 (Dapr Agents cookbook)

.PHONY: setup daprd chromium cookbook test lab clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# PYTHONWARNINGS: setuptools prints a banner about editable installs on every build
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e .
	@# kernel name python3 (what the notebooks and CI ask for), display name saying it is this project's
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "$(KERNEL_DISPLAY_NAME)" >/dev/null
	touch $(STAMP)

daprd:
	./scripts/build-daprd.sh

cookbook: setup $(DAPRD_BUILD)
	$(BIN)/python -m cookbook.run_all

# The browser test (tests/browser/) runs in a second pytest after the first one: every notebook
# uses its own fixed port block, so its Run All in JupyterLab must not overlap the nbmake and
# papermill runs of the same notebook. Chromium comes from Debian (scripts/install-chromium.sh).
# TEST_WORKERS pytest processes share the first run (pytest-xdist): a notebook's runs stay in one
# worker (its fixed port block), a test module's runs on one runtime too (its shared stack); the
# groups are made in tests/conftest.py. Most of the time goes in waiting for processes, so three
# workers on two cores finish well before one.
TEST_WORKERS ?= 3
test: setup $(DAPRD_BUILD) chromium
	$(REQUIRE_DAPRD) $(BIN)/python -m pytest tests notebooks --nbmake --nbmake-timeout=300 -q --ignore=tests/browser -n $(TEST_WORKERS) --dist loadgroup
	$(REQUIRE_DAPRD) $(BIN)/python -m pytest tests/browser -q -n $(TEST_WORKERS) --dist loadgroup

chromium:
	./scripts/install-chromium.sh

# Lab serves the repository root, so a notebook's links to components/ and apps/ resolve, and
# opens on notebooks/. Jupyter refuses to run as root unless told; CI machines often are root.
# tests/browser/ starts Lab with this very target (make lab LAB_ARGS=...).
lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean:
	rm -rf build $(VENV) .dapr

# `make demo` and `make test` create the virtual environment when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# checkov pins versions of boto3, packaging, networkx ... that the project's own venv cannot take:
# it gets a venv of its own (tests/k8s/ runs it from there).
TOOLS_VENV ?= .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed-stamp
CHECKOV := checkov==3.3.30
# The images' names, as in components/__init__.py (BASE_IMAGE, CUDA_IMAGE); CONTAINER: docker,
# podman or nerdctl. Push them to the site's registry and compile with --image REF@sha256:...
CONTAINER ?= docker
CPU_IMAGE ?= strongroom-cpu:0.1.0
CUDA_IMAGE ?= strongroom-cuda:0.1.0
GIT_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo -dirty)

.PHONY: demo test lint format venv tools system images clean

venv: $(STAMP)

$(STAMP): pyproject.toml images/install.sh
	images/install.sh $(VENV) -e '.[dev]'
	touch $(STAMP)

tools: $(TOOLS_STAMP)

$(TOOLS_STAMP):
	test -x $(TOOLS_VENV)/bin/python || python3 -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install -q --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install -q '$(CHECKOV)'
	touch $(TOOLS_STAMP)

# PostgreSQL and Chromium from Debian's packages: the tests start a real tracking server and browser.
system:
	tests/system/install.sh

demo: $(STAMP)
	$(VENV)/bin/strongroom demo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint images/Dockerfile.cpu images/Dockerfile.cuda

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint $(TOOLS_STAMP) system
	$(PY) -m pytest -q --durations=15

# The CPU image (every task) and the CUDA image (train on GPU nodes), from the repository root.
images:
	$(CONTAINER) build -f images/Dockerfile.cpu --build-arg GIT_COMMIT=$(GIT_COMMIT) -t $(CPU_IMAGE) .
	$(CONTAINER) build -f images/Dockerfile.cuda --build-arg GIT_COMMIT=$(GIT_COMMIT) -t $(CUDA_IMAGE) .

clean:
	rm -rf strongroom-runs .pytest_cache .ruff_cache test-artifacts

# benchmark-qa: every command a developer or CI needs. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
REGION ?= us-east-1
# sam build needs python3.12 on PATH for the python3.12 runtime; pyenv has it but does not select it.
export PYENV_VERSION ?= 3.11.7:3.12.1:3.13.0
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= $(REGION)

.PHONY: install demo test lint typecheck pytest template-checks build bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/pip install -q "checkov==3.3.30"
	touch $@

install: $(BIN)/.installed

# Headless Chromium for the leaderboard test (a Debian package; CI runs as root).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

demo: install
	$(BIN)/benchmark-qa demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy shared local functions tests bench

pytest: install $(CHROMIUM)
	$(BIN)/python -m pytest -q

template-checks: install $(CHECKOV_VENV)/.installed
	$(BIN)/sam validate --region $(REGION) --template template.yaml
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/python scripts/render_template.py template.yaml build/template.cfn.json
	$(BIN)/cfn-lint -- build/template.cfn.json
	$(BIN)/cfn-lint -a cfn_lint_serverless.rules -- template.yaml
	HOME=$$(mktemp -d) $(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download --skip-check "$$($(BIN)/python scripts/checkov_skips.py template.yaml)"

build: install
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/sam build --template template.yaml --build-dir .aws-sam/build --parallel

# Every check that decides landing.
test: lint typecheck template-checks pytest build

bench: install build
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam build .mypy_cache .ruff_cache

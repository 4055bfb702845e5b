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

.PHONY: install lock demo test lint typecheck pytest template-checks build soak bench clean deploy doctor

# Everything is installed from lock files (exact versions, hashes checked): a fresh clone installs what CI
# tested. pyproject.toml keeps the ranges; `make lock` rewrites the locks from them (docs/dependencies.md).
PIP_VERSION := 26.3
$(BIN)/.installed: pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "pip==$(PIP_VERSION)"
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements/dev.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.lock
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q "pip==$(PIP_VERSION)"
	$(CHECKOV_VENV)/bin/pip install -q --require-hashes --no-deps -r requirements/checkov.lock
	touch $@

# Cloud emulators the tests start (Azurite for Azure Blob), from the committed npm lock file (issue 13).
EMULATORS := emulators/node_modules/.installed
$(EMULATORS): emulators/package.json emulators/package-lock.json
	npm ci --prefix emulators --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# cfn-guard 3.1 and AWS Control Tower's proactive rules, both shipped in @cdklabs/cdk-validator-cfnguard (issue 11);
# its peer dependencies (aws-cdk-lib) serve the CDK plugin, which nothing here uses.
GUARD := guard/node_modules/.installed
GUARD_PACKAGE := guard/node_modules/@cdklabs/cdk-validator-cfnguard
$(GUARD): guard/package.json guard/package-lock.json
	npm ci --prefix guard --no-audit --no-fund --ignore-scripts --omit=peer --loglevel=error
	touch $@

# The compiled box-row reader (shared/benchmark_qa/scoring/box_rows.py) for this machine, built with the locked zig;
# the CoreLayer build makes Lambda's (shared/Makefile). Without it every row is read by msgspec, as before.
BOX_ROWS := shared/benchmark_qa/scoring/libbox_rows.so
$(BOX_ROWS): shared/benchmark_qa/scoring/box_rows.c $(BIN)/.installed
	$(BIN)/python -m ziglang cc -O2 -shared -fPIC -o $@ $<

install: $(BIN)/.installed $(BOX_ROWS) $(EMULATORS) $(GUARD)

# Rewrite the lock files from pyproject.toml, shared/requirements.in and requirements/checkov.in, keeping every
# pin that still satisfies them; `make lock UPGRADE=1` moves everything to the newest allowed versions.
UV_VERSION := 0.13.9
LOCK_VENV := .venv-lock
UV_COMPILE = $(LOCK_VENV)/bin/uv pip compile --quiet --universal --generate-hashes --custom-compile-command "make lock" --fork-strategy fewest \
	$(if $(UPGRADE),--upgrade,)
$(LOCK_VENV)/bin/uv:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q "uv==$(UV_VERSION)"

lock: $(LOCK_VENV)/bin/uv
	$(UV_COMPILE) --python-version 3.11 --extra dev -o requirements/dev.lock pyproject.toml
	$(UV_COMPILE) --python-version 3.12 --constraint requirements/dev.lock -o shared/requirements.txt \
		shared/requirements.in
	$(UV_COMPILE) --python-version 3.11 -o requirements/checkov.lock requirements/checkov.in

# Headless Chromium for the leaderboard test (a Debian package; CI runs as root).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# qemu-user and an aarch64 glibc, to run the compiled box-row reader as CoreLayer ships it for Lambda's arm64
# (tests/unit/scoring/test_box_rows.py); Debian packages, as Chromium.
QEMU := /usr/bin/qemu-aarch64 /usr/aarch64-linux-gnu/lib/libc.so.6
$(QEMU):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross >/dev/null

demo: install
	$(BIN)/benchmark-qa demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy shared local functions tests bench

# Three workers on two cores: most tests wait on a local server, a subprocess or Chromium, so a third keeps both
# cores busy (docs/soak.md: the gate's time). Every test uses its own ports and directories, so they share nothing.
PYTEST_WORKERS ?= 3
pytest: install $(CHROMIUM) $(QEMU)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS)

template-checks: install $(CHECKOV_VENV)/.installed
	$(BIN)/sam validate --region $(REGION) --template template.yaml
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/python scripts/render_template.py template.yaml build/template.cfn.json
	$(BIN)/cfn-lint -- build/template.cfn.json
	$(BIN)/cfn-lint -a cfn_lint_serverless.rules -- template.yaml
	HOME=$$(mktemp -d) $(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download
	$(BIN)/python scripts/cfn_guard.py $(GUARD_PACKAGE)/bin/ubuntu/$$(uname -m | sed 's/arm64/aarch64/')/cfn-guard \
		$(GUARD_PACKAGE)/rules/control-tower/cfn-guard build/template.cfn.json

build: install
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/sam build --template template.yaml --build-dir .aws-sam/build --parallel

# Deploy to the account of your AWS credentials with the parameters `benchmark-qa setup` wrote (docs/setup.md).
# `make deploy GUIDED=` deploys again without the questions (sam deploy saved the answers in samconfig.toml).
PARAMETERS ?= benchmark-qa-parameters.yaml
STACK_NAME ?= benchmark-qa
GUIDED ?= --guided
deploy: build
	@test -f "$(PARAMETERS)" || { echo "no $(PARAMETERS): run $(BIN)/benchmark-qa setup --config setup.yaml first (docs/setup.md)"; exit 2; }
	$(BIN)/sam deploy $(GUIDED) --template-file .aws-sam/build/template.yaml --stack-name $(STACK_NAME) \
		--capabilities CAPABILITY_IAM --resolve-s3 --parameter-overrides "file://$(abspath $(PARAMETERS))"

# Is the deployed stack (and its Encord side) ready? One line per check (docs/setup.md, step 8).
doctor: install
	$(BIN)/benchmark-qa doctor --stack-name $(STACK_NAME)

# Every check that decides landing.
test: lint typecheck template-checks pytest build

# Long fault-injection runs at full scale (docs/soak.md); out of the default gate.
soak: install
	$(BIN)/python -m pytest -q -s -m soak -o timeout=3600

bench: install build
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(LOCK_VENV) .aws-sam build .mypy_cache .ruff_cache $(BOX_ROWS)

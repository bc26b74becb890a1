# The two commands: `make run` (the whole system locally) and `make test` (the whole suite).
# Everything else is set up by them: a virtualenv in $(VENV) with the project installed.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run test test-unit test-integration test-e2e protos migrate clean-data clean bench bench-quick

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED) ## create the virtualenv and install the project with its dev tools

run: $(INSTALLED) ## the whole system on localhost:10000 (embedded Postgres/Redis unless DATABASE_URL/REDIS_URL)
	$(PY) -m devstack

# pytest exits 5 when it collected nothing: for this suite that is a failure, said plainly.
define pytest
	@$(PY) -m pytest $(1) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests in '$(1)': failing on purpose" >&2; exit 1; fi; exit $$rc
endef

test: $(INSTALLED) ## the whole suite: unit, integration, e2e (real Postgres/Redis, services as processes)
	$(call pytest,tests)

test-unit: $(INSTALLED) ## unit tests only
	$(call pytest,tests/unit)

test-integration: $(INSTALLED) ## integration and e2e tests only
	$(call pytest,tests/integration tests/e2e)

protos: $(INSTALLED) ## regenerate the gRPC stubs in services/common/rpc from protos/
	$(PY) -m common.rpc.generate

migrate: $(INSTALLED) ## apply migrations to $$DATABASE_URL
	$(PY) -m common.migrate

clean-data: ## wipe the local data (Postgres, Redis, JWT secret) kept by `make run`
	rm -rf .data

clean: clean-data ## also remove the virtualenv
	rm -rf $(VENV)

-include k8s.mk
-include bench.mk

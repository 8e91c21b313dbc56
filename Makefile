# The commands a newcomer needs. `make dev` runs the system; `make test` runs every test tier.
PYTHON ?= python3
VENV := .venv
LOCALSTACK_VENV := .venv-localstack
LAMBDA_VENV := .venv-lambda
DEPLOY_VENV := .venv-deploy
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest

.PHONY: dev test test-compose test-unit test-integration test-e2e test-static test-deploy soak bench bench-scaling bench-features soak-bench profile lint task-type practical up down logs ps compose-api-key api-key migrate venv clean help

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

dev: $(VENV)/.runtime $(LOCALSTACK_VENV)/.installed  ## run the whole system: embedded PostgreSQL, LocalStack SQS, API, relay, consumer
	$(BIN)/python -m devstack

test: venv  ## every test: unit, integration and end to end, on every core (the compose tests: make test-compose)
	$(PYTEST) --numprocesses auto --durations 15 --ignore tests/compose tests

test-unit: venv  ## unit tests only (no I/O)
	$(PYTEST) tests/unit

test-integration: venv  ## integration tests (real PostgreSQL and SQS)
	$(PYTEST) tests/integration

test-e2e: venv  ## end-to-end tests (the real processes)
	$(PYTEST) tests/e2e

test-static: venv  ## checks of what cannot run here: compose, Dockerfiles, the AWS template
	$(PYTEST) tests/static

test-deploy: venv  ## docs/deploy-aws.md's commands against a fake AWS account (moto); needs the AWS CLI v2
	$(PYTEST) tests/deploy

soak: venv  ## the fault tests with 20,000 tasks each (FAULT_TASKS to change)
	FAULT_TASKS=$${FAULT_TASKS:-20000} $(PYTEST) -m faults -s tests/e2e/test_faults.py

bench: venv  ## throughput, latency and CPU figures, beside the FastAPI + Celery + Redis peer (bench/README.md)
	$(BIN)/python -m bench

bench-scaling: venv  ## end-to-end throughput and CPU per task by maximum concurrency, API workers and batch size
	$(BIN)/python -m bench.scaling

bench-features: venv  ## what each feature (priority, delay, webhook, after, schedules) costs end to end per task
	$(BIN)/python -m bench.features

soak-bench: venv  ## the database after months: 10 million finished tasks (SOAK_TASKS), then make bench's end-to-end phase
	$(BIN)/python -u -m bench.soak

profile: venv  ## py-spy samples of the API, the relay and the consumer under load, summed up by package and function
	$(BIN)/python -m bench.profile

lint: venv  ## ruff, the Dockerfiles (hadolint), compose (Compose Spec schema), the AWS template (cfn-lint, sam)
	$(BIN)/ruff check .
	$(BIN)/hadolint api/Dockerfile lambda/Dockerfile tests/compose/standins/*/Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml docker-compose.localstack-lambda.yml
	$(BIN)/shellcheck localstack/deploy-lambda.sh tests/compose/with-engine.sh tests/compose/standins/postgres/entrypoint.sh tests/deploy/bin/aws
	$(DEPLOY_VENV)/bin/cfn-lint deploy/template.yaml
	SAM_CLI_TELEMETRY=0 $(DEPLOY_VENV)/bin/sam validate --lint --template deploy/template.yaml --region us-east-1

up:  ## compose: build the images and start everything (needs Docker); the API on http://127.0.0.1:8000
	docker compose up --build --detach --wait
	@echo "Up. Create an API key: make compose-api-key TENANT=dev"

down:  ## compose: stop and remove the containers (add VOLUMES=1 to drop the database too)
	docker compose down $(if $(VOLUMES),--volumes,)

logs:  ## compose: follow every service's logs
	docker compose logs --follow

ps:  ## compose: the services and their health
	docker compose ps

test-compose: venv  ## compose for real: installs Docker's engine and Compose if missing, builds, runs, tears down
	@# The stack is built and started once, in a fixture with timeouts of its own (a first build takes minutes):
	@# each test's limit covers the test alone.
	tests/compose/with-engine.sh $(PYTEST) -p no:cacheprovider -o timeout_func_only=true tests/compose

compose-api-key:  ## compose: create an API key: make compose-api-key TENANT=acme
	@# In a one-off container of the migration's service: its login has the grants operators' commands need; the
	@# API's own role may not read tenants or keys (migration 0009).
	docker compose run --rm --no-deps migrate python -m cli keys create $(TENANT)

practical: venv  ## run a practical task's acceptance test: make practical NAME=task-result (fails until done)
	$(PYTEST) practical/$(NAME)

task-type: venv  ## scaffold a task type and its test: make task-type NAME=resize_image
	$(BIN)/python -m devstack.new_task_type $(NAME)

api-key: venv  ## create an API key: make api-key TENANT=acme (uses DATABASE_URL)
	$(BIN)/taskflow keys create $(TENANT)

migrate: venv  ## apply migrations to DATABASE_URL
	$(BIN)/alembic upgrade head

venv: $(VENV)/.installed $(LOCALSTACK_VENV)/.installed $(LAMBDA_VENV)/.installed $(DEPLOY_VENV)/.installed

# uv installs (measured on a cold cache: 8 s where pip takes 29 s for the app's runtime, 10 s against 37 s for
# LocalStack's); pip installs only uv itself.
UV := $(BIN)/uv
UV_VERSION := 0.13.9
uv_install = $(UV) pip install --quiet --compile-bytecode --python $(1) $(2)

# What `make dev` runs: the app and requirements-run.txt, no test tools.
$(VENV)/.runtime: requirements.txt requirements-run.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(call uv_install,$(BIN)/python,-r requirements-run.txt)
	$(call uv_install,$(BIN)/python,--no-deps -e .)
	touch $@

# Plus the test and lint tools.
$(VENV)/.installed: $(VENV)/.runtime requirements-dev.txt
	$(call uv_install,$(BIN)/python,-r requirements-dev.txt)
	touch $@

# A virtualenv of its own, where pins clash with ours: $(call venv_from,REQUIREMENTS) in the recipe of DIR/.installed.
define venv_from
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(dir $@)
	$(call uv_install,$(dir $@)bin/python,-r $(1))
	touch $@
endef

$(LOCALSTACK_VENV)/.installed: localstack/requirements.txt | $(VENV)/.runtime
	$(call venv_from,localstack/requirements.txt)

# The Lambda image's packages on this machine: the tests run the image's command with them.
$(LAMBDA_VENV)/.installed: lambda/requirements.txt lambda/requirements-emulated.txt | $(VENV)/.runtime
	$(call venv_from,lambda/requirements-emulated.txt)

$(DEPLOY_VENV)/.installed: deploy/requirements.txt | $(VENV)/.runtime
	$(call venv_from,deploy/requirements.txt)

clean:  ## remove the virtualenvs and local data (tasks included)
	rm -rf $(VENV) $(LOCALSTACK_VENV) $(LAMBDA_VENV) $(DEPLOY_VENV) .data

-include scenarios/scenarios.mk

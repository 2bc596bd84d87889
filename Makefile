SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
PORT ?= 8000
ROLE ?= reviewer
SUBJECT ?= local-$(ROLE)
DISTRICTS ?= LIMA
COURTS ?= 1801-JR-PE-01
REGISTRY ?= identity
BENCHES := bench/api.py bench/documents.py bench/qr_decoding.py bench/checkin.py bench/bot.py bench/coldstart.py \
           bench/indicators.py bench/console.py bench/first_request.py bench/record_check.py bench/startup.py \
           bench/capacity.py bench/secrets_cold_start.py

export PYTHONPATH := $(CURDIR)
export AWS_ACCESS_KEY_ID ?= local
export AWS_SECRET_ACCESS_KEY ?= local
export AWS_DEFAULT_REGION ?= us-east-1

# Deployment (AWS): the CDK app, Chalice's CDK construct and cfn-lint live in their own venv, never in Lambda.
TOOLS_VENV := .tools-venv
TOOLS_PY := $(TOOLS_VENV)/bin/python
CLOUD_STAGE = $(if $(filter-out local,$(STAGE)),$(STAGE),dev)
APPROVAL ?= broadening
# The local stack's dummy credentials above must not hide a real profile when talking to AWS.
AWS_ENV = $(if $(filter local,$(AWS_ACCESS_KEY_ID)),env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY,env)
CDK = cd infrastructure && $(AWS_ENV) CDK_DISABLE_VERSION_CHECK=1 npx --no-install cdk --no-notices
CDK_CONTEXT = -c stage=$(CLOUD_STAGE) $(if $(ALARM_EMAIL),-c alarm_email=$(ALARM_EMAIL)) $(foreach c,$(CONTEXT),-c $(c))

.PHONY: tools synth deploy set-webhook signing-cert test-infrastructure
.PHONY: help install run test test-unit lint demo demo-control demo-console token verify-qr rotate-keys bench clean
.PHONY: registry-down registry-up indicators-rebuild lock vulnerability-scan

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

install: $(STAMPS)/system $(STAMPS)/venv $(STAMPS)/npm ## Install what is missing (Debian packages, Python venv, DynamoDB Local)

$(STAMPS)/system: .ci/system-packages.txt .ci/install-system
	@mkdir -p $(STAMPS)
	.ci/install-system
	@touch $@

# Every environment installs from its lock file, with hash checking (`make lock` re-resolves them).
$(STAMPS)/venv: requirements-dev.lock requirements.lock bot/requirements.lock
	@mkdir -p $(STAMPS)
	@test -x $(PY) || "$$(.ci/find-python)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<26.3"
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	@touch $@

UV_COMPILE = $(VENV)/bin/uv pip compile --generate-hashes --python-version 3.12 \
             --python-platform x86_64-manylinux_2_28 --no-header --quiet $(foreach p,$(UPGRADE),--upgrade-package $(p))
lock: $(STAMPS)/venv ## Re-resolve the lock files (with hashes) after a requirements*.txt change: make lock [UPGRADE="pkg ..."]
	$(UV_COMPILE) requirements.txt -o requirements.lock
	$(UV_COMPILE) bot/requirements.txt -o bot/requirements.lock
	$(UV_COMPILE) requirements-dev.txt -o requirements-dev.lock
	$(UV_COMPILE) requirements-tools.txt -o requirements-tools.lock
	$(PY) -m pytest -q -p no:cacheprovider tests/unit/test_lock_files.py

vulnerability-scan: $(STAMPS)/venv ## Check every lock file against published advisories (says so when it cannot reach them)
	$(PY) .ci/vulnerability_scan.py requirements.lock bot/requirements.lock requirements-dev.lock requirements-tools.lock

$(STAMPS)/npm: package.json package-lock.json $(STAMPS)/system
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: install ## Start the whole system on 127.0.0.1 (API :8000, DynamoDB Local :8001, payments :8002)
	$(PY) infrastructure/local/run.py

# The installs are independent (two venvs, npm, Debian packages), so they run side by side, and lint runs beside the
# tools venv's install: 146 s -> 82 s from a clean clone on this 2-core machine (loaded, same run).
# The infrastructure tests (the CDK synth and the linters: the CPU) run beside the suite (which mostly waits on its
# local servers); their output follows the suite's, and either failing fails the run.
test: ## Install what is missing, lint, scan for vulnerabilities, and run every test
	$(MAKE) --no-print-directory -j3 --output-sync=target lint $(STAMPS)/tools-venv vulnerability-scan
	@log=$$(mktemp); $(TOOLS_PY) -m pytest -q tests/infrastructure > $$log 2>&1 & infra=$$!; \
	echo "$(PY) -m pytest -q  (beside it: $(TOOLS_PY) -m pytest -q tests/infrastructure)"; \
	$(PY) -m pytest -q; suite=$$?; wait $$infra; infra_rc=$$?; \
	echo "$(TOOLS_PY) -m pytest -q tests/infrastructure"; cat $$log; rm -f $$log; \
	test $$suite -eq 0 -a $$infra_rc -eq 0

test-unit: install ## Unit tests only (no I/O)
	$(PY) -m pytest -q tests/unit

lint: install ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m mypy

demo: install ## Drive the certificate path against the running stack (start `make run` first)
	$(PY) infrastructure/local/demo.py

demo-control: install ## Drive virtual penal control (enrolment, three check-ins) against the running stack
	$(PY) infrastructure/local/demo_control.py

demo-console: install ## Data on every page of the operators' console (runs demo and demo-control first); then sign in at /console
	$(PY) infrastructure/local/demo.py
	$(PY) infrastructure/local/demo_control.py
	$(PY) infrastructure/local/demo_console.py

token: install ## Print an operator token for the local stack: make token ROLE=cvp_head [DISTRICTS=LIMA] [COURTS=1801-JR-PE-01]
	@$(PY) -c "from chalicelib.bootstrap import build; print(build().tokens.issue('$(SUBJECT)', '$(ROLE)'.split(','), districts='$(DISTRICTS)'.split(','), courts='$(COURTS)'.split(',')))"

indicators-rebuild: install ## Recompute the indicators from their kept facts and compare: make indicators-rebuild FROM=2026-01 TO=2026-11 [WRITE=1]
	$(PY) -m chalicelib.handlers.indicators_rebuild --from $(FROM) --to $(TO) $(if $(WRITE),--write)

registry-down: install ## Switch a registry off on the running local stack to try annex 5: make registry-down REGISTRY=identity|warrants
	@$(PY) -m chalicelib.adapters.local_registries down $(REGISTRY)

registry-up: install ## Bring it back: make registry-up REGISTRY=identity|warrants
	@$(PY) -m chalicelib.adapters.local_registries up $(REGISTRY)

verify-qr: install ## Check a document offline: make verify-qr QR='<text>' | IMAGE=photo.png | PDF=file.pdf [STATUS=list.jwt] (exit 3: revocation not checked)
	@mkdir -p .local && $(PY) -c "import json, os; from infrastructure.local.run import local_environment; \
	  os.environ.update(local_environment()); from chalicelib.bootstrap import build; c = build(); \
	  open('.local/jwks.json', 'w').write(json.dumps(c.jwks())); open('.local/ca.pem', 'wb').write(c.pki().ca_cert_pem); \
	  print(c.settings.public_base_url)" > .local/origin.txt
	$(PY) -m chalicelib.adapters.documents.verify_cli --jwks .local/jwks.json --ca .local/ca.pem \
	  --origin "$$(cat .local/origin.txt)" $(if $(STATUS),--status-list '$(STATUS)',--fetch-status) \
	  $(if $(QR),--text '$(QR)',$(if $(IMAGE),--image '$(IMAGE)',--pdf '$(PDF)'))

rotate-keys: install ## New QR seal and PDF signing keys for every issuer of the local stack (old documents keep verifying)
	@$(PY) -c "from chalicelib.adapters.documents.pki import rotate_keys; from chalicelib.settings import load_settings; \
	  [print(f'{issuer}: QR key {old} -> {new} (the old key stays published); new signing key certified') \
	   for issuer, (old, new) in rotate_keys(load_settings().pki_dir).items()]"

bench: install ## Benchmarks (figures as name: value lines)
	@for b in $(BENCHES); do $(PY) $$b || exit 1; done

tools: $(STAMPS)/tools-venv $(STAMPS)/cdk-cli ## Install the deployment tools (.tools-venv and the CDK CLI in infrastructure/)

$(STAMPS)/tools-venv: requirements-tools.lock
	@mkdir -p $(STAMPS)
	@test -x $(TOOLS_PY) || "$$(.ci/find-python)" -m venv $(TOOLS_VENV)
	$(TOOLS_PY) -m pip install -q --upgrade "pip<26.3"
	$(TOOLS_PY) -m pip install -q --require-hashes -r requirements-tools.lock
	@touch $@

$(STAMPS)/cdk-cli: infrastructure/package.json infrastructure/package-lock.json
	@mkdir -p $(STAMPS)
	cd infrastructure && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

synth: $(STAMPS)/tools-venv ## CloudFormation for a stage, offline, into infrastructure/cdk.out, then cfn-lint: make synth STAGE=dev
	rm -rf infrastructure/cdk.out/asset.* infrastructure/cdk.out/.build/chalice.out
	STAGE=$(CLOUD_STAGE) $(TOOLS_PY) infrastructure/cdk/cdk_app.py
	$(TOOLS_VENV)/bin/cfn-lint infrastructure/cdk.out/antecedentes-$(CLOUD_STAGE).template.json
	@echo "infrastructure/cdk.out/antecedentes-$(CLOUD_STAGE).template.json: lint clean"

test-infrastructure: $(STAMPS)/tools-venv ## CDK assertions and cfn-lint on the synthesised templates (part of make test)
	$(TOOLS_PY) -m pytest -q tests/infrastructure

deploy: tools ## Deploy the whole system to AWS (needs credentials): make deploy STAGE=dev [ALARM_EMAIL=you@example.org]
	rm -rf infrastructure/cdk.out/asset.* infrastructure/cdk.out/.build/chalice.out
	$(CDK) bootstrap $(CDK_CONTEXT)
	$(CDK) deploy $(CDK_CONTEXT) --require-approval $(APPROVAL) --outputs-file cdk.out/outputs-$(CLOUD_STAGE).json

set-webhook: $(STAMPS)/tools-venv ## Point Telegram at the deployed bot: make set-webhook STAGE=dev TELEGRAM_BOT_TOKEN=<from @BotFather> [ROTATE=1]
	$(AWS_ENV) $(TOOLS_PY) infrastructure/cdk/set_webhook.py --stage $(CLOUD_STAGE) $(if $(ROTATE),--rotate-secret-token)

signing-cert: $(STAMPS)/tools-venv ## Certificate for the KMS signing key: make signing-cert STAGE=dev (test CA) | CSR=req.pem | CHAIN=chain.pem
	$(AWS_ENV) $(TOOLS_PY) infrastructure/cdk/signing_cert.py --stage $(CLOUD_STAGE) \
	  $(if $(CSR),--csr '$(CSR)',$(if $(CHAIN),--import '$(CHAIN)',--dev))

clean: ## Remove local data, venv and installed tools
	rm -rf $(VENV) $(STAMPS) node_modules .local .pytest_cache .mypy_cache .ruff_cache $(TOOLS_VENV) infrastructure/node_modules infrastructure/cdk.out

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
PORT ?= 8000
ROLE ?= reviewer
SUBJECT ?= local-$(ROLE)
BENCHES := bench/api.py bench/documents.py bench/checkin.py

export PYTHONPATH := $(CURDIR)
export AWS_ACCESS_KEY_ID ?= local
export AWS_SECRET_ACCESS_KEY ?= local
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help install run test test-unit lint demo demo-control token verify-qr bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

install: $(STAMPS)/system $(STAMPS)/venv $(STAMPS)/npm ## Install what is missing (Debian packages, Python venv, DynamoDB Local)

$(STAMPS)/system: .ci/system-packages.txt .ci/install-system
	@mkdir -p $(STAMPS)
	.ci/install-system
	@touch $@

$(STAMPS)/venv: requirements.txt requirements-dev.txt bot/requirements.txt
	@mkdir -p $(STAMPS)
	@test -x $(PY) || "$$(.ci/find-python)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<26.3"
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: install ## Start the whole system on 127.0.0.1 (API :8000, DynamoDB Local :8001, payments :8002)
	$(PY) infrastructure/local/run.py

test: install lint ## Install what is missing, lint, and run every test (unit, integration, end to end)
	$(PY) -m pytest -q

test-unit: install ## Unit tests only (no I/O)
	$(PY) -m pytest -q tests/unit

lint: install ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m mypy

demo: install ## Drive the certificate path against the running stack (start `make run` first)
	$(PY) infrastructure/local/demo.py

demo-control: install ## Drive virtual penal control (enrolment, three check-ins) against the running stack
	$(PY) infrastructure/local/demo_control.py

token: install ## Print an operator token for the local stack: make token ROLE=reviewer
	@$(PY) -c "from chalicelib.bootstrap import build; print(build().tokens.issue('$(SUBJECT)', '$(ROLE)'.split(',')))"

verify-qr: install ## Check a QR offline: make verify-qr QR='<text>' | IMAGE=photo.png | PDF=file.pdf
	@mkdir -p .local && $(PY) -c "from chalicelib.bootstrap import build; import json; print(json.dumps(build().jwks()))" > .local/jwks.json
	$(PY) -m chalicelib.adapters.documents.verify_cli --jwks .local/jwks.json \
	  $(if $(QR),--text '$(QR)',$(if $(IMAGE),--image '$(IMAGE)',--pdf '$(PDF)'))

bench: install ## Benchmarks (figures as name: value lines)
	@for b in $(BENCHES); do $(PY) $$b || exit 1; done

clean: ## Remove local data, venv and installed tools
	rm -rf $(VENV) $(STAMPS) node_modules .local .pytest_cache .mypy_cache .ruff_cache

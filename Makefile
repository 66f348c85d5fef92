# AV dual platform – every target sets itself up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 8000
STAGE ?= dev
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PY := .venv/bin/python
# uv gives up compiling one file after 60 s: on a busy 2-core machine the largest CDK modules take longer
export UV_COMPILE_BYTECODE_TIMEOUT ?= 900
CDK := node_modules/.bin/cdk
BASE_URL ?= http://127.0.0.1:$(PORT)
# `make smoke` checks a running `make serve` unless STAGE is given (then the deployed stage)
SMOKE_TARGET = $(if $(filter command line environment,$(origin STAGE)),--stage $(STAGE),--base-url $(BASE_URL))
# A deployed stage's own addresses (required except for the synth-only stage `local`, docs/deploy.md)
CDK_CONTEXT = $(if $(MAIL_SENDER),-c mailSender=$(MAIL_SENDER)) $(if $(OFFICE_EMAIL),-c officeEmail=$(OFFICE_EMAIL)) \
	$(if $(ALARM_EMAIL),-c alarmEmail=$(ALARM_EMAIL)) $(if $(MAIL_IDENTITIES),-c mailIdentities=$(MAIL_IDENTITIES))
# `make synth` checks the synth-only stage `local` unless STAGE is given
SYNTH_STAGE = $(if $(filter command line environment,$(origin STAGE)),$(STAGE),local)

.PHONY: help demo serve smoke test test-fast fuzz lint lint-style typecheck test-all synth deploy bench clean uv \
	system-deps browser-deps

help: ## Show targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | uv
	$(UV) sync --frozen --all-groups --compile-bytecode
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

system-deps: ## Debian's poppler-utils (the tests look at PDFs: pdftotext, pdftoppm); PDFs need no system library
	@if ! command -v pdftoppm >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; fi

browser-deps: system-deps ## Debian's Chromium (with its German UI: date fields as TT.MM.JJJJ) for the browser tests
	@test -x /usr/bin/chromium -a -f /usr/lib/chromium/locales/de.pak || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-l10n >/dev/null)

demo: .venv/.synced system-deps ## Run the whole scenario locally (embedded moto runtime) → out/reports/
	$(PY) -m avdual.cli demo

serve: .venv/.synced system-deps ## Serve API, /docs, web pages on http://127.0.0.1:$(PORT) with the demo scenario (ARGS=--empty: blank)
	PORT=$(PORT) $(PY) -m avdual.cli serve $(ARGS)

smoke: .venv/.synced ## Smoke suite of a running stage: BASE_URL (default: a running `make serve`) or STAGE=…
	$(PY) -m avdual.cli smoke $(SMOKE_TARGET)

# mypy (about a minute without its cache, one core) checks the types while pytest runs, instead of before it;
# pytest's progress shows as it runs, mypy's findings appear as one block when it ends (then make fails)
test: .venv/.synced node_modules/.installed browser-deps ## Lint and all tests (unit, contract, integration, e2e, infra, browser); mypy runs beside pytest
	$(MAKE) --no-print-directory lint-style
	$(MAKE) --no-print-directory -j 2 typecheck test-all

test-all: .venv/.synced node_modules/.installed browser-deps
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder

fuzz: .venv/.synced ## schemathesis on the intake and casework APIs (>= 1,000 requests → out/fuzz.json); matching invariants over random histories (→ out/fuzz-matching.json)
	AVDUAL_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),100) \
	AVDUAL_MATCHING_EXAMPLES=$(or $(MATCHING_EXAMPLES),40) AVDUAL_MATCHING_STEPS=$(or $(MATCHING_STEPS),25) \
	$(PY) -m pytest tests/fuzz -p no:xdist -s -q

test-fast: .venv/.synced ## Tests without CDK synth and browser
	$(PY) -m pytest -m "not infra and not browser" -n 2 --dist loadfile --no-loadscope-reorder

lint: lint-style typecheck ## ruff (check + format --check) + mypy + import-linter

lint-style: .venv/.synced
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

typecheck: .venv/.synced
	.venv/bin/mypy contracts common services avdual infra

synth: .venv/.synced node_modules/.installed ## cdk synth offline (stage `local`; or STAGE=… MAIL_SENDER=… OFFICE_EMAIL=…)
	$(CDK) synth -c stage=$(SYNTH_STAGE) $(CDK_CONTEXT) --quiet

deploy: .venv/.synced node_modules/.installed ## cdk deploy STAGE=… MAIL_SENDER=… OFFICE_EMAIL=… [ALARM_EMAIL=…] (docs/deploy.md)
	@if [ "$(STAGE)" = local ]; then echo "STAGE=local is the synth-only check; deploy a real stage, e.g. STAGE=dev (docs/deploy.md)"; exit 2; fi
	$(CDK) deploy -c stage=$(STAGE) $(CDK_CONTEXT) --require-approval broadening

bench: .venv/.synced system-deps ## Benchmarks → out/bench.json
	$(PY) -m avdual.cli bench --out out/bench.json

clean:
	rm -rf out cdk.out .build

# TracSeq: the two commands are `make dev` (run everything locally) and `make test`.
# Both install what they need: Python venvs for moto/cfn-lint/cargo-lambda, SAM CLI and
# schemathesis, the npm ASL validator, the web app's npm packages and build, and (for
# `make test`) Debian's chromium for the browser tests.

PYTHON   ?= python3
VENV     := .venv
SAM_VENV := .venv-sam
CONTRACT_VENV := .venv-contract
CARGO    ?= cargo
# cargo-lambda finds zig in the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export TRACSEQ_VENV := $(CURDIR)/$(VENV)
export TRACSEQ_SAM_VENV := $(CURDIR)/$(SAM_VENV)
export TRACSEQ_CONTRACT_VENV := $(CURDIR)/$(CONTRACT_VENV)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: dev test venv web web-check chromium build bench routes lint check clean

$(VENV)/.stamp: infra/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

$(SAM_VENV)/.stamp: infra/requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-sam.txt
	touch $@

$(CONTRACT_VENV)/.stamp: infra/requirements-contract.txt
	$(PYTHON) -m venv $(CONTRACT_VENV)
	$(CONTRACT_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-contract.txt
	touch $@

# The Amazon States Language validator (npm), for the state machine tests.
ASL := infra/asl/node_modules/.stamp
$(ASL): infra/asl/package.json infra/asl/package-lock.json
	npm ci --prefix infra/asl --no-audit --no-fund --silent
	touch $@

venv: $(VENV)/.stamp $(SAM_VENV)/.stamp $(CONTRACT_VENV)/.stamp $(ASL)

# The web app (web/): npm packages from the lock file, then the static build the runner
# serves at / (and CloudFront in AWS). Rebuilt when a source file changes.
WEB_DEPS := web/node_modules/.stamp
WEB_DIST := web/dist/index.html
$(WEB_DEPS): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --silent
	touch $@
$(WEB_DIST): $(WEB_DEPS) $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json
	npm run --prefix web --silent build
web: $(WEB_DIST)

## The web app's own checks: its typed client matches docs/openapi.json, and its unit tests.
web-check: $(WEB_DEPS)
	npm run --prefix web --silent check-gen
	npm run --prefix web --silent test

# Browser tests drive Debian's Chromium (Playwright's own browser download needs a host
# outside the package registries). CI runs as root; elsewhere sudo asks once.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; }; }

## Start moto, the HTTP API and the web app on :3000 and the AWS edge on :4566, seeded;
## Ctrl-C stops all.
dev: $(VENV)/.stamp $(WEB_DIST)
	$(CARGO) run -p tracseq-runner --bin tracseq-local -- serve

# Tests at once. The end-to-end tests mostly wait (on sagas' retry back-off, delivery
# retries, queues), so three at a time on two cores keep the machine busier than two.
TEST_THREADS ?= 3

## Every test: unit, integration against moto through the runner, end to end over HTTP.
test: venv $(WEB_DIST) chromium web-check
	$(CARGO) test --workspace -- --test-threads=$(TEST_THREADS)

## List the routes template.yaml exposes and check them against the code.
routes:
	$(CARGO) run -q -p tracseq-runner --bin tracseq-local -- routes

# Every service crate under functions/ with a `bootstrap` binary (src/main.rs).
FUNCTION_PACKAGES := $(foreach d,$(wildcard functions/*/src/main.rs),-p tracseq-$(word 2,$(subst /, ,$(d))))

## Release Lambda artifacts (arm64) with cargo-lambda: target/lambda/<binary>/bootstrap.
build: $(VENV)/.stamp
	$(VENV)/bin/cargo-lambda lambda build --release --arm64 $(FUNCTION_PACKAGES)

## Benchmarks: criterion hot paths, then a load test against a release-built runner.
bench: $(VENV)/.stamp
	$(CARGO) bench -p tracseq-core --bench hot_paths
	$(CARGO) bench -p tracseq-samples --bench manifest
	$(CARGO) bench -p tracseq-storage --bench box_map
	$(CARGO) bench -p tracseq-sequencing --bench samplesheet
	$(CARGO) bench -p tracseq-intake --features testkit --bench extract
	infra/scripts/load-bench.sh
	infra/scripts/import-bench.sh
	infra/scripts/storage-bench.sh
	infra/scripts/fanout-bench.sh
	infra/scripts/backup-bench.sh
	infra/scripts/saga-bench.sh
	infra/scripts/reports-bench.sh
	infra/scripts/export-bench.sh

lint: venv
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CONTRACT_VENV) infra/asl/node_modules web/node_modules web/dist target

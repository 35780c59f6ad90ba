# API Tokens. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
PYTHON    ?= python3
VENV      := .venv
BUILD     := build
FUNCTIONS := $(notdir $(wildcard functions/*))
# Every function binary: static, no RPC shim, reproducible paths, stripped.
FN_FLAGS  := -tags lambda.norpc -trimpath -ldflags="-s -w"
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
# cmd/localapi starts the whole local API in several tests and runs the documents' examples;
# on a busy machine it needs more than go test's default 10 minutes.
TEST_TIMEOUT ?= 30m

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort -u | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: venv
venv: $(VENV)/.installed ## Install the pinned local AWS emulator (moto server) into .venv

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

.PHONY: build
build: ## Build every function's bootstrap, for Lambda (linux/arm64) and for this machine
	@for fn in $(FUNCTIONS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(FN_FLAGS) -o $(BUILD)/arm64/$$fn/bootstrap ./functions/$$fn; \
		CGO_ENABLED=0 $(GO) build $(FN_FLAGS) -o $(BUILD)/host/$$fn/bootstrap ./functions/$$fn; \
	done
	@ls -l $(BUILD)/arm64/*/bootstrap | awk '{printf "%8.1f MiB  %s\n", $$5/1048576, $$9}'

.PHONY: test
test: venv zapier-deps ## Run every test; the tests start and stop the emulator themselves (the page's browser tests need Chromium)
	@$(call browser-note,will be SKIPPED)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	@$(call browser-note,were SKIPPED)

.PHONY: lint
lint: lint-go lint-template ## Every static check: Go (lint-go) and the SAM template (lint-template)

.PHONY: lint-go
lint-go: ## gofmt, go vet, staticcheck, and go mod tidy must leave nothing to change
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
		if [[ -n $$unformatted ]]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff

.PHONY: bench
bench: venv ## Benchmark the hot paths and every function's cold start; print and write build/bench/report.md
	$(GO) run ./cmd/bench -benchtime $(BENCHTIME) -out $(BUILD)/bench/report.md

.PHONY: clean
clean: ## Remove build output
	rm -rf $(BUILD) .aws-sam

-include make/*.mk

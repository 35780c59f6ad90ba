# The local run: the whole API on one machine, no AWS account, no Docker (docs/local-run.md).
# Included by the Makefile; uses its GO, BUILD and venv.

ADDR        ?= 127.0.0.1:3000
ENVIRONMENT ?= local-env
ROLE        ?= agent

.PHONY: run
run: venv ## Start the whole API on 127.0.0.1:3000 (emulator, every function under the Lambda RIE, both authorizers); Ctrl-C stops it
	$(GO) build -o $(BUILD)/localapi ./cmd/localapi
	exec $(BUILD)/localapi -addr $(ADDR)

# The session's user: USER=…, else the login name (the command finds it where $$USER is unset).
.PHONY: session
session: ## Print a dashboard session the running `make run` accepts: USER=… ENVIRONMENT=… ROLE=admin|agent
	@$(GO) run ./cmd/localapi session -addr $(ADDR) $(if $(USER),-user "$(USER)") -environment "$(ENVIRONMENT)" -role "$(ROLE)"

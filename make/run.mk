# The local run: the whole API on one machine, no AWS account, no Docker (docs/local-run.md).
# Included by the Makefile; uses its GO, BUILD and venv.

ADDR        ?= 127.0.0.1:3000
# The state folder (STATE_DIR=…; default .localapi): the data, the keys, and the address of the
# last run, where `make session` and `make report-leak` find the running API.
STATE_DIR   ?=
# -addr for session and report-leak only when ADDR is given: otherwise they ask the state folder.
given-addr   = $(if $(filter command line environment,$(origin ADDR)),-addr $(ADDR))
state-flag   = $(if $(STATE_DIR),-state "$(STATE_DIR)")
# FRESH=1 starts with an empty table and a new key ring; otherwise the last run's data is kept.
FRESH       ?=
# CONCURRENCY: the most execution environments per function at once (ReservedConcurrentExecutions
# wins); IDLE: how long an environment goes without a call before it is shut down.
CONCURRENCY ?= 4
IDLE        ?= 5m
# WEBHOOK_RETRY: the sender's wait before each retry of a failed webhook, in seconds (1,1,1);
# empty keeps the deployed schedule (10 s, 30 s, 60 s, then hours).
WEBHOOK_RETRY ?=
ENVIRONMENT ?= local-env
ROLE        ?= agent

.PHONY: run
# The emulator's venv installs while localapi compiles. localapi is built with the functions'
# CGO_ENABLED=0 and -trimpath, so the packages they share (the AWS SDK) compile once.
run: ## Start the whole API on 127.0.0.1:3000 (emulator, every function under the Lambda RIE, both authorizers), keeping the data of the last run (FRESH=1: start empty); Ctrl-C stops it
	@$(MAKE) --no-print-directory venv & venv=$$!; \
		CGO_ENABLED=0 $(GO) build -trimpath -o $(BUILD)/localapi ./cmd/localapi || { wait $$venv; exit 1; }; \
		wait $$venv
	exec $(BUILD)/localapi -addr $(ADDR) -concurrency $(CONCURRENCY) -idle $(IDLE)$(if $(FRESH), -fresh)$(if $(WEBHOOK_RETRY), -webhook-retry $(WEBHOOK_RETRY)) $(state-flag)

.PHONY: envs
envs: ## List the execution environments each function of the running `make run` has (finds it as make session does; ADDR=… to name one)
	@addr="$(if $(filter command line environment,$(origin ADDR)),$(ADDR))"; \
		if [[ -z $$addr ]]; then addr=$$(cat "$(or $(STATE_DIR),.localapi)/address" 2>/dev/null || echo "$(ADDR)"); fi; \
		addr=$${addr#http://}; curl -sSf "http://$$addr/local/environments?format=text"

# The session's user: USER=…, else the login name (the command finds it where $$USER is unset).
.PHONY: session
session: ## Print a dashboard session the running `make run` accepts (it finds its address): USER=… ENVIRONMENT=… ROLE=admin|agent
	@$(GO) run ./cmd/localapi session $(given-addr) $(state-flag) $(if $(USER),-user "$(USER)") -environment "$(ENVIRONMENT)" -role "$(ROLE)"

# The key to report: KEY=cbk_… (a key the running local API made, or any other).
.PHONY: report-leak
report-leak: ## Send the running `make run` (it finds its address) a secret scanning report of KEY=cbk_…, signed as GitHub would; print the answer, keys by their hint
	@$(GO) run ./cmd/localapi report-leak $(given-addr) $(state-flag) "$(KEY)"

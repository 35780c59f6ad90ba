# make load: one API key called through the running local API at a fixed rate (docs/local-run.md).
# Included by the Makefile; uses its GO and run.mk's given-addr and state-flag, so that it finds
# the running `make run` as `make session` does.

# KEY=cbk_… is the key to call with (handed to the command in its environment, never on its
# command line); RATE calls a second for DURATION; LOAD_PATH the key-guarded route.
RATE      ?= 10
DURATION  ?= 10s
LOAD_PATH ?= /v1/me

.PHONY: load
load: ## Call the running `make run` (it finds its address) with KEY=cbk_… at RATE=… a second for DURATION=…; print allowed / 429 / other counts (loopback only)
	@LOAD_KEY="$(KEY)" $(GO) run ./cmd/load $(given-addr) $(state-flag) -rate "$(RATE)" -duration "$(DURATION)" -path "$(LOAD_PATH)"

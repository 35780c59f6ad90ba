# Operating a deployed stack (docs/deploying.md), included by the Makefile; uses its GO. Both
# commands take AWS credentials and region from the usual places (AWS_PROFILE, AWS_REGION, …)
# and find the stack's resources by its outputs.

STACK ?= apitokens

.PHONY: admin
admin: ## Create an administrator in the stack's user pool: EMAIL=… ENVIRONMENT=… [STACK=apitokens] [USER_POOL_ID=…]
	@if [[ -z "$(EMAIL)" || "$(origin ENVIRONMENT)" != "command line" && "$(origin ENVIRONMENT)" != environment ]]; then \
		echo "usage: make admin EMAIL=ann@brokerage.example ENVIRONMENT=<environment id> [STACK=$(STACK)]"; exit 2; fi
	$(GO) run ./cmd/admin -email "$(EMAIL)" -environment "$(ENVIRONMENT)" -stack "$(STACK)" -user-pool-id "$(USER_POOL_ID)" -group "$(or $(ADMIN_GROUP),admin)"

.PHONY: rotate-keyring
rotate-keyring: ## Add a key ring version, wait until every function has seen it, then make it current: [STACK=apitokens] [WAIT=6m]
	$(GO) run ./cmd/rotatekeyring -stack "$(STACK)" $(if $(SECRET_ID),-secret-id "$(SECRET_ID)") $(if $(WAIT),-wait "$(WAIT)")

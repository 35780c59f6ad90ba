# Operating a deployed stack (docs/deploying.md), included by the Makefile; uses its GO. Both
# commands find the stack by the name and region `sam deploy --guided` saved in samconfig.toml
# (STACK=… and REGION=… override them; without them: apitokens, and the region of the AWS
# configuration), take AWS credentials from the usual places (AWS_PROFILE, …), and find the
# stack's resources by its outputs.

STACK_FLAGS = $(if $(STACK),-stack "$(STACK)") $(if $(REGION),-region "$(REGION)")

.PHONY: admin
admin: ## Create an administrator in the stack's user pool: EMAIL=… ENVIRONMENT=… [STACK=…] [REGION=…] [USER_POOL_ID=…]
	@if [[ -z "$(EMAIL)" || "$(origin ENVIRONMENT)" != "command line" && "$(origin ENVIRONMENT)" != environment ]]; then \
		echo "usage: make admin EMAIL=ann@brokerage.example ENVIRONMENT=<environment id> [STACK=…] [REGION=…]"; exit 2; fi
	$(GO) run ./cmd/admin -email "$(EMAIL)" -environment "$(ENVIRONMENT)" $(STACK_FLAGS) -user-pool-id "$(USER_POOL_ID)" -group "$(or $(ADMIN_GROUP),admin)"

.PHONY: rotate-keyring
rotate-keyring: ## Add a key ring version, wait until every function has seen it, then make it current: [STACK=…] [REGION=…] [WAIT=6m]
	$(GO) run ./cmd/rotatekeyring $(STACK_FLAGS) $(if $(SECRET_ID),-secret-id "$(SECRET_ID)") $(if $(WAIT),-wait "$(WAIT)")

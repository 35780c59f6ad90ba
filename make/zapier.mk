# The Zapier app (integrations/zapier): its pinned packages, its validation. Its tests run from
# `make test` (cmd/localapi's TestZapierApp, against the local run) once its packages are in.

ZAPIER := integrations/zapier

.PHONY: zapier-deps
zapier-deps: ## Install the Zapier app's pinned packages (npm ci) when Node is present
	@if command -v npm >/dev/null; then \
		[[ $(ZAPIER)/node_modules/.installed -nt $(ZAPIER)/package-lock.json ]] || \
		{ (cd $(ZAPIER) && npm ci --no-audit --no-fund --silent) && touch $(ZAPIER)/node_modules/.installed; }; \
	else echo "Node is not installed: the Zapier app's tests will be SKIPPED"; fi

.PHONY: zapier-validate
zapier-validate: zapier-deps ## Check the Zapier app with the pinned zapier-platform-cli (zapier validate)
	cd $(ZAPIER) && npx --no-install zapier-platform validate --without-style

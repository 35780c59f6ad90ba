# The API Tokens page's browser tests, included by the Makefile. They drive headless Chromium
# (Debian's chromium package, or the binary $CHROMIUM names) and skip without it, except under
# CI=true, where a missing Chromium fails them; browser-note says so plainly around `make test`.
# Their accessibility check loads axe-core into the page: pinned in testkit/browser's
# package-lock.json, installed by `make test` with npm ci when npm is present; without it the
# check skips, except under CI=true, where it fails as a missing Chromium does.

AXE := testkit/browser/node_modules/axe-core/axe.min.js

# browser-note prints, when no Chromium or no axe-core is found, that the browser tests (or
# their accessibility check) $(1).
browser-note = if [[ -z "$${CHROMIUM:-}" ]] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then \
	if [[ "$${CI:-}" == true ]]; then echo "NOTE: CI=true and no Chromium: the dashboard's browser tests will FAIL (apt-get install chromium)."; \
	else echo "NOTE: no Chromium found: the dashboard's browser tests (TestDashboardInABrowser) $(1). apt-get install chromium to run them."; fi; fi; \
	if [[ ! -f $(AXE) ]]; then \
	if [[ "$${CI:-}" == true ]]; then echo "NOTE: CI=true and no $(AXE): the dashboard's accessibility check will FAIL (apt-get install npm, then make test)."; \
	else echo "NOTE: no $(AXE): the dashboard's accessibility check (axe) $(1). Install npm (apt-get install npm) and run make test again."; fi; fi

.PHONY: browser-deps
browser-deps: ## Install what the browser tests load into the page (axe-core, pinned in testkit/browser) with npm ci
ifneq ($(shell command -v npm),)
browser-deps: $(AXE)
endif

$(AXE): testkit/browser/package.json testkit/browser/package-lock.json
	cd testkit/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: browser-deps

# The API Tokens page's browser tests, included by the Makefile. They drive headless Chromium
# (Debian's chromium package, or the binary $CHROMIUM names) and skip without it, except under
# CI=true, where a missing Chromium fails them; browser-note says so plainly around `make test`.

# browser-note prints, when no Chromium is found, that the browser tests $(1).
browser-note = if [[ -z "$${CHROMIUM:-}" ]] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then \
	if [[ "$${CI:-}" == true ]]; then echo "NOTE: CI=true and no Chromium: the dashboard's browser tests will FAIL (apt-get install chromium)."; \
	else echo "NOTE: no Chromium found: the dashboard's browser tests (TestDashboardInABrowser) $(1). apt-get install chromium to run them."; fi; fi

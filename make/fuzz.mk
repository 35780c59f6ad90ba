# Fuzzing, included by the Makefile; uses its GO and FUZZTIME. Every fuzz target of every
# package runs in turn for the given time, from its seed corpus (testdata/fuzz/<target> and the
# target's f.Add seeds); an input that fails is written under testdata/fuzz/<target> and the
# run stops there.

FUZZTIME_CI ?= 8s

# fuzz-all runs each fuzz target for $(1). The targets are read from the test files, so that no
# test binary is built or started just to list them.
define fuzz-all
	@for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go 2>/dev/null); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(1) $$pkg; \
		done; \
	done
endef

.PHONY: fuzz
fuzz: venv ## Run every fuzz target for FUZZTIME each (default 10s)
	$(call fuzz-all,$(FUZZTIME))

.PHONY: fuzz-ci
fuzz-ci: venv ## Run every fuzz target for FUZZTIME_CI each (default 8s): the bounded run for CI
	$(call fuzz-all,$(FUZZTIME_CI))

# Fuzzing, included by the Makefile; uses its GO and FUZZTIME. Every fuzz target of every
# package runs in turn for the given time, from its seed corpus (testdata/fuzz/<target> and its
# f.Add seeds); an input that fails is written under testdata/fuzz/<target> and the run stops.

FUZZTIME_CI ?= 8s

# fuzz-all runs each fuzz target for $(1). Only packages whose tests define one are listed, so
# no other test binary is built or started.
define fuzz-all
	@for pkg in $$($(GO) list ./...); do \
		grep -qs '^func Fuzz' $$($(GO) list -f '{{.Dir}}' $$pkg)/*_test.go || continue; \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(1) $$pkg; \
		done; \
	done
endef

.PHONY: fuzz
fuzz: venv ## Run every fuzz target for FUZZTIME each (default 10s)
	$(call fuzz-all,$(FUZZTIME))

.PHONY: fuzz-ci
fuzz-ci: venv ## Run every fuzz target for FUZZTIME_CI each (default 8s): the bounded run CI makes
	$(call fuzz-all,$(FUZZTIME_CI))

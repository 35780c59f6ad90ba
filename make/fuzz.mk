# Fuzzing, included by the Makefile; uses its GO and FUZZTIME. Every fuzz target of every
# package runs in turn for the given time, from its seed corpus (testdata/fuzz/<target> and the
# target's f.Add seeds); an input that fails is written under testdata/fuzz/<target> and the
# run stops there.

FUZZTIME_CI ?= 8s

# fuzz-all runs each fuzz target for $(1) (tools/fuzz-go.sh, which says how a run can fail).
fuzz-all = GO="$(GO)" tools/fuzz-go.sh $(1)

.PHONY: fuzz
fuzz: venv ## Run every fuzz target for FUZZTIME each (default 10s)
	@$(call fuzz-all,$(FUZZTIME))

.PHONY: fuzz-ci
fuzz-ci: venv ## Run every fuzz target for FUZZTIME_CI each (default 8s): the bounded run for CI
	@$(call fuzz-all,$(FUZZTIME_CI))

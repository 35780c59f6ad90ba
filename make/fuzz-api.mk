# API fuzzing with schemathesis against the local API and openapi.yaml, included by the Makefile;
# uses its GO, PYTHON, BUILD and venv. Schemathesis lives in its own venv, .venv-fuzz, with every
# dependency pinned (requirements-fuzz.txt). tools/fuzz-api.sh does the run.

FUZZ_VENV := .venv-fuzz
EXAMPLES  ?= 100
SEED      ?= 1

.PHONY: fuzz-venv
fuzz-venv: $(FUZZ_VENV)/.installed ## Install schemathesis (requirements-fuzz.txt) into .venv-fuzz

# The venv ignores itself (a .gitignore of "*"), as venvs made by Python 3.13 do.
$(FUZZ_VENV)/.installed: requirements-fuzz.txt
	$(PYTHON) -m venv $(FUZZ_VENV)
	echo '*' > $(FUZZ_VENV)/.gitignore
	$(FUZZ_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-fuzz.txt
	touch $@

.PHONY: fuzz-api
fuzz-api: venv fuzz-venv ## Fuzz every operation of openapi.yaml on the local API (schemathesis, EXAMPLES per operation, SEED)
	$(GO) build -o $(BUILD)/localapi ./cmd/localapi
	EXAMPLES=$(EXAMPLES) SEED=$(SEED) SCHEMATHESIS=$(FUZZ_VENV)/bin/schemathesis \
		LOCALAPI=$(BUILD)/localapi FUZZ_DIR=$(BUILD)/fuzz-api tools/fuzz-api.sh

# Template checks, included by the Makefile; uses its PYTHON and GO. The SAM CLI, its translator
# and cfn-lint live in their own venv, .venv-lint: aws-sam-cli pins boto3, botocore, click and
# pydantic exactly and would downgrade the emulator's copies in .venv.

LINT_VENV   := .venv-lint
LINT_REGION ?= us-east-1
SAM         := SAM_CLI_TELEMETRY=0 $(LINT_VENV)/bin/sam
# sam's go1.x builder runs `go build` in the environment it is started with (it sets only GOOS,
# and GOARCH from the function's Architectures), so the bootstrap flags travel in GOFLAGS.
SAM_GO_ENV  := CGO_ENABLED=0 GOFLAGS="-tags=lambda.norpc -trimpath '-ldflags=-s -w'"

.PHONY: lint-venv
lint-venv: $(LINT_VENV)/.installed ## Install sam and cfn-lint (requirements-lint.txt) into .venv-lint

# The venv ignores itself (a .gitignore of "*"), as venvs made by Python 3.13 do.
$(LINT_VENV)/.installed: requirements-lint.txt
	$(PYTHON) -m venv $(LINT_VENV)
	echo '*' > $(LINT_VENV)/.gitignore
	$(LINT_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-lint.txt
	touch $@

.PHONY: lint-template
lint-template: lint-venv ## sam validate --lint, cfn-lint, the SAM translator's output checked, sam build into a scratch folder, and the SAM event fixtures current
	$(SAM) validate --lint --template template.yaml --region $(LINT_REGION)
	$(LINT_VENV)/bin/cfn-lint --regions $(LINT_REGION) -- template.yaml
	SAM_TRANSLATOR_REQUIRED=1 $(GO) test -count=1 -run '^TestSAMTranslation$$' ./testkit/samtemplate/
	dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
		$(SAM_GO_ENV) $(SAM) build --template template.yaml --build-dir "$$dir/build" && \
		SAM="$(LINT_VENV)/bin/sam" tools/sam-events.sh "$$dir/events" && \
		for f in $$(cd "$$dir/events" && find . -name '*.json'); do \
			diff -u "$$f" "$$dir/events/$$f" || { echo "$$f differs from what this SAM CLI generates: make events"; exit 1; }; \
		done

.PHONY: events
events: lint-venv ## Rewrite the test fixtures that `sam local generate-event` makes (tools/sam-events.sh)
	SAM="$(LINT_VENV)/bin/sam" tools/sam-events.sh

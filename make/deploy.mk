# Deploying to AWS (docs/deploying.md), included by the Makefile. The SAM CLI lives in .venv-lint
# with cfn-lint; SAM, SAM_GO_ENV and lint-venv come from make/lint.mk.

.PHONY: sam-build
sam-build: lint-venv ## sam build for deployment, with the bootstrap flags (into .aws-sam)
	$(SAM_GO_ENV) $(SAM) build --template template.yaml

.PHONY: deploy
deploy: sam-build ## sam build, then sam deploy --guided (needs AWS credentials; settings saved to samconfig.toml)
	$(SAM) deploy --guided

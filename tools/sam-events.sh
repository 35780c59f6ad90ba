#!/usr/bin/env bash
# Writes the events the SAM CLI generates, which the handler and authorizer tests feed through
# the code, under the folder given (the repository root by default). `make events` rewrites
# them in place; `make lint-template` regenerates them elsewhere and fails on any difference.
set -euo pipefail
sam=${SAM:-.venv-lint/bin/sam}
root=${1:-.}
export SAM_CLI_TELEMETRY=0

gen() { # gen <file> <sam generate-event arguments…>
	local out=$root/$1
	shift
	mkdir -p "$(dirname "$out")"
	"$sam" local generate-event "$@" >"$out"
}

# HTTP API payload 2.0 requests, one with a JSON body and one without.
gen shared/handlers/testdata/sam/http-api-post.json apigateway http-api-proxy --method POST --path v1/tokens --body '{"name":"Zapier Sync"}'
gen shared/handlers/testdata/sam/http-api-get.json apigateway http-api-proxy --method GET --path v1/tokens --body ''
# The key authorizer gets an HTTP API payload 2.0 request; SAM generates none for authorizers
# of HTTP APIs, so the test takes the 2.0 request above and the REST API authorizer events,
# which a misconfigured API would send and which must be refused.
gen shared/authorizer/testdata/sam/http-api-get.json apigateway http-api-proxy --method GET --path v1/me --body ''
gen shared/authorizer/testdata/sam/request-authorizer.json apigateway request-authorizer --method GET --resource v1/me
gen shared/authorizer/testdata/sam/token-authorizer.json apigateway authorizer

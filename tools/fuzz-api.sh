#!/usr/bin/env bash
# Fuzzes the local API (cmd/localapi) against openapi.yaml with schemathesis: `make fuzz-api`.
#
# Starts the whole API on a free loopback port with its own state folder, mints a dashboard
# session for an agent and an admin, creates a User key and an Admin key (owned by users of
# another environment, so that no fuzzed request can revoke them), then runs every operation of
# the document with positive and negative data and every check, once as each caller, and fails
# unless schemathesis found nothing and every operation had at least 100 test cases in each run.
# The API is stopped whatever happens. A request may take up to 30 s, API Gateway's own limit
# for an HTTP API's integration, so that a slow machine is not taken for a failing API.
#
# Arguments are passed on to `schemathesis run`, e.g. --include-operation-id createToken.
# Environment: EXAMPLES (schemathesis's --max-examples, default and at least 100), SEED (default
# 1), SCHEMATHESIS (the program), LOCALAPI (the built cmd/localapi), FUZZ_DIR (state, logs and
# the NDJSON reports, removed after the count unless KEEP_REPORT=1).
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${EXAMPLES:-100}
SEED=${SEED:-1}
SCHEMATHESIS=${SCHEMATHESIS:-.venv-fuzz/bin/schemathesis}
LOCALAPI=${LOCALAPI:-build/localapi}
FUZZ_DIR=${FUZZ_DIR:-build/fuzz-api}
# Absolute: the local API runs each function in its own folder.
mkdir -p "$FUZZ_DIR"
FUZZ_DIR=$(cd "$FUZZ_DIR" && pwd)

# The fewest test cases an operation may have had in a run.
MIN_CASES=100
if ((EXAMPLES < MIN_CASES)); then
	echo "fuzz-api: EXAMPLES=$EXAMPLES; every operation needs at least $MIN_CASES test cases" >&2
	exit 2
fi

mkdir -p "$FUZZ_DIR/state"
rm -rf "$FUZZ_DIR/report"
log=$FUZZ_DIR/localapi.log

"$LOCALAPI" -addr 127.0.0.1:0 -state "$FUZZ_DIR/state" >"$log" 2>&1 &
api=$!
stop() {
	kill -TERM "$api" 2>/dev/null || true
	wait "$api" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The banner names the address once everything is built and running.
url=
for _ in $(seq 600); do
	url=$(sed -n 's/^API Tokens is served on \(http:[^ ]*\)$/\1/p' "$log")
	[[ -n $url ]] && break
	if ! kill -0 "$api" 2>/dev/null; then
		echo "fuzz-api: the local API exited; its output:" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.5
done
if [[ -z $url ]]; then
	echo "fuzz-api: the local API did not start in 5 minutes; its output is in $log" >&2
	exit 1
fi
addr=${url#http://}
echo "fuzz-api: local API on $url (output in $log)"

session() { "$LOCALAPI" session -addr "$addr" -state "$FUZZ_DIR/state" -user "$1" -environment "$2" -role "$3"; }

# create_key SESSION BODY prints the key of a new token.
create_key() {
	curl -sS --fail-with-body -X POST "$url/v1/tokens" -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' -d "$2" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])'
}

FUZZ_AGENT_SESSION=$(session fuzz-agent fuzz-env agent)
FUZZ_ADMIN_SESSION=$(session fuzz-admin fuzz-env admin)
FUZZ_USER_KEY=$(create_key "$(session key-agent key-env agent)" '{"name":"fuzz user key"}')
FUZZ_ADMIN_KEY=$(create_key "$(session key-admin key-env admin)" '{"name":"fuzz admin key","type":"admin"}')
export FUZZ_AGENT_SESSION FUZZ_ADMIN_SESSION FUZZ_USER_KEY FUZZ_ADMIN_KEY

# redact shows keys by their hint and sessions not at all: schemathesis prints the bodies of
# failing cases, and a 201 from POST /v1/tokens holds a key.
redact() {
	sed -E -u 's/\b([a-z][a-z0-9]{1,7}_)[0-9A-Za-z]{45}([0-9A-Za-z]{4})\b/\1…\2/g;
		s/eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]+/[session]/g'
}

# Every check runs, built-in and tools/fuzz_api_hooks.py's, as schemathesis does unless told
# otherwise; naming them on the command line (--checks all) would overrule the per-operation
# settings of tools/fuzz-api.toml. max_response_time fails an answer slower than 10 s, though
# the request waits up to 30 s for it, so that a slow answer is reported as slow, not as none.
# One run per caller, so that a stateful scenario keeps its caller throughout. One worker: two
# threads generating at once trip an error of the Python 3.11 parser in hypothesis.
start=$SECONDS
status=0
for identity in agent admin; do
	# Gone after Ctrl-C (it stops with its process group) or a crash: nothing left to fuzz.
	if ! kill -0 "$api" 2>/dev/null; then
		echo "fuzz-api: the local API has stopped" >&2
		status=1
		break
	fi
	echo "fuzz-api: every operation as the $identity"
	rc=0
	FUZZ_IDENTITY=$identity SCHEMATHESIS_HOOKS=tools/fuzz_api_hooks.py \
		"$SCHEMATHESIS" --config-file tools/fuzz-api.toml run openapi.yaml \
		--url "$url" \
		--exclude-checks unsupported_method \
		--max-response-time 10 \
		--mode all \
		--phases examples,coverage,fuzzing,stateful \
		--max-examples "$EXAMPLES" \
		--seed "$SEED" \
		--workers 1 \
		--request-timeout 30 \
		--generation-database none \
		--report ndjson --report-ndjson-path "$FUZZ_DIR/report/$identity.ndjson" \
		--no-color "$@" 2>&1 | redact || rc=$?
	if ((rc == 130)); then
		exit 130 # Ctrl-C
	fi
	((rc == 0)) || status=1
done
echo "fuzz-api: schemathesis ran for $((SECONDS - start))s"
"${SCHEMATHESIS%/*}/python" tools/fuzz_api_count.py --min "$MIN_CASES" openapi.yaml \
	"$FUZZ_DIR"/report/agent.ndjson "$FUZZ_DIR"/report/admin.ndjson || status=1
# The reports hold every response, keys included: keep them only when asked to.
if [[ ${KEEP_REPORT:-} != 1 ]]; then
	rm -rf "$FUZZ_DIR/report"
fi
exit "$status"

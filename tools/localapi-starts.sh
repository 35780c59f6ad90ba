#!/usr/bin/env bash
# Start the local API N times in a row and count the starts that fail.
#
# Usage: tools/localapi-starts.sh [N] [ADDR]    (defaults: 20, 127.0.0.1:3000)
#
# Each start runs build/localapi (make run builds it) on the project's template with the data
# kept between starts, waits until every function is up and the example key is printed (which
# takes a call through the gateway, the key authorizer and two functions), checks that the key
# authenticates, and stops it with SIGTERM. A start fails when localapi exits, prints no key
# within 5 minutes, or the key is refused. It prints one line per start and the count.
set -uo pipefail
n=${1:-20}
addr=${2:-127.0.0.1:3000}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/localapi
[[ -x $bin ]] || { echo "no $bin: run make run once first" >&2; exit 2; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
for i in $(seq 1 "$n"); do
	start=$(date +%s.%N)
	"$bin" -addr "$addr" > "$log" 2>&1 &
	pid=$!
	key="" why=""
	for _ in $(seq 1 3000); do
		if ! kill -0 "$pid" 2>/dev/null; then why="exited: $(grep -m1 -i 'localapi:' "$log")"; break; fi
		key=$(grep -o 'export KEY=[^ ]*' "$log" | head -1 | cut -d= -f2)
		[[ -n $key ]] && break
		sleep 0.1
	done
	took=$(echo "$(date +%s.%N) - $start" | bc)
	if [[ -n $key ]]; then
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v1/me" -H "Authorization: Bearer $key")
		[[ $code == 200 ]] || why="the key answered $code"
	elif [[ -z $why ]]; then
		why="no key within 5 minutes"
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [[ -n $why ]]; then
		failed=$((failed + 1))
		printf 'start %2d: FAILED after %.1fs (%s)\n' "$i" "$took" "$why"
		tail -5 "$log"
	else
		printf 'start %2d: up after %.1fs\n' "$i" "$took"
	fi
done
echo "$((n - failed)) of $n starts up, $failed failed"
[[ $failed == 0 ]]

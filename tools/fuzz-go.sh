#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (the first argument), one after the
# other, and stops at the first that fails.
#
# One failure is retried once: a target that ends with only "context deadline exceeded" and no
# failing input written. That is Go 1.26's fuzz coordinator racing its own -fuzztime deadline
# while a worker is still busy (go.dev/issue/75804, fixed in Go 1.27), not a finding of the
# target. Any other failure, or the same one twice, fails the run.
set -uo pipefail
fuzztime=${1:?usage: fuzz-go.sh FUZZTIME}
go=${GO:-go}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# deadline_race tells whether the log in $log is the coordinator's race and nothing else. A
# test's own message (file_test.go:N: …) is a finding, except the function logs that the
# handlers' harness prints under any failed test, the race's included.
deadline_race() {
  grep -q '^    context deadline exceeded$' "$log" &&
    ! grep -q 'Failing input written to\|^panic:' "$log" &&
    ! awk '/_test\.go:[0-9]+:/ && !/_test\.go:[0-9]+: function logs:$/ { found = 1 } END { exit !found }' "$log"
}

for pkg in $("$go" list ./...); do
  dir=$("$go" list -f '{{.Dir}}' "$pkg")
  # The targets are read from the test files, so no test binary is built just to list them.
  for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$dir"/*_test.go 2>/dev/null); do
    for attempt in 1 2; do
      echo "fuzz $pkg $target"
      "$go" test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"
      status=${PIPESTATUS[0]}
      ((status == 0)) && break
      if ((attempt == 1)) && deadline_race; then
        echo "fuzz: $target hit Go's -fuzztime deadline race (go.dev/issue/75804), no input failed: once more"
        continue
      fi
      exit "$status"
    done
  done
done

"""Counts what `make fuzz-api` ran, from schemathesis's NDJSON reports, and holds it to a floor.

Usage: fuzz_api_count.py --min N openapi.yaml REPORT.ndjson...

Prints, for every operation of the document, the test cases the API answered for it in each
report (one report per caller) and in all, then the checks that ran and how often each passed or
failed. A case counts once it got a response: one whose request failed (the API down, a timeout)
tested nothing, and is only reported as unanswered. Exits 1 when an operation of the document had
fewer than N answered test cases in some report, or none at all.
"""

import argparse
import collections
import json
import os
import sys

import yaml

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def operations(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return sorted(
        f"{method.upper()} {route}"
        for route, item in doc.get("paths", {}).items()
        for method in item
        if method in METHODS
    )


def read(path):
    """Answered test cases per "METHOD /path", unanswered ones, and check results per
    (check, status) in one report."""
    cases = collections.Counter()
    unanswered = 0
    checks = collections.Counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line).get("ScenarioFinished")
            if event is None:
                continue
            recorder = event["recorder"]
            interactions = recorder.get("interactions", {})
            for case_id, case in recorder.get("cases", {}).items():
                if (interactions.get(case_id) or {}).get("response") is None:
                    unanswered += 1
                    continue
                cases[f"{case['value']['method']} {case['value']['path']}"] += 1
            for results in recorder.get("checks", {}).values():
                for result in results:
                    checks[(result["name"], result["status"])] += 1
    return cases, unanswered, checks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--min", type=int, required=True)
    parser.add_argument("document")
    parser.add_argument("reports", nargs="+")
    args = parser.parse_args()

    ops = operations(args.document)
    names = [os.path.splitext(os.path.basename(r))[0] for r in args.reports]
    counts, checks, unanswered = [], collections.Counter(), 0
    for report in args.reports:
        if not os.path.exists(report):
            print(f"no report {report}: schemathesis did not finish", file=sys.stderr)
            return 1
        c, u, k = read(report)
        counts.append(c)
        unanswered += u
        checks.update(k)

    short = []
    width = max(len(op) for op in ops)
    print(f"{'operation':<{width}}  " + "  ".join(f"{n:>7}" for n in names) + "    total")
    for op in ops:
        per = [c[op] for c in counts]
        print(f"{op:<{width}}  " + "  ".join(f"{n:>7}" for n in per) + f"  {sum(per):>7}")
        if min(per) < args.min:
            short.append(op)
    undeclared = sum(n for c in counts for op, n in c.items() if op not in ops)
    total = sum(sum(c.values()) for c in counts)
    print(f"{len(ops)} operations; {total} answered test cases ({undeclared} of them undeclared"
          f" methods); {unanswered} sent but not answered")
    print("checks: " + ", ".join(
        f"{name} {checks[(name, 'success')]} passed"
        + (f" {checks[(name, 'failure')]} failed" if checks[(name, "failure")] else "")
        for name in sorted({name for name, _ in checks})
    ))
    if short:
        print(f"fewer than {args.min} test cases in a run: {', '.join(short)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

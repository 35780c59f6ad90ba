package handlers

import (
	"regexp"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/httpapi"
)

// rfc3339Rule is the shape of an RFC 3339 time as openapi.yaml's date-time reads it; time.Parse
// judges the values in it.
var rfc3339Rule = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)

// FuzzUsageQuery: a usage query is taken only with a known granularity and, where given, RFC 3339
// times a range of at most 31 days by hour (400 by day) apart, from before to, within 1970–9999;
// anything else is 400 with its code. A query taken answers whole hours (UTC days) that hold the
// times asked for, and the last 24 hours (30 days) by default.
func FuzzUsageQuery(f *testing.F) {
	now := time.Date(2026, 11, 25, 18, 20, 0, 0, time.UTC).Unix()
	for _, s := range [][3]string{
		{"", "", ""}, {"hour", "", ""}, {"day", "", ""}, {"week", "", ""}, {"HOUR", "", ""},
		{"hour", "2026-11-24T18:00:00Z", "2026-11-25T18:00:00Z"},
		{"hour", "2026-11-25T10:30:00-05:00", "2026-11-25T17:00:01.5Z"},
		{"hour", "2026-10-25T18:00:00Z", "2026-11-25T18:00:00Z"}, // 31 days
		{"hour", "2026-10-25T17:59:59Z", "2026-11-25T18:00:00Z"}, // a second more
		{"day", "2025-10-21T00:00:00Z", "2026-11-25T00:00:00Z"},
		{"day", "1970-01-01T00:00:00Z", "1970-01-02T00:00:00Z"},
		{"day", "1969-12-31T23:59:59Z", ""},
		{"day", "9999-12-31T00:00:00Z", "9999-12-31T23:59:59-00:01"},
		{"hour", "2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z"},
		{"hour", "2026-11-25T10:00:00+24:00", ""}, {"hour", "2026-11-25t10:00:00z", ""}, {"hour", "", "2026-11-25 10:00:00Z"},
		{"hour", "0000-01-01T00:00:00Z", "0000-01-01T01:00:00Z"}, {"hour", "", "2026-02-30T00:00:00Z"},
	} {
		f.Add(s[0], s[1], s[2], now)
	}
	f.Fuzz(func(t *testing.T, gran, from, to string, nowUnix int64) {
		at := time.Unix(nowUnix%(1<<36), 0).UTC() // between 1970 and about 4147
		if at.Before(firstUsageTime) {
			at = at.Add(firstUsageTime.Sub(at))
		}
		params := map[string]string{"granularity": gran, "from": from, "to": to}
		q, err := parseUsageQuery(params, at)

		var step, maxSpan time.Duration
		defaults := 0
		switch gran {
		case "", "hour":
			step, maxSpan, defaults = time.Hour, 31*24*time.Hour, 24
		case "day":
			step, maxSpan, defaults = 24*time.Hour, 400*24*time.Hour, 30
		default:
			if code(err) != "invalid_granularity" {
				t.Fatalf("granularity %q: got %v, want 400 invalid_granularity", gran, err)
			}
			return
		}
		fromAt, fromOK := givenTime(from)
		toAt, toOK := givenTime(to)
		if err != nil {
			if code(err) != "invalid_range" {
				t.Fatalf("%v: got %v, want 400 invalid_range or a range", params, err)
			}
			if fromOK && toOK {
				// Only a range that breaks a rule is refused.
				lo, hi := fromAt.Truncate(step), at.Truncate(step).Add(step)
				if to != "" {
					if hi = toAt.Truncate(step); hi.Before(toAt) {
						hi = hi.Add(step)
					}
				}
				if from == "" {
					lo = hi.Add(-time.Duration(defaults) * step)
				}
				if lo.Before(hi) && hi.Sub(lo) <= maxSpan && !lo.Before(firstUsageTime) && !hi.After(lastUsageTime) {
					t.Fatalf("%v: refused a range of %v to %v", params, lo, hi)
				}
			}
			return
		}
		if !fromOK || !toOK {
			t.Fatalf("%v: took a malformed time", params)
		}
		if q.gran.step != step || q.from.Location() != time.UTC || q.to.Location() != time.UTC ||
			!q.from.Truncate(step).Equal(q.from) || !q.to.Truncate(step).Equal(q.to) {
			t.Fatalf("%v: got %v to %v by %v, want UTC %v boundaries", params, q.from, q.to, q.gran.step, step)
		}
		if !q.from.Before(q.to) || q.to.Sub(q.from) > maxSpan || q.from.Before(firstUsageTime) || q.to.After(lastUsageTime) {
			t.Fatalf("%v: took a range of %v to %v", params, q.from, q.to)
		}
		if n := q.items(); n < 1 || n > 744 {
			t.Fatalf("%v: %d items", params, n)
		}
		end := at.Truncate(step).Add(step) // the end of the current hour or day
		if to != "" {
			end = toAt
		}
		if q.to.Add(-step).After(end) || q.to.Before(end) && to != "" || to == "" && !q.to.Equal(end) {
			t.Fatalf("%v at %v: the range ends %v, want the end of the step holding %v", params, at, q.to, end)
		}
		if from == "" && q.items() != defaults {
			t.Fatalf("%v: %d items by default, want %d", params, q.items(), defaults)
		}
		if from != "" && (fromAt.Before(q.from) || !fromAt.Before(q.from.Add(step))) {
			t.Fatalf("%v: the range starts %v, want the step holding %v", params, q.from, fromAt)
		}
	})
}

// givenTime reads a query's time as the contract does: none (ok) when empty, else an RFC 3339
// time of the document's shape.
func givenTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	if !rfc3339Rule.MatchString(s) {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	return at, err == nil
}

// code is a refusal's problem code, "" for no refusal.
func code(err error) string {
	if e, ok := err.(*httpapi.Error); ok && e.Status == 400 {
		return e.Code
	}
	if err != nil {
		return "not a 400: " + err.Error()
	}
	return ""
}

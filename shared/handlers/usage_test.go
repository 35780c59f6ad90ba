package handlers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

// seedUsage adds counts to a token's usage, as the metered routes and the key authorizer do.
func seedUsage(t *testing.T, a *api, env, tokenID string, at time.Time, c tokenstore.UsageCounts) {
	t.Helper()
	if err := a.deps.Store.AddUsage(context.Background(), env, tokenID, at, c); err != nil {
		t.Fatal(err)
	}
}

// usageItems is the items of a usage answer, by start.
func usageItems(t *testing.T, r reply) (starts []string, byStart map[string]map[string]any) {
	t.Helper()
	items, ok := r.body["items"].([]any)
	if !ok {
		t.Fatalf("no items: %s", r.shown())
	}
	byStart = map[string]map[string]any{}
	for _, it := range items {
		m := it.(map[string]any)
		starts = append(starts, m["start"].(string))
		byStart[m["start"].(string)] = m
	}
	return starts, byStart
}

// counts is an item's counts as allowed/rateLimited/quotaExhausted/refused.
func counts(item map[string]any) string {
	return fmt.Sprintf("%v/%v/%v/%v", item["allowed"], item["rateLimited"], item["quotaExhausted"], item["refused"])
}

// 200: an item for every hour (day) of the range, zeros included, oldest first, summed by UTC
// day; the defaults are the last 24 hours and the last 30 days; hours outside the range and
// other tokens' calls are not counted; the owner and the environment's admins may read it.
func TestUsage200(t *testing.T) {
	a := newAPI(t, 50)
	now := a.clock() // 2026-11-25T18:00:00Z
	id := a.create(ann, `{"name":"metered"}`).str("id")
	other := a.create(ann, `{"name":"other"}`).str("id")
	seedUsage(t, a, "env-1", id, now.Add(20*time.Minute), tokenstore.UsageCounts{Allowed: 5, RateLimited: 2})
	seedUsage(t, a, "env-1", id, now.Add(-3*time.Hour), tokenstore.UsageCounts{Refused: 1, QuotaExhausted: 4})
	seedUsage(t, a, "env-1", id, now.Add(-24*time.Hour), tokenstore.UsageCounts{Allowed: 100})     // yesterday, before the 24 hours
	seedUsage(t, a, "env-1", id, now.Add(-30*24*time.Hour), tokenstore.UsageCounts{Allowed: 1000}) // before the 30 days
	seedUsage(t, a, "env-1", other, now, tokenstore.UsageCounts{Allowed: 7})

	cases := []struct {
		name, query, granularity string
		items                    int
		first, last              string
		want                     map[string]string // start → counts; every other item is zeros
	}{
		{"the last 24 hours", "", "hour", 24, "2026-11-24T19:00:00Z", "2026-11-25T18:00:00Z",
			map[string]string{"2026-11-25T18:00:00Z": "5/2/0/0", "2026-11-25T15:00:00Z": "0/0/4/1"}},
		{"the last 30 days", "?granularity=day", "day", 30, "2026-10-27T00:00:00Z", "2026-11-25T00:00:00Z",
			map[string]string{"2026-11-25T00:00:00Z": "5/2/4/1", "2026-11-24T00:00:00Z": "100/0/0/0"}},
		{"a range given with an offset, rounded to whole hours", "?granularity=hour&from=2026-11-25T10:30:00-05:00&to=2026-11-25T17:00:01Z", "hour", 3,
			"2026-11-25T15:00:00Z", "2026-11-25T17:00:00Z", map[string]string{"2026-11-25T15:00:00Z": "0/0/4/1"}},
		{"from alone: up to the current hour", "?from=2026-11-24T18:00:00Z", "hour", 25, "2026-11-24T18:00:00Z", "2026-11-25T18:00:00Z",
			map[string]string{"2026-11-24T18:00:00Z": "100/0/0/0", "2026-11-25T18:00:00Z": "5/2/0/0", "2026-11-25T15:00:00Z": "0/0/4/1"}},
		{"31 days by hour, the longest", "?from=2026-10-25T19:00:00Z", "hour", 744, "2026-10-25T19:00:00Z", "2026-11-25T18:00:00Z",
			map[string]string{"2026-10-26T18:00:00Z": "1000/0/0/0", "2026-11-24T18:00:00Z": "100/0/0/0", "2026-11-25T18:00:00Z": "5/2/0/0", "2026-11-25T15:00:00Z": "0/0/4/1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range []who{ann, adam} {
				r := a.do(w, "GET", "/v1/tokens/"+id+"/usage"+c.query, "")
				if r.status != 200 {
					t.Fatalf("%s: got %d %s, want 200", w.user, r.status, r.shown())
				}
				if r.body["granularity"] != c.granularity || r.body["quota"] != nil {
					t.Errorf("%s: granularity %v, quota %v; want %s and null (no quota)", w.user, r.body["granularity"], r.body["quota"], c.granularity)
				}
				starts, byStart := usageItems(t, r)
				if len(starts) != c.items || starts[0] != c.first || starts[len(starts)-1] != c.last {
					t.Fatalf("%s: got %d items from %s to %s, want %d from %s to %s", w.user, len(starts), starts[0], starts[len(starts)-1], c.items, c.first, c.last)
				}
				for i := 1; i < len(starts); i++ {
					if starts[i] <= starts[i-1] {
						t.Fatalf("%s: items out of order: %s after %s", w.user, starts[i], starts[i-1])
					}
				}
				for start, item := range byStart {
					want := c.want[start]
					if want == "" {
						want = "0/0/0/0"
					}
					if got := counts(item); got != want {
						t.Errorf("%s: item %s = %s, want %s", w.user, start, got, want)
					}
				}
			}
		})
	}
}

// A token with a monthly quota answers it with what this calendar month (UTC) has used: its
// allowed calls since the 1st, whatever range was asked; last month's and other outcomes are not
// counted.
func TestUsageQuota(t *testing.T) {
	a := newAPI(t, 50)
	now := a.clock() // 2026-11-25T18:00:00Z
	id := a.create(ann, `{"name":"quota","quota":{"requestsPerMonth":500}}`).str("id")
	seedUsage(t, a, "env-1", id, now, tokenstore.UsageCounts{Allowed: 7, RateLimited: 3})
	seedUsage(t, a, "env-1", id, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), tokenstore.UsageCounts{Allowed: 40, QuotaExhausted: 2})
	seedUsage(t, a, "env-1", id, time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), tokenstore.UsageCounts{Allowed: 1000})
	for _, q := range []string{"", "?granularity=day", "?from=2026-11-25T16:00:00Z"} {
		r := a.do(ann, "GET", "/v1/tokens/"+id+"/usage"+q, "")
		if r.status != 200 {
			t.Fatalf("%q: got %d %s, want 200", q, r.status, r.shown())
		}
		quota, _ := r.body["quota"].(map[string]any)
		if quota["requestsPerMonth"] != 500.0 || quota["used"] != 47.0 {
			t.Errorf("%q: quota %v, want requestsPerMonth 500 and used 47 (November's allowed calls)", q, r.body["quota"])
		}
	}
}

// 400: the granularity and the range are checked before anything is read; 404: another user's
// token for an agent, and any token of another environment, answer as a missing one.
func TestUsageRefused(t *testing.T) {
	a := newAPI(t, 50)
	id := a.create(ann, `{"name":"metered"}`).str("id")
	path := "/v1/tokens/" + id + "/usage"
	cases := []struct {
		name   string
		w      who
		target string
		status int
		code   string
	}{
		{"a week", ann, path + "?granularity=week", 400, "invalid_granularity"},
		{"Hour in capitals", ann, path + "?granularity=Hour", 400, "invalid_granularity"},
		{"from garbled", ann, path + "?from=yesterday", 400, "invalid_range"},
		{"to without a zone", ann, path + "?to=2026-11-25T18:00:00", 400, "invalid_range"},
		{"from after to", ann, path + "?from=2026-11-25T10:00:00Z&to=2026-11-25T09:00:00Z", 400, "invalid_range"},
		{"from in to's hour", ann, path + "?from=2026-11-25T10:00:00Z&to=2026-11-25T10:00:00Z", 400, "invalid_range"},
		{"32 days by hour", ann, path + "?from=2026-10-24T18:00:00Z&to=2026-11-25T18:00:00Z", 400, "invalid_range"},
		{"401 days by day", ann, path + "?granularity=day&from=2025-10-20T00:00:00Z&to=2026-11-25T00:00:00Z", 400, "invalid_range"},
		{"before 1970", ann, path + "?granularity=day&from=1969-12-31T00:00:00Z&to=1970-01-02T00:00:00Z", 400, "invalid_range"},
		{"past the year 9999", ann, path + "?granularity=day&from=9999-12-31T00:00:00Z&to=9999-12-31T23:59:59-00:01", 400, "invalid_range"},
		{"a malformed id", ann, "/v1/tokens/abc/usage", 400, "invalid_token_id"},
		{"an unknown id", ann, "/v1/tokens/tok_0000000000000000000000000Z/usage", 404, "token_not_found"},
		{"another agent's token", carl, path, 404, "token_not_found"},
		{"another environment's admin", eve, path, 404, "token_not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.calls.Reset()
			r := a.do(c.w, "GET", c.target, "")
			if r.status != c.status || r.str("code") != c.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.str("code"), c.status, c.code)
			}
			if c.status == 400 && a.calls.String() != "" {
				t.Errorf("a refused query read %s, want nothing", a.calls.String())
			}
		})
	}
	// Empty parameters are the defaults, and the longest ranges are taken.
	for _, q := range []string{"?granularity=&from=&to=", "?from=2026-10-25T19:00:00Z", "?granularity=day&from=2025-10-21T00:00:00Z&to=2026-11-25T00:00:00Z", "?granularity=day&from=9999-12-01T00:00:00Z&to=9999-12-31T23:59:59Z"} {
		if r := a.do(ann, "GET", path+q, ""); r.status != 200 {
			t.Errorf("%s: got %d %s, want 200", q, r.status, r.shown())
		}
	}
}

// The list shows each token's calls of the current hour and the 23 before it, every outcome
// counted, from one Query of the environment's usage; a token without calls shows 0.
func TestListCallsLast24h(t *testing.T) {
	a := newAPI(t, 50)
	now := a.clock()
	busy := a.create(ann, `{"name":"busy"}`).str("id")
	quiet := a.create(ann, `{"name":"quiet"}`).str("id")
	theirs := a.create(carl, `{"name":"carl's"}`).str("id")
	seedUsage(t, a, "env-1", busy, now.Add(30*time.Minute), tokenstore.UsageCounts{Allowed: 3, RateLimited: 1})
	seedUsage(t, a, "env-1", busy, now.Add(-23*time.Hour), tokenstore.UsageCounts{Refused: 2, QuotaExhausted: 1})
	seedUsage(t, a, "env-1", busy, now.Add(-24*time.Hour), tokenstore.UsageCounts{Allowed: 100})
	seedUsage(t, a, "env-1", theirs, now, tokenstore.UsageCounts{Allowed: 9})
	seedUsage(t, a, "env-2", busy, now, tokenstore.UsageCounts{Allowed: 1000}) // the same id in another environment

	calls := func(w who, target string) map[string]any {
		t.Helper()
		r := a.do(w, "GET", target, "")
		if r.status != 200 {
			t.Fatalf("%s: got %d %s", target, r.status, r.shown())
		}
		got := map[string]any{}
		for _, it := range r.body["items"].([]any) {
			m := it.(map[string]any)
			got[m["id"].(string)] = m["callsLast24h"]
		}
		return got
	}
	if got := calls(ann, "/v1/tokens"); got[busy] != 7.0 || got[quiet] != 0.0 || len(got) != 2 {
		t.Errorf("ann's list: callsLast24h %v, want busy 7 and quiet 0", got)
	}
	if got := calls(adam, "/v1/tokens?owner=all"); got[busy] != 7.0 || got[quiet] != 0.0 || got[theirs] != 9.0 {
		t.Errorf("the environment's list: callsLast24h %v, want busy 7, quiet 0, carl's 9", got)
	}
	// An hour later, the oldest of those hours has left the 24.
	a.advance(time.Hour)
	if got := calls(ann, "/v1/tokens"); got[busy] != 4.0 {
		t.Errorf("an hour later: busy %v, want 4", got[busy])
	}
	// A token alone in its view has no such field.
	if g := a.do(ann, "GET", "/v1/tokens/"+busy, ""); g.body["callsLast24h"] != nil {
		t.Errorf("GET of a token answers callsLast24h %v, want none", g.body["callsLast24h"])
	}
}

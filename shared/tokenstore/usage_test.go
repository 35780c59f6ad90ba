package tokenstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

// Usage added by many writers at once sums in the hour's item, which expires 400 days after its
// hour; another hour is another item, and nothing is written for no calls.
func TestAddUsage(t *testing.T) {
	s, env, _ := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 10, 42, 5, 0, time.UTC)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.AddUsage(ctx, "env1", "tok_a", at, tokenstore.UsageCounts{Allowed: 3, RateLimited: 1}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.AddUsage(ctx, "env1", "tok_a", at.Add(10*time.Minute), tokenstore.UsageCounts{QuotaExhausted: 2, Refused: 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, "env1", "tok_a", at.Add(time.Hour), tokenstore.UsageCounts{Allowed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, "env1", "tok_b", at, tokenstore.UsageCounts{}); err != nil {
		t.Fatal(err)
	}

	got := map[string]map[string]any{}
	for _, it := range scanAll(t, env) {
		if it["kind"] == "usage" {
			got[it["sk"].(string)] = it
		}
	}
	if len(got) != 2 {
		t.Fatalf("got %d usage items, want 2 (one per hour, none for no calls): %v", len(got), got)
	}
	first := got["HOUR#2026-12-07T10"]
	if first == nil {
		t.Fatalf("no item for 10:00: %v", got)
	}
	want := map[string]any{
		"pk": "USAGE#env1#tok_a", "gsi1pk": "USAGE#env1", "gsi1sk": "HOUR#2026-12-07T10#tok_a",
		"allowed": 24.0, "rateLimited": 8.0, "quotaExhausted": 2.0, "refused": 5.0,
		"ttl": float64(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC).Add(tokenstore.UsageRetention).Unix()),
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("10:00 item %s = %v (%T), want %v", k, first[k], first[k], v)
		}
	}
	if second := got["HOUR#2026-12-07T11"]; second == nil || second["allowed"] != 1.0 || second["refused"] != nil {
		t.Errorf("11:00 item = %v, want allowed 1 and no other count", second)
	}
}

// A token's usage reads back hour by hour between two hours, both included, oldest first; other
// tokens' hours, another environment's and hours outside the range are not read.
func TestUsageBetweenHours(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	seed := []struct {
		env, token string
		hour       int
		c          tokenstore.UsageCounts
	}{
		{"env1", "tok_a", -1, tokenstore.UsageCounts{Allowed: 100}}, // before the range
		{"env1", "tok_a", 0, tokenstore.UsageCounts{Allowed: 5, RateLimited: 2}},
		{"env1", "tok_a", 3, tokenstore.UsageCounts{QuotaExhausted: 1, Refused: 4}},
		{"env1", "tok_a", 5, tokenstore.UsageCounts{Allowed: 7}},
		{"env1", "tok_a", 6, tokenstore.UsageCounts{Allowed: 100}}, // after it
		{"env1", "tok_b", 3, tokenstore.UsageCounts{Allowed: 100}},
		{"env2", "tok_a", 3, tokenstore.UsageCounts{Allowed: 100}},
	}
	for _, u := range seed {
		if err := s.AddUsage(ctx, u.env, u.token, at.Add(time.Duration(u.hour)*time.Hour+17*time.Minute), u.c); err != nil {
			t.Fatal(err)
		}
	}
	// From within the first hour to within the last: both hours are read whole.
	got, err := s.Usage(ctx, "env1", "tok_a", at.Add(30*time.Minute), at.Add(5*time.Hour+59*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []tokenstore.UsageHour{
		{Hour: at, UsageCounts: tokenstore.UsageCounts{Allowed: 5, RateLimited: 2}},
		{Hour: at.Add(3 * time.Hour), UsageCounts: tokenstore.UsageCounts{QuotaExhausted: 1, Refused: 4}},
		{Hour: at.Add(5 * time.Hour), UsageCounts: tokenstore.UsageCounts{Allowed: 7}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d hours %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		if !got[i].Hour.Equal(want[i].Hour) || got[i].UsageCounts != want[i].UsageCounts {
			t.Errorf("hour %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// A time in another zone names the same UTC hours.
	ny := time.FixedZone("-05:00", -5*3600)
	if got, err := s.Usage(ctx, "env1", "tok_a", at.In(ny), at.In(ny)); err != nil || len(got) != 1 || got[0].Allowed != 5 {
		t.Errorf("the 10:00 UTC hour given at 05:00-05:00: got %+v, %v, want its item", got, err)
	}
	if got, err := s.Usage(ctx, "env1", "tok_none", at, at.Add(6*time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("a token without calls: got %+v, %v, want no hours", got, err)
	}
}

// An environment's usage sums each token's hours of a range, the range's last hour included,
// through the index; another environment's and hours outside the range are not counted.
func TestEnvironmentUsage(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 42, 0, 0, time.UTC)
	seed := []struct {
		env, token string
		ago        time.Duration
		c          tokenstore.UsageCounts
	}{
		{"env1", "tok_a", 0, tokenstore.UsageCounts{Allowed: 3, Refused: 1}}, // the current hour
		{"env1", "tok_a", 5 * time.Hour, tokenstore.UsageCounts{Allowed: 10, RateLimited: 2}},
		{"env1", "tok_a", 23 * time.Hour, tokenstore.UsageCounts{QuotaExhausted: 4}}, // the first hour of 24
		{"env1", "tok_a", 24 * time.Hour, tokenstore.UsageCounts{Allowed: 1000}},     // before them
		{"env1", "tok_b", time.Hour, tokenstore.UsageCounts{Allowed: 6}},
		{"env1", "tok_c", 30 * time.Hour, tokenstore.UsageCounts{Allowed: 1000}},
		{"env2", "tok_a", 0, tokenstore.UsageCounts{Allowed: 1000}},
		{"env10", "tok_a", 0, tokenstore.UsageCounts{Allowed: 1000}}, // an environment whose id starts with env1's
	}
	for _, u := range seed {
		if err := s.AddUsage(ctx, u.env, u.token, now.Add(-u.ago), u.c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.EnvironmentUsage(ctx, "env1", now.Add(-23*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]tokenstore.UsageCounts{
		"tok_a": {Allowed: 13, RateLimited: 2, QuotaExhausted: 4, Refused: 1},
		"tok_b": {Allowed: 6},
	}
	if len(got) != len(want) || got["tok_a"] != want["tok_a"] || got["tok_b"] != want["tok_b"] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got["tok_a"].Total() != 20 {
		t.Errorf("tok_a's total = %d, want 20", got["tok_a"].Total())
	}
}

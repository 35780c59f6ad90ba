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

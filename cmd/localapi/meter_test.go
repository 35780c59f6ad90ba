package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

// inFlight is how many calls of a burst are in flight at once, and how many execution
// environments each function may scale out to: past it the local run, like Lambda at its
// concurrency limit, throttles.
const inFlight = 16

// TestMeteringLocal drives a metered key through the local run, scaled out to several
// instances of each function: a key limited to 30 per 60 s and to 40 per month, called 50 times
// at once, gets 30 × 200 and 20 × 429 rate_limited with Retry-After; once the window ends it
// works again, until the quota: of 50 more calls 10 get through and 40 are quota_exhausted, so
// the quota is never exceeded. The instances then go idle and are shut down (SIGTERM, as Lambda
// does for a function with an extension): the usage route then answers every call they counted,
// none lost, and the quota used is the 40 let through.
func TestMeteringLocal(t *testing.T) {
	srv, out := startServerWith(t, Config{Concurrency: inFlight, IdleTimeout: 3 * time.Second,
		Parameters: map[string]string{"PolicyCacheTtl": "1", "AuthorizerMemoryTtl": "1", "AuthorizerResultTtl": "1"}})
	defer func() {
		if t.Failed() {
			t.Logf("output:\n%s", out)
		}
	}()
	session, err := srv.Mint("ann", "env-meter", false)
	if err != nil {
		t.Fatal(err)
	}
	id, key := createToken(t, srv.URL, "Bearer "+session, `{"name":"metered","rateLimit":{"requests":30,"windowSeconds":60},"quota":{"requestsPerMonth":40}}`)
	// The burst must fall in one window: windows start at whole minutes.
	if s := time.Now().Second(); s > 40 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	burst := func() map[string]int {
		var mu sync.Mutex
		got := map[string]int{}
		var wg sync.WaitGroup
		slots := make(chan struct{}, inFlight)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slots <- struct{}{}
				defer func() { <-slots }()
				r := call(t, "GET", srv.URL+"/v1/me", "Bearer "+key, "")
				outcome := strconv.Itoa(r.status)
				if r.status == 429 {
					outcome += " " + codeOf(r.body)
					most := 60
					if codeOf(r.body) == "quota_exhausted" {
						most = 31 * 24 * 3600
					}
					if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > most {
						outcome += " without Retry-After"
					}
				}
				if r.header.Get("RateLimit-Policy") != `"rate";q=30;w=60, "quota";q=40;w=`+monthSeconds() || r.header.Get("RateLimit") == "" {
					outcome += " without the RateLimit fields"
				}
				mu.Lock()
				got[outcome]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		return got
	}
	first := burst()
	if first["200"] != 30 || first["429 rate_limited"] != 20 {
		t.Errorf("50 calls at once: %v, want 30 × 200 and 20 × 429 rate_limited with Retry-After", first)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Minute).Add(time.Minute + time.Second)))
	second := burst()
	if second["200"] != 10 || second["429 quota_exhausted"] != 40 {
		t.Errorf("50 calls in the next window: %v, want 10 × 200 (the rest of the quota) and 40 × 429 quota_exhausted", second)
	}

	// Idle for longer than the idle timeout: every instance is shut down and writes its counts.
	deadline := time.Now().Add(30 * time.Second)
	want := tokenstore.UsageCounts{Allowed: 40, RateLimited: 20, QuotaExhausted: 40}
	var got tokenstore.UsageCounts
	var used int64
	for time.Now().Before(deadline) {
		if got, used = usageOf(t, srv, session, id); got == want && used == 40 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got != want || used != 40 {
		t.Errorf("usage route after the instances went idle: %+v, quota used %d; want %+v and 40", got, used, want)
	}
	if !strings.Contains(out.String(), "SIGTERM, the runtime exited") {
		t.Errorf("no instance was shut down with SIGTERM")
	}
}

// monthSeconds is the length of this month (UTC) in seconds.
func monthSeconds() string {
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return strconv.Itoa(int(start.AddDate(0, 1, 0).Sub(start).Seconds()))
}

func codeOf(body string) string {
	_, rest, _ := strings.Cut(body, `"code":"`)
	code, _, _ := strings.Cut(rest, `"`)
	return code
}

// usageOf is a token's calls of the last 30 days and its quota's use, as the usage route answers
// them to its owner.
func usageOf(t *testing.T, srv *Server, session, tokenID string) (tokenstore.UsageCounts, int64) {
	t.Helper()
	r := call(t, "GET", srv.URL+"/v1/tokens/"+tokenID+"/usage?granularity=day", "Bearer "+session, "")
	var body struct {
		Items []struct{ Allowed, RateLimited, QuotaExhausted, Refused int64 }
		Quota *struct{ Used int64 }
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &body) != nil || body.Quota == nil {
		t.Fatalf("usage: %d %s, want 200 with the token's quota", r.status, r.body)
	}
	var sum tokenstore.UsageCounts
	for _, it := range body.Items {
		sum.Add(tokenstore.UsageCounts{Allowed: it.Allowed, RateLimited: it.RateLimited, QuotaExhausted: it.QuotaExhausted, Refused: it.Refused})
	}
	return sum, body.Quota.Used
}

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The load run is an open model: requests leave at a fixed rate whatever the answers take, for
// a few seconds per integration route, against the local API with every function under its
// Runtime Interface Emulator. Each execution environment serves one invocation at a time, as in
// Lambda; overlapping calls scale a function out to more of them, here up to 16, and a burst
// beyond is throttled. Every delivery is a write to the AWS emulator. The rates are what the
// local run sustains on a 2-core machine with room to spare, also while other test packages run
// beside it: /v1/me answers with a p99 of a few milliseconds up to about 300/s and
// starts to queue towards 1,000/s; a delivery's p99 is about 0.1 s at 20/s and its latency grows
// past about 25/s on a quiet machine. The test fails on any answer but the route's success or a
// throttle at the maximum, or none within API Gateway's 30 s integration timeout; the figures
// are logged, not asserted, since they depend on the machine.
const (
	loadDuration = 5 * time.Second
	meRate       = 200 // GET /v1/me per second
	hooksRate    = 10  // POST /v1/hooks/{source} per second
	loadTimeout  = 30 * time.Second
)

// TestLoadIntegrationRoutes runs that load with one User key against GET /v1/me and then POST
// /v1/hooks/{source}, each delivery with its own Idempotency-Key, after one call to each route
// so that no cold start is counted.
func TestLoadIntegrationRoutes(t *testing.T) {
	// Room for the open model's bursts on a loaded machine: a call over the maximum would be
	// throttled, not queued.
	srv, out := startServerWith(t, Config{Concurrency: callers})
	agent, err := srv.Mint("u-load", "env-load", false)
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "POST", srv.URL+"/v1/tokens", "Bearer "+agent, `{"name":"Load"}`)
	if r.status != 201 {
		t.Fatalf("create: got %d %s, want 201", r.status, r.shown())
	}
	var created struct{ ID, Key string }
	if err := json.Unmarshal([]byte(r.body), &created); err != nil || created.Key == "" {
		t.Fatalf("create: got no key in the answer (%v)", err) // the body would show the key
	}
	auth := http.Header{"Authorization": {"Bearer " + created.Key}}

	t.Run("GET /v1/me", func(t *testing.T) {
		if r := do(t, "GET", srv.URL+"/v1/me", "Bearer "+created.Key, ""); r.status != 200 {
			t.Fatalf("me: got %d %s, want 200", r.status, r.shown())
		}
		target := vegeta.Target{Method: "GET", URL: srv.URL + "/v1/me", Header: auth}
		results := attack(t, out, func(tgt *vegeta.Target) error { *tgt = target; return nil }, meRate)
		for _, res := range results {
			var me struct{ TokenID string }
			if res.Code != 200 || json.Unmarshal(res.Body, &me) != nil || me.TokenID != created.ID {
				t.Fatalf("request %d: got %d %s %q, want 200 with tokenId %s", res.Seq, res.Code, res.Error, res.Body, created.ID)
			}
		}
	})

	t.Run("POST /v1/hooks/{source}", func(t *testing.T) {
		if r := do(t, "POST", srv.URL+"/v1/hooks/zapier", "Bearer "+created.Key, `{"event":"warm-up"}`); r.status != 202 {
			t.Fatalf("hook: got %d %s, want 202", r.status, r.shown())
		}
		// A fresh Idempotency-Key per delivery, as a Zap step sends: each one stores a delivery.
		var seq atomic.Int64
		results := attack(t, out, func(tgt *vegeta.Target) error {
			n := seq.Add(1)
			h := auth.Clone()
			h.Set("Content-Type", "application/json")
			h.Set("Idempotency-Key", "load-"+strconv.FormatInt(n, 10))
			*tgt = vegeta.Target{Method: "POST", URL: srv.URL + "/v1/hooks/zapier", Header: h,
				Body: fmt.Appendf(nil, `{"event":"listing.updated","listingId":"L-%d"}`, n)}
			return nil
		}, hooksRate)
		ids := map[string]bool{}
		for _, res := range results {
			var got struct{ ID string }
			if res.Code != 202 || json.Unmarshal(res.Body, &got) != nil || got.ID == "" {
				t.Fatalf("request %d: got %d %s %q, want 202 with an id", res.Seq, res.Code, res.Error, res.Body)
			}
			ids[got.ID] = true
		}
		if len(ids) != len(results) {
			t.Errorf("got %d distinct delivery ids for %d deliveries, want one each", len(ids), len(results))
		}
	})
	t.Run("16 callers", func(t *testing.T) { testCallersScaleOut(t, srv, created.Key) })
	t.Run("deactivate across authorizer environments", func(t *testing.T) { testDeactivateAcrossAuthorizerEnvironments(t, srv, agent) })
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// callers call at once in testCallersScaleOut, each callsEach times one after the other.
const (
	callers   = 16
	callsEach = 25
)

// testCallersScaleOut runs the same closed load twice on GET /v1/me, first with one execution
// environment per function, then with up to the default maximum, and logs the two side by side. A
// throttled call (the gateway's 500) is sent again 10 ms later, as a client of a throttled API
// does; any other answer fails. Only the scale-out is asserted: how much faster it is depends
// on the machine.
func testCallersScaleOut(t *testing.T, srv *Server, key string) {
	type result struct {
		took             time.Duration
		throttled        int
		meEnvs, meStarts int
	}
	run := func(limit int) result {
		srv.functions.setConcurrency(limit)
		var throttled atomic.Int64
		load := func(n int) {
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					for done, tries := 0, 0; done < n; tries++ {
						if tries > 100*n {
							t.Errorf("%d tries for %d calls", tries, n)
							return
						}
						r := do(t, "GET", srv.URL+"/v1/me", "Bearer "+key, "")
						switch {
						case r.status == 200:
							done++
						case r.status == 500 && r.body == internalBody:
							throttled.Add(1)
							time.Sleep(10 * time.Millisecond)
						default:
							t.Errorf("me: %d %s, want 200", r.status, r.shown())
							return
						}
					}
				})
			}
			wg.Wait()
		}
		load(1) // the cold starts, not counted
		throttled.Store(0)
		start := time.Now()
		load(callsEach)
		took := time.Since(start)
		me := environments(t, srv.URL)["MeFunction"]
		return result{took, int(throttled.Load()), me.Environments, me.ColdStarts}
	}
	one := run(1)
	many := run(DefaultConcurrency)
	srv.functions.setConcurrency(srv.concurrency)
	for _, r := range []struct {
		name string
		result
	}{{"one environment", one}, {fmt.Sprintf("up to %d", DefaultConcurrency), many}} {
		t.Logf("%d callers × %d calls of GET /v1/me, %-15s: %6s (%.0f calls/s), %d throttled and sent again, MeFunction ran %d environments (%d cold starts so far)",
			callers, callsEach, r.name, r.took.Round(time.Millisecond), float64(callers*callsEach)/r.took.Seconds(), r.throttled, r.meEnvs, r.meStarts)
	}
	if one.meEnvs != 1 || many.meEnvs < 2 {
		t.Errorf("MeFunction ran %d environments with a maximum of 1 and %d with %d; want 1, then more", one.meEnvs, many.meEnvs, DefaultConcurrency)
	}
}

// attack sends requests from targeter at rate per second for loadDuration, logs the figures,
// and returns every result but the throttled ones. A burst that finds every execution
// environment of a function busy at its maximum is throttled, as in Lambda: those answers (the
// gateway's 500) are counted and logged, and the log must show each one at the maximum; any
// other error fails.
func attack(t *testing.T, out *buffer, targeter vegeta.Targeter, rate int) []vegeta.Result {
	t.Helper()
	attacker := vegeta.NewAttacker(vegeta.Timeout(loadTimeout), vegeta.KeepAlive(true))
	var m vegeta.Metrics
	var results []vegeta.Result
	throttled := 0
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, loadDuration, t.Name()) {
		m.Add(res)
		switch {
		case res.Code == 500 && string(res.Body) == internalBody:
			throttled++
		case res.Error != "":
			t.Fatalf("request %d: %d %s, want none", res.Seq, res.Code, res.Error)
		default:
			results = append(results, *res)
		}
	}
	m.Close()
	t.Logf("%d requests at %.1f/s (asked %d/s), throughput %.1f/s, success %.1f%%, %d throttled: p50 %v, p95 %v, p99 %v, max %v",
		m.Requests, m.Rate, rate, m.Throughput, m.Success*100, throttled,
		m.Latencies.P50.Round(10*time.Microsecond), m.Latencies.P95.Round(10*time.Microsecond),
		m.Latencies.P99.Round(10*time.Microsecond), m.Latencies.Max.Round(10*time.Microsecond))
	if throttled > 0 {
		lines := throttleLine.FindAllStringSubmatch(out.String(), -1)
		if len(lines) < throttled {
			t.Fatalf("%d answers 500 but the log shows %d throttled calls", throttled, len(lines))
		}
		for _, l := range lines {
			if l[1] != l[2] {
				t.Fatalf("a call was throttled below the maximum: %s", l[0])
			}
		}
	}
	if len(results) == 0 {
		t.Fatalf("none of %d requests served", m.Requests)
	}
	return results
}

// throttleLine is the gateway's log of a throttled call: how many environments were busy, and
// the maximum.
var throttleLine = regexp.MustCompile(`TooManyRequestsException: Rate Exceeded\. \(Reason: \w+; (\d+) of at most (\d+) environments busy\)`)

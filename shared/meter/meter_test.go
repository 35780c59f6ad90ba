package meter_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/meter"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/testkit/emulatortest"
	"github.com/apitokens/apitokens/testkit/metersim"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.Main(m)) }

// clock is a time the test moves.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock     { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)      { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time       { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) add(d time.Duration)  { c.ns.Add(int64(d)) }
func rate(n, s int) *policy.RateLimit { return &policy.RateLimit{Requests: n, WindowSeconds: s} }
func quota(n int) *policy.Quota       { return &policy.Quota{RequestsPerMonth: n} }
func limits(r *policy.RateLimit, q *policy.Quota, id string) meter.Limits {
	return meter.Limits{TokenID: id, EnvironmentID: "env1", RateLimit: r, Quota: q}
}

// t0 is 10 s into a minute, and into an hour.
var t0 = time.Date(2026, 11, 18, 9, 0, 10, 0, time.UTC)

// TestManyInstances: 8 callers through 4 independent instances (each its own memory and
// DynamoDB client) against one key hold the targets: admitted in a window ≤ 1.02 × limit + 1,
// no 429 below 90% of the limit, a quota never exceeded, below half a large limit at most one
// write per 10 calls, and never more than one write per call.
func TestManyInstances(t *testing.T) {
	env := emulatortest.New(t)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		limits meter.Limits
		calls  int
	}{
		{"6000 per minute", limits(rate(6000, 60), nil, "tok_big"), 7000},
		{"30 per minute", limits(rate(30, 60), nil, "tok_small"), 50},
		{"quota of 40", limits(nil, quota(40), "tok_quota"), 60},
		{"rate and quota", limits(rate(1000, 60), quota(500), "tok_both"), 900},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock(t0)
			s := metersim.Scenario{Limits: c.limits, Instances: 4, Callers: 8, Calls: c.calls, Now: clk.now}
			r, err := metersim.Run(ctx, s, metersim.Instances(env.Config, env.TableName, 4, clk.now))
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			limit := c.calls
			if l := c.limits.RateLimit; l != nil {
				limit = l.Requests
			}
			if q := c.limits.Quota; q != nil {
				limit = min(limit, q.RequestsPerMonth)
			}
			if r.Admitted > limit*102/100+1 || r.Admitted > limit {
				t.Errorf("admitted %d, want at most %d", r.Admitted, limit)
			}
			// Admissions are counted as their answers return: up to Callers-1 may be in flight
			// when another caller is refused.
			if r.AdmittedAtFirstRefusal+s.Callers-1 < limit*9/10 {
				t.Errorf("the first 429 came at %d admitted, want at least 90%% of %d", r.AdmittedAtFirstRefusal, limit)
			}
			if r.Admitted+r.RateLimited+r.QuotaExhausted != r.Calls {
				t.Errorf("outcomes %+v do not add up to the calls", r)
			}
			if r.Writes > r.Calls {
				t.Errorf("%d writes for %d calls, want at most one per call", r.Writes, r.Calls)
			}
			if limit >= 6000 && r.WritesBelowHalf*10 > r.CallsBelowHalf {
				t.Errorf("below half the limit: %d writes for %d calls, want at most 1 per 10", r.WritesBelowHalf, r.CallsBelowHalf)
			}
		})
	}
}

// TestWindowsAndMonths: a window that ends lets the key through again, windows are aligned to
// multiples of their length, and a quota holds across windows.
func TestWindowsAndMonths(t *testing.T) {
	env := emulatortest.New(t)
	ctx := context.Background()
	clk := newClock(t0)
	ins := metersim.Instances(env.Config, env.TableName, 4, clk.now)
	l := limits(rate(30, 60), quota(40), "tok_windows")
	run := func(calls int) metersim.Result {
		r, err := metersim.Run(ctx, metersim.Scenario{Limits: l, Instances: 4, Callers: 8, Calls: calls, Now: clk.now}, ins)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := run(50); r.Admitted != 30 || r.RateLimited != 20 {
		t.Errorf("first window: %v, want 30 admitted, 20 rate limited", r)
	}
	clk.add(50 * time.Second) // the next minute
	if r := run(50); r.Admitted != 10 || r.QuotaExhausted != 40 {
		t.Errorf("second window: %v, want the 10 left of the quota, 40 quota exhausted", r)
	}
	clk.set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) // a new month
	if r := run(50); r.Admitted != 30 {
		t.Errorf("a new month: %v, want 30 admitted", r)
	}
}

// TestWrap: the fields on every answer to a metered key, the 429 problem with Retry-After, and
// nothing at all (no field, no write) for a key without limits.
func TestWrap(t *testing.T) {
	env := emulatortest.New(t)
	clk := newClock(t0)
	calls := &emulatortest.Calls{}
	cfg := env.Config.Copy()
	calls.Option()(&cfg)
	ins := metersim.Instances(cfg, env.TableName, 1, clk.now)
	m := ins[0].Meter
	served := 0
	h := m.Wrap(func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		served++
		return httpapi.JSON(200, map[string]string{"ok": "yes"}), nil
	})
	call := func(rateLimit, q string) httpapi.Response {
		req := events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/me"}
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{
			"tokenId": "tok_wrap", "environmentId": "env1", "rateLimit": rateLimit, "quota": q,
		}}
		resp, err := h(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for i := 1; i <= 3; i++ {
		r := call(`{"requests":2,"windowSeconds":60}`, `{"requestsPerMonth":100}`)
		if got := r.Headers["ratelimit-policy"]; got != `"rate";q=2;w=60, "quota";q=100;w=2592000` {
			t.Errorf("call %d: RateLimit-Policy %q", i, got)
		}
		if i <= 2 {
			if want := `"rate";r=` + string(rune('0'+2-i)) + `;t=50, "quota";r=`; r.StatusCode != 200 || !strings.HasPrefix(r.Headers["ratelimit"], want) || r.Headers["retry-after"] != "" {
				t.Errorf("call %d: %d %v, want 200 with RateLimit %s…", i, r.StatusCode, r.Headers, want)
			}
			continue
		}
		var p map[string]any
		_ = json.Unmarshal([]byte(r.Body), &p)
		if r.StatusCode != 429 || p["code"] != "rate_limited" || r.Headers["retry-after"] != "50" ||
			r.Headers["content-type"] != "application/problem+json" || !strings.HasPrefix(r.Headers["ratelimit"], `"rate";r=0;t=50`) {
			t.Errorf("call 3: %d %v %s, want 429 rate_limited, Retry-After 50", r.StatusCode, r.Headers, r.Body)
		}
	}
	if served != 2 {
		t.Errorf("the route ran %d times, want 2: never for a refused call", served)
	}
	calls.Reset()
	for range 5 {
		if r := call("null", "null"); r.StatusCode != 200 || r.Headers["ratelimit"] != "" || r.Headers["ratelimit-policy"] != "" {
			t.Errorf("a key without limits: %d %v, want 200 without the fields", r.StatusCode, r.Headers)
		}
	}
	if calls.Total() != 0 {
		t.Errorf("a key without limits made %s, want no call", calls)
	}
	if r := call(`{"requests":"many"}`, "null"); r.StatusCode != 500 {
		t.Errorf("limits that do not read: %d, want 500 (never taken for none)", r.StatusCode)
	}
	// Usage: counted per token and hour, written once the oldest count is a minute old.
	clk.add(meter.FlushAge)
	calls.Reset()
	call("null", "null")
	if n := calls.Count("DynamoDB.UpdateItem"); n != 1 {
		t.Errorf("the call a minute after the first count: %d writes (%s), want 1, the token's hour", n, calls)
	}
}

// TestTally: counts are written once per token and hour, what fails is kept, and nothing is
// written before the oldest count is FlushAge old.
func TestTally(t *testing.T) {
	env := emulatortest.New(t)
	clk := newClock(t0)
	store := tokenstore.New(env.DB, env.TableName, clk.now)
	tally := meter.NewTally(store, clk.now)
	ctx := context.Background()
	for range 3 {
		tally.Add("env1", "tok_a", clk.now(), tokenstore.UsageCounts{Allowed: 1})
		tally.Add("env1", "tok_b", clk.now(), tokenstore.UsageCounts{RateLimited: 1})
	}
	tally.Add("env1", "tok_a", clk.now().Add(time.Hour), tokenstore.UsageCounts{Refused: 2})
	if err := tally.FlushDue(ctx); err != nil || tally.Writes() != 0 {
		t.Fatalf("a flush before the counts are a minute old: %d writes, %v", tally.Writes(), err)
	}
	clk.add(time.Minute)
	if err := tally.FlushDue(ctx); err != nil || tally.Writes() != 3 {
		t.Fatalf("the flush a minute on: %d writes, %v; want 3 (two tokens, two hours of one)", tally.Writes(), err)
	}
	if err := tally.Flush(ctx); err != nil || tally.Writes() != 3 {
		t.Errorf("a flush with nothing to write: %d writes, %v", tally.Writes(), err)
	}
}

// TestRelease: an instance that shuts down gives back the quota it holds unspent, so no other
// instance is refused for it; a quota is still never exceeded.
func TestRelease(t *testing.T) {
	env := emulatortest.New(t)
	ctx := context.Background()
	clk := newClock(t0)
	ins := metersim.Instances(env.Config, env.TableName, 2, clk.now)
	l := limits(nil, quota(100), "tok_release")
	for range 40 { // blocks of 1, 2, 4, 8, 16, 32: the instance holds some unspent
		if d, err := ins[0].Meter.Decide(ctx, l); err != nil || d.Outcome != meter.Allowed {
			t.Fatalf("call below the quota: %v, %v", d.Outcome, err)
		}
	}
	if err := ins[0].Meter.Release(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := metersim.Run(ctx, metersim.Scenario{Limits: l, Instances: 1, Callers: 1, Calls: 100, Now: clk.now}, ins[1:])
	if err != nil {
		t.Fatal(err)
	}
	if r.Admitted != 60 {
		t.Errorf("another instance after the first released: %v, want the 60 left admitted", r)
	}
}

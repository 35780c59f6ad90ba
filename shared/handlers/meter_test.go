package handlers_test

import (
	"strings"
	"testing"
)

// meteredSamples is a call of each key-guarded route, for TestMeteredRoutes: a route template.yaml
// guards with the key authorizer and missing here fails it.
var meteredSamples = map[string][2]string{
	"GET /v1/me":                          {"/v1/me", ""},
	"POST /v1/hooks/{source}":             {"/v1/hooks/zapier", `{"a":1}`},
	"GET /v1/hooks/events":                {"/v1/hooks/events", ""},
	"POST /v1/subscriptions":              {"/v1/subscriptions", `{"targetUrl":"http://127.0.0.1:9/hook","event":"delivery.received"}`},
	"GET /v1/subscriptions":               {"/v1/subscriptions", ""},
	"DELETE /v1/subscriptions/{id}":       {"/v1/subscriptions/sub_01KAZ3J3W8M1Y4S0ZQ6X7P2B9C", ""},
	"GET /v1/subscriptions/{id}/attempts": {"/v1/subscriptions/sub_01KAZ3J3W8M1Y4S0ZQ6X7P2B9C/attempts", ""},
}

// TestMeteredRoutes: every key-guarded route of template.yaml, called with a key limited to 2
// per minute, answers its first two calls with the RateLimit fields (whatever their status) and
// the third 429 rate_limited with Retry-After, without running the route.
func TestMeteredRoutes(t *testing.T) {
	a := newAPI(t, 50)
	for _, route := range keyRoutes(t) {
		sample, ok := meteredSamples[route]
		if !ok {
			t.Errorf("%s: no sample call in meteredSamples", route)
			continue
		}
		method, _, _ := strings.Cut(route, " ")
		key := a.create(ann, `{"name":"limited","rateLimit":{"requests":2,"windowSeconds":60}}`).str("key")
		for i := 1; i <= 3; i++ {
			r := a.keyDo(key, method, sample[0], sample[1])
			if !strings.HasPrefix(r.headers["ratelimit-policy"], `"rate";q=2;w=60`) || !strings.HasPrefix(r.headers["ratelimit"], `"rate";r=`) {
				t.Errorf("%s, call %d: %d without the RateLimit fields: %v", route, i, r.status, r.headers)
			}
			if i < 3 && r.status == 429 {
				t.Errorf("%s, call %d: 429 below the limit", route, i)
			}
			if i == 3 && (r.status != 429 || r.str("code") != "rate_limited" || r.headers["retry-after"] == "") {
				t.Errorf("%s, call 3: %d %s %v, want 429 rate_limited with Retry-After", route, r.status, r.shown(), r.headers)
			}
		}
	}
}

// TestLimitsOnTokens: limits set at create and by PATCH (null clears), shown by get, list and
// /v1/me, refused when malformed with nothing stored, and held to the policy: its default
// given to a token made without one, a limit above its maximum refused, and a token above a
// maximum tightened later shown outside the policy.
func TestLimitsOnTokens(t *testing.T) {
	a := newAPI(t, 50)
	c := a.create(ann, `{"name":"m","rateLimit":{"requests":30,"windowSeconds":60},"quota":{"requestsPerMonth":40}}`)
	if c.status != 201 || !strings.Contains(c.raw, `"rateLimit":{"requests":30,"windowSeconds":60},"quota":{"requestsPerMonth":40}`) {
		t.Fatalf("create with limits: %d %s", c.status, c.shown())
	}
	id, key := c.str("id"), c.str("key")
	if g := a.do(ann, "GET", "/v1/tokens/"+id, ""); !strings.Contains(g.raw, `"rateLimit":{"requests":30,"windowSeconds":60},"quota":{"requestsPerMonth":40}`) {
		t.Errorf("get: %s", g.shown())
	}
	if l := a.do(ann, "GET", "/v1/tokens", ""); !strings.Contains(l.raw, `"quota":{"requestsPerMonth":40}`) {
		t.Errorf("list: %s", l.shown())
	}
	if me := a.keyDo(key, "GET", "/v1/me", ""); !strings.Contains(me.raw, `"rateLimit":{"requests":30,"windowSeconds":60},"quota":{"requestsPerMonth":40}`) {
		t.Errorf("/v1/me: %s", me.shown())
	}
	for body, code := range map[string]string{
		`{"rateLimit":{"requests":0,"windowSeconds":60}}`:      "invalid_rate_limit",
		`{"rateLimit":{"requests":5,"windowSeconds":3601}}`:    "invalid_rate_limit",
		`{"rateLimit":{"requests":5}}`:                         "invalid_rate_limit",
		`{"quota":{"requestsPerMonth":0}}`:                     "invalid_quota",
		`{"quota":{"requestsPerMonth":1.5}}`:                   "invalid_quota",
		`{"quota":{"requestsPerMonth":"many"}}`:                "invalid_quota",
		`{"rateLimit":{"requests":5,"windowSeconds":1,"x":1}}`: "invalid_rate_limit",
	} {
		if r := a.do(ann, "PATCH", "/v1/tokens/"+id, body); r.status != 400 || r.str("code") != code {
			t.Errorf("PATCH %s: %d %s, want 400 %s", body, r.status, r.shown(), code)
		}
		if r := a.do(ann, "POST", "/v1/tokens", strings.Replace(body, "{", `{"name":"y",`, 1)); r.status != 400 || r.str("code") != code {
			t.Errorf("create %s: %d %s, want 400 %s", body, r.status, r.shown(), code)
		}
	}
	if g := a.do(ann, "GET", "/v1/tokens/"+id, ""); !strings.Contains(g.raw, `"rateLimit":{"requests":30,"windowSeconds":60},"quota":{"requestsPerMonth":40}`) || g.str("name") != "m" {
		t.Errorf("after refused edits: %s, want the token unchanged", g.shown())
	}
	e := a.do(ann, "PATCH", "/v1/tokens/"+id, `{"rateLimit":{"requests":10,"windowSeconds":1},"quota":null}`)
	if e.status != 200 || !strings.Contains(e.raw, `"rateLimit":{"requests":10,"windowSeconds":1},"quota":null`) {
		t.Errorf("PATCH limits: %d %s", e.status, e.shown())
	}
	if au := a.do(ann, "GET", "/v1/tokens/"+id+"/audit", ""); !strings.Contains(au.raw, `"rateLimit":"10/1s"`) || !strings.Contains(au.raw, `"quota":"null"`) {
		t.Errorf("audit of the edit: %s", au.shown())
	}
	// The policy: a default and a maximum.
	if r := a.do(adam, "PUT", "/v1/policy", `{"defaultRateLimit":{"requests":20,"windowSeconds":60},"maxRateLimit":{"requests":100,"windowSeconds":60}}`); r.status != 200 {
		t.Fatalf("put policy: %d %s", r.status, r.shown())
	}
	if d := a.create(ann, `{"name":"d"}`); !strings.Contains(d.raw, `"rateLimit":{"requests":20,"windowSeconds":60}`) {
		t.Errorf("create without a rate limit under a default: %s, want the default", d.shown())
	}
	for _, body := range []string{`{"name":"z","rateLimit":{"requests":2,"windowSeconds":1}}`, `{"name":"z","rateLimit":null}`} {
		if r := a.do(ann, "POST", "/v1/tokens", body); r.status != 400 || r.str("code") != "policy_violation" || !strings.Contains(r.str("detail"), "maxRateLimit") {
			t.Errorf("create %s above the max: %d %s, want 400 policy_violation", body, r.status, r.shown())
		}
	}
	if r := a.do(ann, "PATCH", "/v1/tokens/"+id, `{"rateLimit":null}`); r.status != 400 || r.str("code") != "policy_violation" {
		t.Errorf("PATCH to no rate limit under a max: %d %s, want 400 policy_violation", r.status, r.shown())
	}
	// The token's 10 per second is above the max of 100 per minute set after it.
	if g := a.do(ann, "GET", "/v1/tokens/"+id, ""); !strings.Contains(g.raw, `"policy":{"compliant":false,"reason":"maxRateLimit:`) {
		t.Errorf("a token above a tightened max: %s, want outside the policy", g.shown())
	}
}

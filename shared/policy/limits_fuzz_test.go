package policy_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/apitokens/apitokens/shared/fault"
	"github.com/apitokens/apitokens/shared/policy"
)

// FuzzLimits feeds both limit parsers any bytes: each either refuses with its own code or
// returns a limit inside its bounds that reads back to the same limit.
func FuzzLimits(f *testing.F) {
	for _, s := range []string{
		`null`, `{"requests":30,"windowSeconds":60}`, `{"requests":30.0,"windowSeconds":60}`,
		`{"requests":0,"windowSeconds":60}`, `{"requests":1,"windowSeconds":3601}`, `{"requests":1e9,"windowSeconds":3600}`,
		`{"requests":1,"windowSeconds":1,"x":1}`, `{"requests":1,"requests":2,"windowSeconds":1}`, `{"requests":"1","windowSeconds":1}`,
		`{"requestsPerMonth":40}`, `{"requestsPerMonth":-1}`, `{"requestsPerMonth":1.5}`, `[]`, `{}`, `1`, `"x"`, ` null `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // the request decoder refuses the body before a parser sees it
		}
		check := func(what, code string, err error) {
			var fe *fault.Error
			if err != nil && (!errors.As(err, &fe) || fe.Code != code || fe.Status != 400) {
				t.Fatalf("%s %q: got %v, want a 400 %s", what, b, err, code)
			}
		}
		l, err := policy.ParseRateLimit(b)
		check("rate limit", "invalid_rate_limit", err)
		if l != nil {
			if l.Requests < 1 || l.Requests > policy.MaxRequests || l.WindowSeconds < 1 || l.WindowSeconds > policy.MaxWindowSeconds {
				t.Fatalf("rate limit %q: got %+v, outside its bounds", b, *l)
			}
			again, _ := json.Marshal(l)
			if back, err := policy.ParseRateLimit(again); err != nil || *back != *l {
				t.Fatalf("rate limit %q: %s reads back as %v, %v", b, again, back, err)
			}
		}
		q, err := policy.ParseQuota(b)
		check("quota", "invalid_quota", err)
		if q != nil {
			if q.RequestsPerMonth < 1 || q.RequestsPerMonth > policy.MaxRequests {
				t.Fatalf("quota %q: got %+v, outside its bounds", b, *q)
			}
			again, _ := json.Marshal(q)
			if back, err := policy.ParseQuota(again); err != nil || *back != *q {
				t.Fatalf("quota %q: %s reads back as %v, %v", b, again, back, err)
			}
		}
	})
}

func TestParseLimits(t *testing.T) {
	for _, c := range []struct {
		in       string
		rate     *policy.RateLimit
		rateCode string
	}{
		{`null`, nil, ""},
		{`{"requests":30,"windowSeconds":60}`, &policy.RateLimit{Requests: 30, WindowSeconds: 60}, ""},
		{`{"windowSeconds":60.0,"requests":30.0}`, &policy.RateLimit{Requests: 30, WindowSeconds: 60}, ""},
		{`{"requests":30}`, nil, "invalid_rate_limit"},
		{`{"requests":30,"windowSeconds":0}`, nil, "invalid_rate_limit"},
		{`{"requests":30,"windowSeconds":3601}`, nil, "invalid_rate_limit"},
		{`{"requests":1000000001,"windowSeconds":1}`, nil, "invalid_rate_limit"},
		{`{"requests":30,"windowSeconds":60,"burst":5}`, nil, "invalid_rate_limit"},
		{`{"requests":30,"requests":31,"windowSeconds":60}`, nil, "invalid_rate_limit"},
		{`{"requests":null,"windowSeconds":60}`, nil, "invalid_rate_limit"},
		{`[30,60]`, nil, "invalid_rate_limit"},
	} {
		got, err := policy.ParseRateLimit(json.RawMessage(c.in))
		code := ""
		var fe *fault.Error
		if errors.As(err, &fe) {
			code = fe.Code
		}
		if code != c.rateCode || (got == nil) != (c.rate == nil) || (got != nil && *got != *c.rate) {
			t.Errorf("ParseRateLimit(%s): got %v, %q; want %v, %q", c.in, got, code, c.rate, c.rateCode)
		}
	}
	for in, want := range map[string]int{`null`: 0, `{"requestsPerMonth":40}`: 40, `{"requestsPerMonth":0}`: -1,
		`{"requestsPerMonth":40.5}`: -1, `{}`: -1, `{"requestsPerMonth":40,"x":1}`: -1, `true`: -1} {
		got, err := policy.ParseQuota(json.RawMessage(in))
		switch {
		case want < 0 && (err == nil || !errors.Is(err, policy.ErrInvalidQuota)):
			t.Errorf("ParseQuota(%s): got %v, %v; want invalid_quota", in, got, err)
		case want == 0 && (got != nil || err != nil):
			t.Errorf("ParseQuota(%s): got %v, %v; want none", in, got, err)
		case want > 0 && (err != nil || got == nil || got.RequestsPerMonth != want):
			t.Errorf("ParseQuota(%s): got %v, %v; want %d", in, got, err, want)
		}
	}
}

func TestRateLimitRule(t *testing.T) {
	max := &policy.RateLimit{Requests: 100, WindowSeconds: 60}
	p := policy.Policy{MaxRateLimit: max, AgentPermissions: []string{}}
	for _, c := range []struct {
		l       *policy.RateLimit
		outside bool
	}{
		{nil, true}, {&policy.RateLimit{Requests: 100, WindowSeconds: 60}, false},
		{&policy.RateLimit{Requests: 1000, WindowSeconds: 600}, false}, {&policy.RateLimit{Requests: 2, WindowSeconds: 1}, true},
	} {
		c2 := p.Assess(policy.Token{RateLimit: c.l})
		if c2.Compliant == c.outside || (c.outside && (c2.Reason == nil || (*c2.Reason)[:13] != "maxRateLimit:")) {
			t.Errorf("rate limit %v under a max of %v: %+v", c.l, max, c2)
		}
	}
	if got := (policy.Policy{}).RateLimitFor(); got != nil {
		t.Errorf("RateLimitFor without default or max: %v", got)
	}
	if got := p.RateLimitFor(); got == nil || *got != *max {
		t.Errorf("RateLimitFor with a max only: %v, want the max", got)
	}
}

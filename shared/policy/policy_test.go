package policy_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/fault"
	"github.com/apitokens/apitokens/shared/policy"
)

func TestCheck(t *testing.T) {
	days := func(n int) *int { return &n }
	for _, c := range []struct {
		name string
		p    policy.Policy
		code string // "" for accepted
	}{
		{"default", policy.Default(), ""},
		{"30 days", policy.Policy{MaxLifetimeDays: days(30), AgentPermissions: []string{}}, ""},
		{"0 days", policy.Policy{MaxLifetimeDays: days(0), AgentPermissions: []string{}}, "invalid_policy"},
		{"no agent permissions", policy.Policy{}, "invalid_permission"},
		{"unknown permission", policy.Policy{AgentPermissions: []string{"deals:write"}}, "invalid_permission"},
		{"window too long", policy.Policy{AgentPermissions: []string{}, MaxRateLimit: &policy.RateLimit{Requests: 1, WindowSeconds: 3601}}, "invalid_rate_limit"},
		{"no requests", policy.Policy{AgentPermissions: []string{}, DefaultRateLimit: &policy.RateLimit{Requests: 0, WindowSeconds: 60}}, "invalid_rate_limit"},
		{"default above max", policy.Policy{AgentPermissions: []string{},
			DefaultRateLimit: &policy.RateLimit{Requests: 61, WindowSeconds: 60}, MaxRateLimit: &policy.RateLimit{Requests: 1, WindowSeconds: 1}}, "invalid_rate_limit"},
		{"default at max", policy.Policy{AgentPermissions: []string{},
			DefaultRateLimit: &policy.RateLimit{Requests: 60, WindowSeconds: 60}, MaxRateLimit: &policy.RateLimit{Requests: 1, WindowSeconds: 1}}, ""},
	} {
		_, err := policy.Check(c.p)
		var f *fault.Error
		if got := ""; err != nil {
			if errors.As(err, &f) {
				got = f.Code
			}
			if got != c.code {
				t.Errorf("%s: Check = %v (code %q), want %q", c.name, err, got, c.code)
			}
		} else if c.code != "" {
			t.Errorf("%s: Check accepted it, want %q", c.name, c.code)
		}
	}
}

func TestAssess(t *testing.T) {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	in := func(d int) *time.Time { e := created.Add(time.Duration(d) * 24 * time.Hour); return &e }
	thirty := 30
	strict := policy.Policy{MaxLifetimeDays: &thirty, AgentPermissions: []string{"hooks:read"}, RequireAllowedCIDRs: true}
	ok := policy.Token{Agent: true, Permissions: []string{"hooks:read"}, AllowedCIDRs: []string{"10.0.0.0/8"}, CreatedAt: created, ExpiresAt: in(30)}
	if c := strict.Assess(ok); !c.Compliant || c.Reason != nil {
		t.Errorf("a compliant token: %+v", c)
	}
	for rule, tok := range map[string]policy.Token{
		"maxLifetimeDays":     {Agent: true, Permissions: []string{"hooks:read"}, AllowedCIDRs: []string{"10.0.0.0/8"}, CreatedAt: created, ExpiresAt: in(31)},
		"agentFullAccess":     {Agent: true, AllowedCIDRs: []string{"10.0.0.0/8"}, CreatedAt: created, ExpiresAt: in(1)},
		"agentPermissions":    {Agent: true, Permissions: []string{"hooks:write"}, AllowedCIDRs: []string{"10.0.0.0/8"}, CreatedAt: created, ExpiresAt: in(1)},
		"requireAllowedCidrs": {Agent: false, CreatedAt: created, ExpiresAt: in(1)},
	} {
		c := strict.Assess(tok)
		if c.Compliant || c.Reason == nil || !strings.HasPrefix(*c.Reason, rule+":") {
			t.Errorf("%s: Assess = %+v, want outside for %s", rule, c, rule)
		}
	}
	if c := strict.Assess(policy.Token{Agent: false, AllowedCIDRs: []string{"::1/128"}, CreatedAt: created, ExpiresAt: in(2)}); !c.Compliant {
		t.Errorf("an admin's full-access token under agent rules: %+v", c)
	}
}

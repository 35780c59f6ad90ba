package authorizer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// restrict gives the token t permissions and allowed CIDRs, as an edit does.
func (f *fixture) restrict(t tokenstore.Token, perms, cidrs []string) tokenstore.Token {
	f.t.Helper()
	next := t
	next.Permissions, next.AllowedCIDRs = perms, cidrs
	got, err := f.store.Edit(context.Background(), t, next, tokenstore.Actor{UserID: t.UserID})
	if err != nil {
		f.t.Fatal(err)
	}
	f.calls.Reset()
	f.reads.reset()
	return got
}

// decide runs one call through Authorize and checks its outcome and its reason.
func (f *fixture) decide(c authorizer.Call, allowed bool, reason authorizer.Reason) authorizer.Decision {
	f.t.Helper()
	d, err := f.auth.Authorize(context.Background(), c)
	if err != nil {
		f.t.Fatalf("authorize %s from %s: %v", c.Route, c.SourceIP, err)
	}
	if d.Allowed != allowed || d.Reason != reason {
		f.t.Errorf("authorize %s from %s = %v %s, want %v %s", c.Route, c.SourceIP, d.Allowed, d.Reason, allowed, reason)
	}
	if !d.Allowed && d.Context != nil {
		f.t.Errorf("a refusal carries context %v", d.Context)
	}
	return d
}

func TestPermissionsDecidedAtTheDoor(t *testing.T) {
	f := newFixture(t)
	tok, key := f.mint(tokenstore.TypeUser, "ann", nil)
	f.restrict(tok, []string{"hooks:read"}, nil)
	h := "Bearer " + key
	for _, cached := range []bool{false, true} {
		d := f.decide(authorizer.Call{Header: h, Route: "GET /v1/hooks/events", SourceIP: "54.86.9.50"}, true, authorizer.ReasonAllowed)
		if d.Cached != cached {
			t.Errorf("cached = %v, want %v", d.Cached, cached)
		}
		f.decide(authorizer.Call{Header: h, Route: "POST /v1/hooks/{source}", SourceIP: "54.86.9.50"}, false, authorizer.ReasonPermission)
		f.decide(authorizer.Call{Header: h, Route: "GET /v1/me", SourceIP: "54.86.9.50"}, true, authorizer.ReasonAllowed)
		// A route the catalogue does not know is refused to a restricted key.
		f.decide(authorizer.Call{Header: h, Route: "DELETE /v1/deals/{id}"}, false, authorizer.ReasonPermission)
	}
	if n := f.reads.count("KEY"); n != 1 {
		t.Errorf("lookup item reads = %d, want 1 for four routes, fresh and cached", n)
	}

	// Write implies read.
	tok2, key2 := f.mint(tokenstore.TypeUser, "ann", nil)
	f.restrict(tok2, []string{"hooks:write"}, nil)
	f.decide(authorizer.Call{Header: "Bearer " + key2, Route: "GET /v1/hooks/events"}, true, authorizer.ReasonAllowed)
	f.decide(authorizer.Call{Header: "Bearer " + key2, Route: "POST /v1/hooks/{source}"}, true, authorizer.ReasonAllowed)

	// The log line names the reason.
	f.advance(memoryTTL)
	resp := f.expect(h, true, 1) // GET /v1/me, the fixture's route
	if resp.Context["permissions"] != `["hooks:read"]` {
		t.Errorf("context permissions = %v, want the list as JSON", resp.Context["permissions"])
	}
}

func TestAddressesDecidedAtTheDoor(t *testing.T) {
	f := newFixture(t)
	tok, key := f.mint(tokenstore.TypeUser, "ann", nil)
	f.restrict(tok, nil, []string{"10.0.0.0/8", "2001:db8::/32"})
	h := "Bearer " + key
	for _, c := range []struct {
		ip      string
		allowed bool
	}{{"10.1.2.3", true}, {"127.0.0.1", false}, {"2001:db8::7", true}, {"", false}, {"10.1.2.3, 127.0.0.1", false}} {
		reason := authorizer.ReasonAllowed
		if !c.allowed {
			reason = authorizer.ReasonAddress
		}
		f.decide(authorizer.Call{Header: h, Route: "GET /v1/me", SourceIP: c.ip}, c.allowed, reason)
	}
	// The handler takes the gateway's source address, whatever X-Forwarded-For says.
	f.expect(h, false, 0) // the fixture's sourceIp is 54.86.9.50
	if !strings.Contains(f.logs.String(), `"reason":"address"`) {
		t.Errorf("no log line names the reason address:\n%s", f.logs.String())
	}
}

func TestPolicyDecidedAtTheDoor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, agentKey := f.mint(tokenstore.TypeUser, "ann", nil)
	_, adminKey := f.mint(tokenstore.TypeAdmin, "adam", nil)
	f.expect("Bearer "+agentKey, true, 1)
	if n := f.reads.count("POLICY"); n != 1 {
		t.Errorf("policy reads on the first key of the environment = %d, want 1", n)
	}
	f.expect("Bearer "+adminKey, true, 1)
	if n := f.reads.count("POLICY"); n != 0 {
		t.Errorf("policy reads on a second key within the policy's TTL = %d, want 0", n)
	}
	strict := policy.Default()
	strict.AgentFullAccess = false
	if err := f.store.PutPolicy(ctx, "env-1", strict, tokenstore.Actor{UserID: "adam"}); err != nil {
		t.Fatal(err)
	}
	// Cached answers cost nothing, the policy's read included, until the policy is due again.
	for at := memoryTTL; at < authorizer.DefaultPolicyTTL; at += memoryTTL {
		f.advance(memoryTTL)
		f.calls.Reset()
		f.reads.reset()
		d := f.decide(authorizer.Call{Header: "Bearer " + agentKey, Route: "GET /v1/me"}, true, authorizer.ReasonAllowed)
		if f.reads.count("POLICY") != 0 || (d.Cached && f.calls.Total() != 0) {
			t.Fatalf("at %s: calls %s, want no policy read", at, f.calls)
		}
	}
	f.advance(authorizer.DefaultPolicyTTL) // past the policy read at the start
	f.reads.reset()
	f.decide(authorizer.Call{Header: "Bearer " + agentKey, Route: "GET /v1/me"}, false, authorizer.ReasonPolicy)
	f.decide(authorizer.Call{Header: "Bearer " + adminKey, Route: "GET /v1/me"}, true, authorizer.ReasonAllowed)
	if n := f.reads.count("POLICY"); n != 1 {
		t.Errorf("policy reads after the TTL = %d, want 1 for the environment", n)
	}
	// An administrator's token is outside a maximum lifetime too.
	days := 30
	strict.MaxLifetimeDays = &days
	if err := f.store.PutPolicy(ctx, "env-1", strict, tokenstore.Actor{UserID: "adam"}); err != nil {
		t.Fatal(err)
	}
	f.advance(authorizer.DefaultPolicyTTL)
	f.decide(authorizer.Call{Header: "Bearer " + adminKey, Route: "GET /v1/me"}, false, authorizer.ReasonPolicy)
}

func TestPolicyWithinAMinute(t *testing.T) {
	// The default policy TTL and the gateway's default result TTL (5 s) stay within 60 s.
	if got := authorizer.DefaultPolicyTTL + 5*time.Second; got > time.Minute {
		t.Errorf("policy TTL + gateway TTL = %s, want at most 1m", got)
	}
}

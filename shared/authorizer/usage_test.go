package authorizer_test

import (
	"context"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// countingUsage records what the authorizer counts.
type countingUsage struct {
	counts map[string]tokenstore.UsageCounts
}

func (c *countingUsage) Add(env, tokenID string, _ time.Time, u tokenstore.UsageCounts) {
	sum := c.counts[env+"/"+tokenID]
	sum.Add(u)
	c.counts[env+"/"+tokenID] = sum
}
func (c *countingUsage) FlushDue(context.Context) error { return nil }

// TestLimitsAndRefusals: a token's limits reach the route in the context, from the one item the
// check reads; a refusal of a key the authorizer identified counts in its token's usage, one of
// a key it could not identify nowhere.
func TestLimitsAndRefusals(t *testing.T) {
	f := newFixture(t)
	usage := &countingUsage{counts: map[string]tokenstore.UsageCounts{}}
	f.auth.Usage = usage
	tok, key := f.mint(tokenstore.TypeUser, "ann", nil)
	next := tok
	next.RateLimit, next.Quota = &policy.RateLimit{Requests: 30, WindowSeconds: 60}, &policy.Quota{RequestsPerMonth: 40}
	if _, err := f.store.Edit(context.Background(), tok, next, tokenstore.Actor{UserID: "ann"}); err != nil {
		t.Fatal(err)
	}
	resp := f.expect("Bearer "+key, true, 1)
	if resp.Context["rateLimit"] != `{"requests":30,"windowSeconds":60}` || resp.Context["quota"] != `{"requestsPerMonth":40}` {
		t.Errorf("context limits: %v %v", resp.Context["rateLimit"], resp.Context["quota"])
	}
	expired := f.clock().Add(-time.Hour)
	old, oldKey := f.mint(tokenstore.TypeUser, "ann", &expired)
	f.expect("Bearer "+oldKey, false, 1)
	unknown, _ := f.format.Generate()
	f.expect("Bearer "+unknown, false, 1)
	if got := usage.counts["env-1/"+old.ID]; got != (tokenstore.UsageCounts{Refused: 1}) || len(usage.counts) != 1 {
		t.Errorf("usage counted: %v, want one refusal of the expired key's token", usage.counts)
	}
}

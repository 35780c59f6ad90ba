package tokenstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// TestLimitsKeptInStep: a token's rate limit and quota are stored with it and copied onto its
// lookup items at create, kept by a roll (both keys) and a transfer, changed and cleared by an
// edit on every item at once, and audited.
func TestLimitsKeptInStep(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	rate, quota := &policy.RateLimit{Requests: 30, WindowSeconds: 60}, &policy.Quota{RequestsPerMonth: 40}
	tok := newToken("env1", "alice", "metered", t0)
	tok.RateLimit, tok.Quota = rate, quota
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	check := func(step string, tk tokenstore.Token, rate *policy.RateLimit, quota *policy.Quota) {
		t.Helper()
		got, err := s.Get(ctx, "env1", tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		same := func(l *policy.RateLimit, q *policy.Quota) bool {
			return (l == nil) == (rate == nil) && (l == nil || *l == *rate) && (q == nil) == (quota == nil) && (q == nil || *q == *quota)
		}
		if !same(got.RateLimit, got.Quota) {
			t.Errorf("%s: token holds %v %v, want %v %v", step, got.RateLimit, got.Quota, rate, quota)
		}
		for i, rec := range records(t, s, got) {
			if !same(rec.RateLimit, rec.Quota) {
				t.Errorf("%s: lookup item %d holds %v %v, want %v %v", step, i, rec.RateLimit, rec.Quota, rate, quota)
			}
		}
	}
	check("create", tok, rate, quota)
	rolled, err := s.Roll(ctx, tok, newKey("cbk_…limits1"), time.Hour, alice)
	if err != nil {
		t.Fatal(err)
	}
	check("roll", rolled, rate, quota)
	moved, err := s.Transfer(ctx, rolled, "bob", []byte("sealed for bob"), 50, tokenstore.Actor{UserID: "adam"})
	if err != nil {
		t.Fatal(err)
	}
	check("transfer", moved, rate, quota)
	next := moved
	next.RateLimit, next.Quota = &policy.RateLimit{Requests: 5, WindowSeconds: 1}, nil
	edited, err := s.Edit(ctx, moved, next, alice)
	if err != nil {
		t.Fatal(err)
	}
	check("edit", edited, next.RateLimit, nil)
	cleared := edited
	cleared.RateLimit = nil
	if edited, err = s.Edit(ctx, edited, cleared, alice); err != nil {
		t.Fatal(err)
	}
	check("cleared", edited, nil, nil)
	page, err := s.ListAudit(ctx, "env1", tok.ID, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{{"rateLimit": "null"}, {"rateLimit": "5/1s", "quota": "null"}}
	for i, w := range want {
		r := page.Records[i]
		for k, v := range w {
			if r.Action != tokenstore.ActionEdit || r.Detail[k] != v {
				t.Errorf("audit record %d: %s %v, want an edit with %s %s", i, r.Action, r.Detail, k, v)
			}
		}
	}
	created := page.Records[len(page.Records)-1]
	if created.Action != tokenstore.ActionCreate || created.Detail["rateLimit"] != "30/60s" || created.Detail["quota"] != "40/month" {
		t.Errorf("create's audit record: %+v, want its limits", created)
	}
	// A token without limits reads null for both, as do items stored before them.
	plain := newToken("env1", "alice", "plain", t0)
	if err := s.Create(ctx, plain, 50, alice); err != nil {
		t.Fatal(err)
	}
	check("no limits", plain, nil, nil)
}

// TestClaim: concurrent claims of one counter never grant more than its limit; the last grant is
// what remained, and a spent allowance grants nothing.
func TestClaim(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	c := tokenstore.WindowCounter("env1", "tok_claim", 60, t0)
	const limit, want = 100, 7
	grants := make(chan int64, 40)
	errs := make(chan error, 40)
	for range 40 {
		go func() {
			g, _, err := s.Claim(ctx, c, limit, want)
			grants <- g
			errs <- err
		}()
	}
	var total int64
	for range 40 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		total += <-grants
	}
	if total != limit {
		t.Errorf("40 claims of %d against %d: granted %d, want %d", want, limit, total, limit)
	}
	if g, claimed, err := s.Claim(ctx, c, limit, 1); g != 0 || claimed != limit || err != nil {
		t.Errorf("a claim of a spent allowance: got %d (claimed %d, %v), want 0", g, claimed, err)
	}
	// Another window, and the month, count apart.
	if g, _, err := s.Claim(ctx, tokenstore.MonthCounter("env1", "tok_claim", t0), 40, 40); g != 40 || err != nil {
		t.Errorf("a month's first claim: got %d, %v; want 40", g, err)
	}
	if _, _, err := s.Claim(ctx, c, 10, 11); err == nil {
		t.Error("a claim above the limit was taken")
	}
}

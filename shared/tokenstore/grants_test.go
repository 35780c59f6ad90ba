package tokenstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// records reads the key records of a token's current key and, if it has one, its previous key.
func records(t *testing.T, s *tokenstore.Store, tok tokenstore.Token) []tokenstore.KeyRecord {
	t.Helper()
	hashes := [][]byte{tok.KeyHash}
	if tok.PreviousKey != nil {
		hashes = append(hashes, tok.PreviousKey.KeyHash)
	}
	var out []tokenstore.KeyRecord
	for _, h := range hashes {
		rec, err := s.LookupKey(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

func TestGrantsKeptInStep(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	tok := newToken("env1", "alice", "Zapier Sync", t0)
	tok.Permissions, tok.OwnerRole = []string{}, tokenstore.RoleAgent
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "env1", tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Permissions == nil || len(got.Permissions) != 0 || got.AllowedCIDRs != nil || got.OwnerRole != tokenstore.RoleAgent {
		t.Fatalf("stored permissions %#v, cidrs %#v, role %q; want an empty list, null, agent", got.Permissions, got.AllowedCIDRs, got.OwnerRole)
	}
	rec := records(t, s, got)[0]
	if rec.Permissions == nil || !rec.CreatedAt.Equal(t0) || !rec.Agent() {
		t.Errorf("lookup record %+v: want an empty permission list, the creation time, an agent's", rec)
	}

	// Roll with a grace: both lookup items carry the grants; an edit changes both.
	rolled, err := s.Roll(ctx, got, newKey("cbk_…new1"), time.Hour, alice)
	if err != nil {
		t.Fatal(err)
	}
	next := rolled
	next.Permissions, next.AllowedCIDRs = []string{"hooks:read"}, []string{"10.0.0.0/8"}
	edited, err := s.Edit(ctx, rolled, next, alice)
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range records(t, s, edited) {
		if !slices.Equal(rec.Permissions, next.Permissions) || !slices.Equal(rec.AllowedCIDRs, next.AllowedCIDRs) {
			t.Errorf("lookup item %d after edit: %q %q, want %q %q", i, rec.Permissions, rec.AllowedCIDRs, next.Permissions, next.AllowedCIDRs)
		}
	}
	// An edit from a stale read loses: the revision moved on.
	stale := rolled
	stale.Permissions = nil
	if _, err := s.Edit(ctx, rolled, stale, alice); !errors.Is(err, tokenstore.ErrConflict) {
		t.Errorf("edit from a stale read = %v, want ErrConflict", err)
	}
	// So does a roll.
	if _, err := s.Roll(ctx, rolled, newKey("cbk_…new2"), 0, alice); err == nil {
		t.Error("roll from a stale read succeeded")
	}
	// Back to full access: the attribute is gone, the records read null.
	full := edited
	full.Permissions, full.AllowedCIDRs = nil, nil
	if edited, err = s.Edit(ctx, edited, full, alice); err != nil {
		t.Fatal(err)
	}
	for _, rec := range records(t, s, edited) {
		if rec.Permissions != nil || rec.AllowedCIDRs != nil {
			t.Errorf("lookup after full access: %#v %#v, want nil", rec.Permissions, rec.AllowedCIDRs)
		}
	}
	page, err := s.ListAudit(ctx, "env1", tok.ID, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.Records[0].Action != tokenstore.ActionEdit || page.Records[0].Detail["permissions"] != "null" {
		t.Errorf("newest audit record %+v, want an edit to permissions null", page.Records[0])
	}
}

func TestTransfer(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	tok := newToken("env1", "alice", "Zapier Sync", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	moved, err := s.Transfer(ctx, tok, "bob", []byte("sealed for bob"), 50, tokenstore.Actor{UserID: "adam"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "env1", tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "bob" || string(got.KeyCiphertext) != "sealed for bob" || got.Hint != tok.Hint || moved.UserID != "bob" {
		t.Errorf("after transfer: %+v", got)
	}
	if rec := records(t, s, got)[0]; rec.UserID != "bob" || rec.TokenID != tok.ID {
		t.Errorf("lookup after transfer: %+v, want bob's", rec)
	}
	for user, want := range map[string]int{"alice": 0, "bob": 1} {
		if n, err := s.Count(ctx, "env1", user); err != nil || n != want {
			t.Errorf("count of %s = %d, %v, want %d", user, n, err, want)
		}
	}
	envs, err := s.UserEnvironments(ctx, "bob")
	if err != nil || !slices.Equal(envs, []string{"env1"}) {
		t.Errorf("environments of bob = %q, %v, want [env1]", envs, err)
	}
	// The new owner at the limit: refused, nothing changed.
	other := newToken("env1", "carol", "Full", t0)
	if err := s.Create(ctx, other, 1, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transfer(ctx, got, "carol", []byte("x"), 1, alice); !errors.Is(err, tokenstore.ErrLimitReached) {
		t.Errorf("transfer to a user at the limit = %v, want ErrLimitReached", err)
	}
	if again, _ := s.Get(ctx, "env1", tok.ID); again.UserID != "bob" {
		t.Errorf("a refused transfer moved the token to %s", again.UserID)
	}
}

func TestDeactivateUser(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	var toks []tokenstore.Token
	for i, user := range []string{"alice", "alice", "alice", "bob"} {
		tok := newToken("env1", user, "t", t0.Add(time.Duration(i)*time.Second))
		if err := s.Create(ctx, tok, 50, alice); err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	if _, err := s.SetStatus(ctx, toks[0], tokenstore.StatusInactive, alice); err != nil {
		t.Fatal(err)
	}
	done, err := s.DeactivateUser(ctx, "env1", "alice", "test", tokenstore.Actor{UserID: "adam"})
	if err != nil || len(done) != 2 {
		t.Fatalf("DeactivateUser = %d tokens, %v, want 2", len(done), err)
	}
	for _, tok := range done {
		if tok.Status != tokenstore.StatusInactive || tok.UserID != "alice" || (tok.ID != toks[1].ID && tok.ID != toks[2].ID) {
			t.Errorf("DeactivateUser answered %s (%s, %s), want alice's two active tokens, now inactive", tok.ID, tok.UserID, tok.Status)
		}
	}
	for i, tok := range toks {
		got, _ := s.Get(ctx, "env1", tok.ID)
		if want := i < 3; (got.Status == tokenstore.StatusInactive) != want {
			t.Errorf("token %d (%s): status %s", i, tok.UserID, got.Status)
		}
	}
	page, err := s.ListAudit(ctx, "env1", toks[1].ID, 10, nil)
	if err != nil || page.Records[0].Action != tokenstore.ActionDeactivate || page.Records[0].Detail["reason"] != "test" {
		t.Errorf("audit of a suspended token: %+v, %v", page.Records, err)
	}
	if again, err := s.DeactivateUser(ctx, "env1", "alice", "test", alice); err != nil || len(again) != 0 {
		t.Errorf("again = %d tokens, %v, want 0", len(again), err)
	}
}

func TestPolicyStored(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	got, err := s.Policy(ctx, "env1")
	if err != nil || !got.AgentFullAccess || len(got.AgentPermissions) == 0 || got.MaxLifetimeDays != nil {
		t.Fatalf("policy of an environment without one = %+v, %v, want the default", got, err)
	}
	days := 30
	want := policy.Policy{MaxLifetimeDays: &days, AgentPermissions: []string{}, MaxRateLimit: &policy.RateLimit{Requests: 10, WindowSeconds: 60}}
	if err := s.PutPolicy(ctx, "env1", want, alice); err != nil {
		t.Fatal(err)
	}
	got, err = s.Policy(ctx, "env1")
	if err != nil || got.MaxLifetimeDays == nil || *got.MaxLifetimeDays != 30 || got.AgentFullAccess ||
		got.AgentPermissions == nil || len(got.AgentPermissions) != 0 || got.MaxRateLimit == nil || *got.MaxRateLimit != *want.MaxRateLimit || got.DefaultRateLimit != nil {
		t.Errorf("stored policy = %+v, %v, want %+v", got, err, want)
	}
	if other, _ := s.Policy(ctx, "env2"); !other.AgentFullAccess {
		t.Error("one environment's policy reached another")
	}
}

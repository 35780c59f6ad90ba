package tokenstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

func newKey(hint string) tokenstore.NewKey {
	mac, hash := make([]byte, 32), make([]byte, 32)
	rand.Read(mac)
	rand.Read(hash)
	return tokenstore.NewKey{Version: "k1", Hash: hash, MAC: mac, Ciphertext: []byte("sealed again"), Hint: hint}
}

// lookup is LookupKey's answer for a key's hash: "usable", "refused" or "unknown".
func lookup(t *testing.T, s *tokenstore.Store, hash []byte, now time.Time) string {
	t.Helper()
	rec, err := s.LookupKey(context.Background(), hash)
	switch {
	case errors.Is(err, tokenstore.ErrNotFound):
		return "unknown"
	case err != nil:
		t.Fatal(err)
	case rec.Usable(now):
		return "usable"
	}
	return "refused"
}

func TestRoll(t *testing.T) {
	ctx := context.Background()
	s, _, now := newStore(t)
	tok := newToken("env1", "alice", "Zapier Sync", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}

	// A grace: both keys work until it ends; the count is unchanged.
	first := newKey("cbk_…new1")
	rolled, err := s.Roll(ctx, tok, first, time.Hour, alice)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "env1", tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hint != "cbk_…new1" || got.PreviousKey == nil || got.PreviousKey.Hint != tok.Hint ||
		!got.PreviousKey.ExpiresAt.Equal(t0.Add(time.Hour)) || got.Name != tok.Name || got.Status != tok.Status {
		t.Fatalf("after a roll: %+v, want the new hint and a previous key until %v", got, t0.Add(time.Hour))
	}
	if rolled.PreviousKey == nil || !rolled.PreviousKey.ExpiresAt.Equal(got.PreviousKey.ExpiresAt) {
		t.Errorf("Roll returned previous key %+v, want the stored %+v", rolled.PreviousKey, got.PreviousKey)
	}
	if n, _ := s.Count(ctx, "env1", "alice"); n != 1 {
		t.Errorf("count after a roll = %d, want 1", n)
	}
	if a, b := lookup(t, s, tok.KeyHash, *now), lookup(t, s, first.Hash, *now); a != "usable" || b != "usable" {
		t.Errorf("during the grace: old key %s, new key %s, want both usable", a, b)
	}
	if got := lookup(t, s, tok.KeyHash, t0.Add(time.Hour)); got != "refused" {
		t.Errorf("old key at the grace's end = %s, want refused", got)
	}

	// The stale copy of the token may not roll: the key changed.
	if _, err := s.Roll(ctx, tok, newKey("cbk_…xxxx"), 0, alice); !errors.Is(err, tokenstore.ErrConflict) {
		t.Errorf("roll of a stale copy = %v, want ErrConflict", err)
	}

	// Rolling again ends the first previous key at once; grace 0 leaves no previous key.
	second := newKey("cbk_…new2")
	if _, err := s.Roll(ctx, got, second, 0, alice); err != nil {
		t.Fatal(err)
	}
	for name, mac := range map[string][]byte{"original": tok.KeyHash, "first": first.Hash} {
		if got := lookup(t, s, mac, *now); got != "unknown" {
			t.Errorf("%s key after a second roll = %s, want unknown", name, got)
		}
	}
	if got := lookup(t, s, second.Hash, *now); got != "usable" {
		t.Errorf("new key = %s, want usable", got)
	}
	cur, _ := s.Get(ctx, "env1", tok.ID)
	if cur.PreviousKey != nil {
		t.Errorf("previous key after a roll with no grace = %+v, want none", cur.PreviousKey)
	}
	page, err := s.ListAudit(ctx, "env1", tok.ID, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	rolls := 0
	for _, r := range page.Records {
		if r.Action == tokenstore.ActionRoll {
			rolls++
		}
	}
	if rolls != 2 {
		t.Errorf("roll records = %d, want 2", rolls)
	}
}

func TestRevokePreviousKeyAndDelete(t *testing.T) {
	ctx := context.Background()
	s, _, now := newStore(t)
	tok := newToken("env1", "alice", "x", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	next := newKey("cbk_…new1")
	rolled, err := s.Roll(ctx, tok, next, 24*time.Hour, alice)
	if err != nil {
		t.Fatal(err)
	}
	// A status change reaches the previous key too.
	off, err := s.SetStatus(ctx, rolled, tokenstore.StatusInactive, alice)
	if err != nil {
		t.Fatal(err)
	}
	if got := lookup(t, s, tok.KeyHash, *now); got != "refused" {
		t.Errorf("previous key of a deactivated token = %s, want refused", got)
	}
	on, err := s.SetStatus(ctx, off, tokenstore.StatusActive, alice)
	if err != nil {
		t.Fatal(err)
	}
	if got := lookup(t, s, tok.KeyHash, *now); got != "usable" {
		t.Errorf("previous key of a reactivated token = %s, want usable", got)
	}
	done, err := s.RevokePreviousKey(ctx, on, alice)
	if err != nil || done.PreviousKey != nil {
		t.Fatalf("RevokePreviousKey = %+v, %v", done.PreviousKey, err)
	}
	if got := lookup(t, s, tok.KeyHash, *now); got != "unknown" {
		t.Errorf("revoked previous key = %s, want unknown", got)
	}
	if again, err := s.RevokePreviousKey(ctx, done, alice); err != nil || again.PreviousKey != nil {
		t.Errorf("revoke again = %+v, %v; want no change", again.PreviousKey, err)
	}

	// Delete takes a running grace's item with it.
	cur, _ := s.Get(ctx, "env1", tok.ID)
	third := newKey("cbk_…new3")
	cur, err = s.Roll(ctx, cur, third, time.Hour, alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, cur, alice); err != nil {
		t.Fatal(err)
	}
	for name, mac := range map[string][]byte{"previous": next.Hash, "current": third.Hash} {
		if got := lookup(t, s, mac, *now); got != "unknown" {
			t.Errorf("%s key after delete = %s, want unknown", name, got)
		}
	}
}

func TestMarkLeaked(t *testing.T) {
	ctx := context.Background()
	s, _, now := newStore(t)
	tok := newToken("env1", "alice", "x", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	rolled, err := s.Roll(ctx, tok, newKey("cbk_…new1"), time.Hour, alice)
	if err != nil {
		t.Fatal(err)
	}
	scanner := tokenstore.Actor{UserID: "github-secret-scanning"}
	leak := tokenstore.Leak{URL: "https://github.com/o/r/blob/x/a.env", Source: "content"}
	got, changed, err := s.MarkLeaked(ctx, rolled, leak, scanner)
	if err != nil || !changed {
		t.Fatalf("MarkLeaked = %v, %v", changed, err)
	}
	stored, _ := s.Get(ctx, "env1", tok.ID)
	if stored.Status != tokenstore.StatusInactive || stored.Leak == nil || stored.Leak.URL != leak.URL ||
		!stored.Leak.ReportedAt.Equal(t0) || stored.PreviousKey != nil || got.Leak == nil {
		t.Fatalf("after the leak: %+v (leak %+v)", stored, stored.Leak)
	}
	if a, b := lookup(t, s, tok.KeyHash, *now), lookup(t, s, rolled.KeyHash, *now); a != "unknown" || b != "refused" {
		t.Errorf("after the leak: previous key %s, current %s; want unknown and refused", a, b)
	}
	if _, changed, err := s.MarkLeaked(ctx, stored, leak, scanner); changed || err != nil {
		t.Errorf("a second report: changed %v, %v; want nothing", changed, err)
	}
	if _, err := s.SetStatus(ctx, stored, tokenstore.StatusActive, alice); !errors.Is(err, tokenstore.ErrKeyLeaked) {
		t.Errorf("activate a leaked token = %v, want ErrKeyLeaked", err)
	}
	// A roll clears the mark, with no grace for the leaked key.
	fresh := newKey("cbk_…new2")
	after, err := s.Roll(ctx, stored, fresh, time.Hour, alice)
	if err != nil {
		t.Fatal(err)
	}
	if after.Leak != nil || after.PreviousKey != nil {
		t.Errorf("after a roll of a leaked key: leak %+v, previous %+v; want neither", after.Leak, after.PreviousKey)
	}
	if got := lookup(t, s, rolled.KeyHash, *now); got != "unknown" {
		t.Errorf("the leaked key after the roll = %s, want unknown", got)
	}
	if _, err := s.SetStatus(ctx, after, tokenstore.StatusActive, alice); err != nil {
		t.Errorf("activate after the roll: %v", err)
	}
	if got := lookup(t, s, fresh.Hash, *now); got != "usable" {
		t.Errorf("the new key after activation = %s, want usable", got)
	}
}

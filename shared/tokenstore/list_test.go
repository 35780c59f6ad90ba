package tokenstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/tokenstore"
)

// Every page of a status filter but the last holds limit tokens, and the last one holds at least
// one: a client that reads only the first page sees the newest matches, whatever mix of statuses
// lies between them. The status changes (deactivate, a leak report, activate again) keep the key
// that lists a token under its status in step.
func TestListStatusPagesAreFull(t *testing.T) {
	ctx := context.Background()
	s, _, now := newStore(t)
	var made []tokenstore.Token
	for i := range 16 {
		user := "alice"
		if i%4 == 3 {
			user = "bob"
		}
		tok := newToken("env1", user, fmt.Sprint("t", i), t0.Add(time.Duration(i)*time.Second))
		if i%5 == 2 {
			exp := t0.Add(time.Minute)
			tok.ExpiresAt = &exp
		}
		if err := s.Create(ctx, tok, 50, alice); err != nil {
			t.Fatal(err)
		}
		made = append(made, tok)
	}
	// Inactive: the oldest ones and a run in the middle, so that a page of active tokens
	// must read past them; t9 is a leaked key's token; t1 was inactive and is active again.
	for _, i := range []int{0, 1, 3, 5, 6, 8} {
		if _, err := s.SetStatus(ctx, made[i], tokenstore.StatusInactive, alice); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.MarkLeaked(ctx, made[9], tokenstore.Leak{URL: "https://example.com/x", Source: "content"}, alice); err != nil {
		t.Fatal(err)
	}
	inactive, err := s.Get(ctx, "env1", made[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, inactive, tokenstore.StatusActive, alice); err != nil {
		t.Fatal(err)
	}
	*now = t0.Add(2 * time.Minute) // t2, t7 and t12 have expired; t7 is bob's

	// want lists, newest first, the tokens the model says match.
	want := func(owner, state string) []string {
		var out []string
		for i := len(made) - 1; i >= 0; i-- {
			tok, err := s.Get(ctx, "env1", made[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			if (owner == "" || tok.UserID == owner) && (state == "" || tok.State(*now) == state) {
				out = append(out, tok.Name)
			}
		}
		return out
	}
	for _, owner := range []string{"", "alice", "bob"} {
		for _, state := range []string{"", "active", "inactive", "expired"} {
			for _, limit := range []int{1, 2, 3, 5} {
				t.Run(fmt.Sprintf("owner=%s,status=%s,limit=%d", owner, state, limit), func(t *testing.T) {
					q := tokenstore.ListQuery{EnvironmentID: "env1", OwnerID: owner, State: state, Limit: limit}
					var got, sizes []string
					for {
						page, err := s.List(ctx, q)
						if err != nil {
							t.Fatal(err)
						}
						for _, tok := range page.Tokens {
							got = append(got, tok.Name)
						}
						sizes = append(sizes, fmt.Sprint(len(page.Tokens)))
						if page.LastKey == nil {
							if len(page.Tokens) == 0 && len(sizes) > 1 {
								t.Errorf("page sizes %v: an empty last page after a cursor", sizes)
							}
							break
						}
						if len(page.Tokens) != limit {
							t.Errorf("page sizes %v: a page with a cursor holds %d, want %d", sizes, len(page.Tokens), limit)
						}
						q.StartKey = page.LastKey
					}
					if w := want(owner, state); !slices.Equal(got, w) {
						t.Errorf("got %v, want %v", got, w)
					}
				})
			}
		}
	}
}

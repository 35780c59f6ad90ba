package handlers_test

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// rollRaceStatuses are the answers a roll may get in a burst, beside allowedStatuses.
var rollRaceStatuses = map[string]bool{
	"roll 200": true, "roll 404 token_not_found": true, "roll 409 conflict": true,
	// A delete that read the token before a roll changed its key refuses, and changes nothing.
	"delete 409 conflict": true,
}

// TestRaceRoll sends rolls at once with each other, with deactivations and activations, and
// then with deletes, as TestRaceTokenActions does for the other actions. After each burst the
// table is whole: one lookup item per token, of the key the token holds; at most one previous
// key, the one the token names; one roll record per roll answered 200; and the key reveal
// shows is the one that works.
func TestRaceRoll(t *testing.T) {
	a := newAPI(t, 20)
	created := a.create(ann, `{"name":"rolled"}`)
	id := created.str("id")
	rolled := 0

	check := func(t *testing.T, res raceResult) tableState {
		t.Helper()
		for status, n := range res.statuses {
			if !allowedStatuses[status] && !rollRaceStatuses[status] {
				t.Errorf("%d× %s, a status no request may get", n, status)
			}
		}
		rolled += res.statuses["roll 200"]
		s := readTable(t, a)
		s.check(t)
		if got := s.audit[id]["roll"]; got != rolled {
			t.Errorf("roll records = %d, want %d (the rolls answered 200)", got, rolled)
		}
		if n := s.counts["env-1/ann"]; n != len(s.tokens) {
			t.Errorf("count = %d, want %d", n, len(s.tokens))
		}
		t.Logf("statuses %v; records %v", res.statuses, s.audit[id])
		return s
	}
	rolls := func(n int, grace string) []raceRequest {
		var reqs []raceRequest
		for range n {
			reqs = append(reqs, raceRequest{"roll", "POST", "/v1/tokens/" + id + "/roll", `{"gracePeriodSeconds":` + grace + `}`})
		}
		return reqs
	}
	shuffle := func(reqs []raceRequest) []raceRequest {
		rand.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
		return reqs
	}

	t.Run("roll × roll", func(t *testing.T) {
		res := burst(a, shuffle(append(rolls(10, "600"), rolls(6, "0")...)))
		check(t, res)
		if res.statuses["roll 200"] < 1 {
			t.Errorf("no roll answered 200: %v", res.statuses)
		}
		key := a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", "").str("key")
		if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 200 {
			t.Errorf("the key reveal shows = %d, want 200", r.status)
		}
	})

	t.Run("roll × deactivate × activate", func(t *testing.T) {
		reqs := append(rolls(8, "600"), mix("d", id, 0, 4, 8, 8, 0)...)
		res := burst(a, shuffle(reqs))
		s := check(t, res)
		acts := s.audit[id]
		want := "active"
		if acts["deactivate"] > acts["activate"] {
			want = "inactive"
		}
		if got := s.tokens[id].Status; got != want {
			t.Errorf("status %s after %d deactivations and %d activations recorded, want %s", got, acts["deactivate"], acts["activate"], want)
		}
	})

	t.Run("roll × delete", func(t *testing.T) {
		reqs := append(rolls(10, "600"), mix("e", id, 0, 0, 2, 2, 6)...)
		res := burst(a, shuffle(reqs))
		s := check(t, res)
		if n := res.statuses["delete 204"]; n > 1 {
			t.Errorf("deletes answered 204 = %d, want at most 1: %v", n, res.statuses)
		}
		_, stored := s.tokens[id]
		if stored != (res.statuses["delete 204"] == 0) {
			t.Fatalf("token stored %v after %d deletes answered 204", stored, res.statuses["delete 204"])
		}
		if stored { // every delete lost to a roll: the token is whole, and a delete now takes it
			if r := a.do(ann, "DELETE", "/v1/tokens/"+id, ""); r.status != 204 {
				t.Fatalf("delete after the burst = %d %s", r.status, r.shown())
			}
			s = readTable(t, a)
			s.check(t)
		}
		if len(s.keys) != 0 || len(s.prevs) != 0 {
			t.Errorf("lookup items left after the delete: %d keys, %d previous keys", len(s.keys), len(s.prevs))
		}
		again := burst(a, rolls(4, "60"))
		for status, n := range again.statuses {
			if !strings.HasSuffix(status, " 404 token_not_found") {
				t.Errorf("roll after the delete: %d× %s, want 404", n, status)
			}
		}
		readTable(t, a).check(t)
	})
}

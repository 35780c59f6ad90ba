package handlers_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// raceRequest is one request of a burst.
type raceRequest struct {
	kind, method, target, body string
}

// raceResult tallies a burst: statuses by kind ("create 201": 9), and what the answers named.
type raceResult struct {
	statuses map[string]int
	created  []string // ids answered 201
	renamed  []string // names answered 200
}

// burst sends every request at once as ann, each from its own goroutine, released together.
func burst(a *api, reqs []raceRequest) raceResult {
	a.t.Helper()
	type answer struct {
		req raceRequest
		r   reply
	}
	out := make(chan answer, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out <- answer{req, a.do(ann, req.method, req.target, req.body)}
		}()
	}
	close(start)
	wg.Wait()
	close(out)
	res := raceResult{statuses: map[string]int{}}
	for ans := range out {
		key := fmt.Sprintf("%s %d", ans.req.kind, ans.r.status)
		if ans.r.status >= 400 {
			key += " " + ans.r.str("code")
		}
		res.statuses[key]++
		switch {
		case ans.req.kind == "create" && ans.r.status == 201:
			res.created = append(res.created, ans.r.str("id"))
		case ans.req.kind == "rename" && ans.r.status == 200:
			res.renamed = append(res.renamed, ans.r.str("name"))
		}
	}
	return res
}

// mix makes n requests of each kind on the token id, in random order, with names unique to the
// burst, so that each rename answered 200 changed the name.
func mix(burstName, id string, creates, renames, deactivates, activates, deletes int) []raceRequest {
	var reqs []raceRequest
	add := func(n int, kind, method, suffix string, body func(i int) string) {
		for i := range n {
			target := "/v1/tokens/" + id + suffix
			if kind == "create" {
				target = "/v1/tokens"
			}
			reqs = append(reqs, raceRequest{kind, method, target, body(i)})
		}
	}
	none := func(int) string { return "" }
	add(creates, "create", "POST", "", func(i int) string { return fmt.Sprintf(`{"name":"%s new %d"}`, burstName, i) })
	add(renames, "rename", "PATCH", "", func(i int) string { return fmt.Sprintf(`{"name":"%s name %d"}`, burstName, i) })
	add(deactivates, "deactivate", "POST", "/deactivate", none)
	add(activates, "activate", "POST", "/activate", none)
	add(deletes, "delete", "DELETE", "", none)
	rand.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
	return reqs
}

// allowedStatuses are the only answers a request of a burst may get: its success, the limit,
// a token gone, or a refusal to apply a change that raced another (nothing written).
var allowedStatuses = map[string]bool{
	"create 201": true, "create 409 token_limit_reached": true,
	"rename 200": true, "rename 404 token_not_found": true, "rename 409 conflict": true,
	"deactivate 200": true, "deactivate 404 token_not_found": true, "deactivate 409 conflict": true,
	"activate 200": true, "activate 404 token_not_found": true, "activate 409 conflict": true,
	"delete 204": true, "delete 404 token_not_found": true,
}

// TestRaceTokenActions sends 50 requests at once on one user and one token, twice: creates,
// renames, deactivates and activates, then the same with deletes among them. After each burst
// the table is whole (every token with its lookup item, the count equal to the tokens held and
// within the limit, one create record per token); there is one rename record per rename
// answered 200; deactivations and activations recorded alternate, so their records differ by
// at most one and agree with the stored status (an activate or deactivate that found the token
// already so answers 200 and records nothing); one delete wins, and the deleted token never
// comes back.
func TestRaceTokenActions(t *testing.T) {
	const limit = 20
	a := newAPI(t, limit)
	shared := a.create(ann, `{"name":"shared"}`)
	id, key := shared.str("id"), shared.str("key")
	held := 1                                  // tokens ann holds
	renamed, deactivated, activated := 0, 0, 0 // changes answered 200 on the shared token

	check := func(t *testing.T, res raceResult) tableState {
		t.Helper()
		for status, n := range res.statuses {
			if !allowedStatuses[status] {
				t.Errorf("%d× %s, a status no request may get", n, status)
			}
		}
		held += len(res.created) - res.statuses["delete 204"]
		renamed += len(res.renamed)
		deactivated += res.statuses["deactivate 200"]
		activated += res.statuses["activate 200"]
		s := readTable(t, a)
		s.check(t)
		if n := s.counts["env-1/ann"]; n != held || n > limit {
			t.Errorf("count = %d, want %d (the creates answered 201), at most %d", n, held, limit)
		}
		for _, c := range res.created {
			if _, ok := s.tokens[c]; !ok {
				t.Errorf("token %s answered 201 is not stored", c)
			}
		}
		acts := s.audit[id]
		if acts["rename"] != renamed {
			t.Errorf("rename records = %d, want %d (the renames answered 200)", acts["rename"], renamed)
		}
		if d := acts["deactivate"] - acts["activate"]; d < 0 || d > 1 {
			t.Errorf("deactivate records %d, activate records %d: they do not alternate", acts["deactivate"], acts["activate"])
		}
		if acts["deactivate"] > deactivated || acts["activate"] > activated {
			t.Errorf("deactivate and activate records %d and %d, more than the %d and %d answered 200", acts["deactivate"], acts["activate"], deactivated, activated)
		}
		t.Logf("statuses %v; records %v", res.statuses, acts)
		return s
	}

	t.Run("creates, renames, deactivates, activates", func(t *testing.T) {
		res := burst(a, mix("first", id, 12, 14, 12, 12, 0))
		s := check(t, res)
		if res.statuses["create 201"] != 12 {
			t.Errorf("creates answered 201 = %d, want 12 (below the limit)", res.statuses["create 201"])
		}
		tok, acts := s.tokens[id], s.audit[id]
		wantStatus := "active"
		if acts["deactivate"] > acts["activate"] {
			wantStatus = "inactive"
		}
		if tok.Status != wantStatus {
			t.Errorf("status %q after %d deactivations and %d activations recorded, want %q", tok.Status, acts["deactivate"], acts["activate"], wantStatus)
		}
		found := false
		for _, n := range res.renamed {
			found = found || n == tok.Name
		}
		if !found {
			t.Errorf("stored name %q is none of the renames answered 200 %v", tok.Name, res.renamed)
		}
	})

	t.Run("with deletes", func(t *testing.T) {
		// The limit leaves 7 slots, 8 if a delete frees one first: creates race the delete.
		res := burst(a, mix("second", id, 10, 12, 10, 10, 8))
		s := check(t, res)
		if res.statuses["delete 204"] != 1 || res.statuses["delete 404 token_not_found"] != 7 {
			t.Errorf("deletes = %v, want one 204 and seven 404", res.statuses)
		}
		if n := res.statuses["create 201"]; n < 7 || n > 8 {
			t.Errorf("creates answered 201 = %d, want 7 or 8", n)
		}
		if _, ok := s.tokens[id]; ok {
			t.Fatal("the deleted token is stored")
		}

		// Never again: every route answers 404 and the key is refused, even while more
		// changes race for it, and nothing is written.
		again := burst(a, mix("third", id, 0, 5, 5, 5, 5))
		for status, n := range again.statuses {
			if !strings.HasSuffix(status, " 404 token_not_found") {
				t.Errorf("after the delete: %d× %s, want 404", n, status)
			}
		}
		for _, r := range allRoutes {
			want := 404
			if r.suffix == "/audit" {
				want = 200 // the history outlives the token
			}
			if got := a.do(ann, r.method, "/v1/tokens/"+id+r.suffix, r.body); got.status != want {
				t.Errorf("%s%s after the delete = %d, want %d", r.method, r.suffix, got.status, want)
			}
		}
		if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 403 {
			t.Errorf("the deleted token's key = %d, want 403", r.status)
		}
		after := readTable(t, a)
		after.check(t)
		if _, ok := after.tokens[id]; ok || after.audit[id]["delete"] != 1 || after.audit[id]["rename"] != renamed {
			t.Errorf("after more changes on the deleted token: stored %v, records %v", ok, after.audit[id])
		}
	})
}

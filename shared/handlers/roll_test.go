package handlers_test

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func TestRollToken(t *testing.T) {
	a := newAPI(t, 50)
	tok := a.create(ann, `{"name":"Zapier Sync"}`)
	id, old := tok.str("id"), tok.str("key")
	if r := a.keyDo(old, "GET", "/v1/me", ""); r.status != 200 {
		t.Fatalf("before the roll: me = %d", r.status)
	}

	// 200: a new key, the previous one for an hour; the token otherwise the same.
	r := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":3600}`)
	if r.status != 200 || r.headers["cache-control"] != "no-store" {
		t.Fatalf("roll = %d %v %s", r.status, r.headers, r.shown())
	}
	key := r.str("key")
	prev, _ := r.body["previousKey"].(map[string]any)
	if key == "" || key == old || r.str("id") != id || r.str("name") != "Zapier Sync" || r.str("status") != "active" ||
		r.str("hint") != "cbk_…"+key[len(key)-4:] || prev["hint"] != "cbk_…"+old[len(old)-4:] || prev["expiresAt"] != "2026-11-25T19:00:00Z" {
		t.Fatalf("roll answer = %s", r.shown())
	}
	var fields []string
	for k := range r.body {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	if got, want := strings.Join(fields, ","), "allowedCidrs,createdAt,environmentId,expiresAt,hint,id,key,lastUsedAt,leak,name,permissions,previousKey,quota,rateLimit,status,type,updatedAt,userId"; got != want {
		t.Errorf("roll answer fields = %s, want %s", got, want)
	}
	if rv := a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", ""); rv.str("key") != key {
		t.Errorf("reveal after the roll shows another key than the new one")
	}
	if n, _ := a.deps.Store.Count(t.Context(), "env-1", "ann"); n != 1 {
		t.Errorf("count after the roll = %d, want 1", n)
	}

	// Both keys work during the grace; the previous one is refused the moment it ends, even
	// with an answer in the authorizer's memory.
	a.advance(time.Hour - 2*time.Second)
	for name, k := range map[string]string{"previous": old, "new": key} {
		if r := a.keyDo(k, "GET", "/v1/me", ""); r.status != 200 || r.str("tokenId") != id {
			t.Errorf("%s key during the grace = %d, want 200 as %s", name, r.status, id)
		}
	}
	a.advance(2 * time.Second)
	if r := a.keyDo(old, "GET", "/v1/me", ""); r.status != 403 {
		t.Errorf("previous key at the grace's end = %d, want 403", r.status)
	}
	if g := a.do(ann, "GET", "/v1/tokens/"+id, ""); g.body["previousKey"] != nil {
		t.Errorf("previousKey after the grace = %v, want null", g.body["previousKey"])
	}

	// Rolling again ends the earlier previous key at once (within the memory TTL).
	second := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":600}`)
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 200 {
		t.Fatalf("the first roll's key in its grace = %d", r.status)
	}
	third := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":600}`)
	a.advance(5 * time.Second)
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 403 {
		t.Errorf("a previous key after another roll = %d, want 403", r.status)
	}
	if r := a.keyDo(second.str("key"), "GET", "/v1/me", ""); r.status != 200 {
		t.Errorf("the latest previous key = %d, want 200", r.status)
	}

	// An admin ends the grace early; grace 0 refuses the replaced key at once.
	if r := a.do(adam, "POST", "/v1/tokens/"+id+"/previous-key/revoke", ""); r.status != 200 || r.body["previousKey"] != nil {
		t.Fatalf("admin revoke = %d %s", r.status, r.shown())
	}
	a.advance(5 * time.Second)
	if r := a.keyDo(second.str("key"), "GET", "/v1/me", ""); r.status != 403 {
		t.Errorf("a revoked previous key = %d, want 403", r.status)
	}
	if r := a.do(ann, "POST", "/v1/tokens/"+id+"/previous-key/revoke", ""); r.status != 200 {
		t.Errorf("revoke without a grace = %d, want 200", r.status)
	}
	if r := a.keyDo(third.str("key"), "GET", "/v1/me", ""); r.status != 200 {
		t.Fatalf("current key = %d", r.status)
	}
	last := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", "")
	if last.status != 200 || last.body["previousKey"] != nil {
		t.Fatalf("roll without a body = %d %s", last.status, last.shown())
	}
	a.advance(5 * time.Second)
	if r := a.keyDo(third.str("key"), "GET", "/v1/me", ""); r.status != 403 {
		t.Errorf("the key a grace-0 roll replaced = %d, want 403", r.status)
	}
	audit := a.do(ann, "GET", "/v1/tokens/"+id+"/audit?limit=100", "")
	acts := map[string]int{}
	items, _ := audit.body["items"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		acts[m["action"].(string)]++
	}
	if acts["roll"] != 4 || acts["revoke_previous_key"] != 1 {
		t.Errorf("audit records = %v, want 4 roll and 1 revoke_previous_key", acts)
	}
	readTable(t, a).check(t)
}

func TestRollTokenRefusals(t *testing.T) {
	a := newAPI(t, 50)
	id := a.create(ann, `{"name":"x"}`).str("id")
	agentToken := "/v1/tokens/" + id
	for _, c := range []struct {
		name   string
		w      who
		path   string
		body   string
		status int
		code   string
	}{
		{"admin rolls an agent's token", adam, agentToken + "/roll", "", 403, "owner_only"},
		{"another agent", carl, agentToken + "/roll", "", 404, "token_not_found"},
		{"another environment", eve, agentToken + "/roll", "", 404, "token_not_found"},
		{"another agent revokes", carl, agentToken + "/previous-key/revoke", "", 404, "token_not_found"},
		{"another environment revokes", eve, agentToken + "/previous-key/revoke", "", 404, "token_not_found"},
		{"negative grace", ann, agentToken + "/roll", `{"gracePeriodSeconds":-1}`, 400, "invalid_grace_period"},
		{"grace past 7 days", ann, agentToken + "/roll", `{"gracePeriodSeconds":604801}`, 400, "invalid_grace_period"},
		{"grace not whole", ann, agentToken + "/roll", `{"gracePeriodSeconds":1.5}`, 400, "invalid_grace_period"},
		{"grace not a number", ann, agentToken + "/roll", `{"gracePeriodSeconds":"1"}`, 400, "invalid_field_type"},
		{"unknown field", ann, agentToken + "/roll", `{"grace":1}`, 400, "unknown_field"},
		{"malformed id", ann, "/v1/tokens/tok_x/roll", "", 400, "invalid_token_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := readTable(t, a)
			r := a.do(c.w, "POST", c.path, c.body)
			if r.status != c.status || r.str("code") != c.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.str("code"), c.status, c.code)
			}
			if after := readTable(t, a); len(after.audit[id]) != len(before.audit[id]) || after.tokens[id].Name != before.tokens[id].Name {
				t.Errorf("a refused request changed the table")
			}
		})
	}
}

// A whole number written with a fraction or an exponent is an integer to JSON Schema, as
// openapi.yaml's gracePeriodSeconds is, and so a valid grace.
func TestRollGraceAsAnyWholeJSONNumber(t *testing.T) {
	a := newAPI(t, 50)
	id := a.create(ann, `{"name":"x"}`).str("id")
	for _, body := range []string{`{"gracePeriodSeconds":967.0}`, `{"gracePeriodSeconds":9.67e2}`} {
		r := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", body)
		if r.status != 200 {
			t.Fatalf("roll with %s = %d %s, want 200", body, r.status, r.str("code"))
		}
		prev, _ := r.body["previousKey"].(map[string]any)
		at, _ := prev["expiresAt"].(string)
		end, err := time.Parse(time.RFC3339, at)
		if err != nil || !end.Equal(a.clock().Add(967*time.Second).Truncate(time.Second)) {
			t.Errorf("roll with %s: previous key ends %v (%v), want 967 s from now", body, end, err)
		}
	}
}

func TestRollIdempotent(t *testing.T) {
	a := newAPI(t, 50)
	id := a.create(ann, `{"name":"x"}`).str("id")
	first := a.doWith(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":60}`, "idempotency-key", "roll-1")
	again := a.doWith(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":60}`, "idempotency-key", "roll-1")
	if first.status != 200 || again.status != 200 || again.headers["idempotent-replayed"] != "true" || again.str("key") != first.str("key") {
		t.Fatalf("roll, repeat = %d, %d %v; want 200 twice, the same key, replayed", first.status, again.status, again.headers)
	}
	other := a.doWith(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":0}`, "idempotency-key", "roll-1")
	if other.status != 409 || other.str("code") != "idempotency_key_reused" {
		t.Errorf("another request with the key = %d %s, want 409 idempotency_key_reused", other.status, other.str("code"))
	}
	if n := readTable(t, a).audit[id]["roll"]; n != 1 {
		t.Errorf("roll records = %d, want 1", n)
	}
}

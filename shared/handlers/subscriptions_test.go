package handlers_test

import (
	"strings"
	"testing"
)

// subscribe is POST /v1/subscriptions with key, which must answer 201.
func (a *api) subscribe(key, body string) reply {
	a.t.Helper()
	r := a.keyDo(key, "POST", "/v1/subscriptions", body)
	if r.status != 201 {
		a.t.Fatalf("subscribe %s: %d %s", body, r.status, r.shown())
	}
	return r
}

func TestSubscriptions201(t *testing.T) {
	a := newAPI(t, 50)
	key := a.create(ann, `{"name":"Zapier"}`).str("key")
	a.coldKeys()
	r := a.subscribe(key, `{"targetUrl":"http://127.0.0.1:9/hook","event":"delivery.received","source":"zapier"}`)
	if !strings.HasPrefix(r.str("secret"), "whsec_") || r.str("event") != "delivery.received" || r.body["source"] != "zapier" ||
		r.headers["cache-control"] != "no-store" {
		t.Errorf("got %s with cache-control %q, want the subscription with its whsec_ secret, no-store", r.shown(), r.headers["cache-control"])
	}
	list := a.keyDo(key, "GET", "/v1/subscriptions", "")
	if list.status != 200 || len(list.body["items"].([]any)) != 1 || strings.Contains(list.raw, "whsec_") || strings.Contains(list.raw, "secret") {
		t.Errorf("list: got %d %s, want the one subscription without its secret", list.status, list.raw)
	}
	// Another key of the same user sees none of it.
	other := a.create(ann, `{"name":"Other"}`).str("key")
	if l := a.keyDo(other, "GET", "/v1/subscriptions", ""); len(l.body["items"].([]any)) != 0 {
		t.Errorf("another key's list: got %s, want empty", l.raw)
	}
	if d := a.keyDo(other, "DELETE", "/v1/subscriptions/"+r.str("id"), ""); d.status != 404 || d.str("code") != "subscription_not_found" {
		t.Errorf("another key's delete: got %d %s, want 404 subscription_not_found", d.status, d.raw)
	}
	if d := a.keyDo(other, "GET", "/v1/subscriptions/"+r.str("id")+"/attempts", ""); d.status != 404 {
		t.Errorf("another key's attempts: got %d %s, want 404", d.status, d.raw)
	}
	if at := a.keyDo(key, "GET", "/v1/subscriptions/"+r.str("id")+"/attempts", ""); at.status != 200 || len(at.body["items"].([]any)) != 0 {
		t.Errorf("attempts: got %d %s, want 200 and none yet", at.status, at.raw)
	}
	if d := a.keyDo(key, "DELETE", "/v1/subscriptions/"+r.str("id"), ""); d.status != 204 {
		t.Errorf("delete: got %d %s, want 204", d.status, d.raw)
	}
	if d := a.keyDo(key, "DELETE", "/v1/subscriptions/"+r.str("id"), ""); d.status != 404 {
		t.Errorf("delete again: got %d %s, want 404", d.status, d.raw)
	}
}

func TestSubscriptions400(t *testing.T) {
	a := newAPI(t, 50)
	key := a.create(ann, `{"name":"Zapier"}`).str("key")
	for _, c := range []struct{ body, code string }{
		{`{"targetUrl":"http://127.0.0.1:9/hook","event":"contact.created"}`, "invalid_event"},
		{`{"targetUrl":"http://127.0.0.1:9/hook"}`, "invalid_event"},
		{`{"event":"key.leaked"}`, "invalid_target_url"},
		{`{"targetUrl":"https://hooks.zapier.com/hooks/1","event":"key.leaked"}`, "invalid_target_url"}, // the local rule: loopback only
		{`{"targetUrl":"http://10.0.0.1/hook","event":"key.leaked"}`, "invalid_target_url"},
		{`{"targetUrl":"http://user:pw@127.0.0.1/hook","event":"key.leaked"}`, "invalid_target_url"},
		{`{"targetUrl":"http://127.0.0.1:9/hook","event":"key.leaked","source":"zapier"}`, "invalid_source"},
		{`{"targetUrl":"http://127.0.0.1:9/hook","event":"delivery.received","source":"Zapier!"}`, "invalid_source"},
		{`{"targetUrl":"http://127.0.0.1:9/hook","event":"delivery.received","secret":"mine"}`, "unknown_field"},
		{`{"targetUrl":7,"event":"key.leaked"}`, "invalid_field_type"},
	} {
		r := a.keyDo(key, "POST", "/v1/subscriptions", c.body)
		if r.status != 400 || r.str("code") != c.code {
			t.Errorf("%s: got %d %s, want 400 %s", c.body, r.status, r.raw, c.code)
		}
	}
	if r := a.keyDo(key, "DELETE", "/v1/subscriptions/sub_nope", ""); r.status != 400 || r.str("code") != "invalid_subscription_id" {
		t.Errorf("malformed id: got %d %s, want 400 invalid_subscription_id", r.status, r.raw)
	}
	if l := a.keyDo(key, "GET", "/v1/subscriptions", ""); len(l.body["items"].([]any)) != 0 {
		t.Errorf("got %s stored after refusals, want nothing", l.raw)
	}
}

// A token holds at most SUBSCRIPTION_LIMIT (3 in these tests); a deleted one frees its slot.
func TestSubscriptions409(t *testing.T) {
	a := newAPI(t, 50)
	key := a.create(ann, `{"name":"Zapier"}`).str("key")
	body := `{"targetUrl":"http://127.0.0.1:9/hook","event":"key.leaked"}`
	var first string
	for i := range 3 {
		if id := a.subscribe(key, body).str("id"); i == 0 {
			first = id
		}
	}
	if r := a.keyDo(key, "POST", "/v1/subscriptions", body); r.status != 409 || r.str("code") != "subscription_limit_reached" {
		t.Fatalf("fourth: got %d %s, want 409 subscription_limit_reached", r.status, r.raw)
	}
	if other := a.create(ann, `{"name":"Other"}`).str("key"); a.keyDo(other, "POST", "/v1/subscriptions", body).status != 201 {
		t.Error("another token of the same user: got refused, want its own limit")
	}
	a.keyDo(key, "DELETE", "/v1/subscriptions/"+first, "")
	a.subscribe(key, body)
	a.coldKeys()
	page := a.keyDo(key, "GET", "/v1/subscriptions?limit=2", "")
	next, _ := page.body["nextCursor"].(string)
	if len(page.body["items"].([]any)) != 2 || next == "" {
		t.Fatalf("first page: got %s, want 2 items and a cursor", page.raw)
	}
	if rest := a.keyDo(key, "GET", "/v1/subscriptions?limit=2&cursor="+next, ""); len(rest.body["items"].([]any)) != 1 || rest.body["nextCursor"] != nil {
		t.Errorf("second page: got %s, want the last one", rest.raw)
	}
}

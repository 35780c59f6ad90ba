package handlers_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/leakreport"
)

// githubScanner is GitHub's side of secret scanning in these tests: a signing key whose public
// key it publishes in GitHub's format over HTTP, and another key it does not publish.
type githubScanner struct {
	signer, stranger *ecdsa.PrivateKey
	id               string
	url              string
}

var (
	scannerOnce sync.Once
	theScanner  *githubScanner
)

// scanner starts the publishing server once for the test binary; it serves until the end.
func scanner(t testing.TB) *githubScanner {
	t.Helper()
	scannerOnce.Do(func() {
		s := &githubScanner{}
		var err error
		if s.signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if s.stranger, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if s.id, err = leakreport.KeyIdentifier(&s.signer.PublicKey); err != nil {
			panic(err)
		}
		doc, err := leakreport.KeysDocument(map[string]*ecdsa.PublicKey{s.id: &s.signer.PublicKey}, s.id)
		if err != nil {
			panic(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("content-type", "application/json")
			w.Write(doc)
		}))
		s.url = srv.URL
		theScanner = s
	})
	return theScanner
}

// keys is a fresh key source for one function, as a cold start has.
func (s *githubScanner) keys() *leakreport.Keys { return leakreport.NewKeys(s.url, http.DefaultClient) }

// report posts body to the secret scanning route as GitHub would, with the key identifier and
// signature headers given ("" leaves a header out).
func (a *api) report(body, keyID, sig string) reply {
	a.t.Helper()
	req := fixture(a.t)
	req.RequestContext.Authorizer = nil
	a.aim(&req, "POST", "/v1/secret-scanning/github", body)
	delete(req.Headers, "authorization")
	if keyID != "" {
		req.Headers["github-public-key-identifier"] = keyID
	}
	if sig != "" {
		req.Headers["github-public-key-signature"] = sig
	}
	return a.send(req)
}

// signed posts body signed by GitHub's published key.
func (a *api) signed(body string) reply {
	a.t.Helper()
	s := scanner(a.t)
	sig, err := leakreport.Sign(s.signer, []byte(body))
	if err != nil {
		a.t.Fatal(err)
	}
	return a.report(body, s.id, sig)
}

func reportOf(keys ...string) string {
	items := make([]map[string]string, 0, len(keys))
	for i, k := range keys {
		items = append(items, map[string]string{"token": k, "type": "apitokens_api_key",
			"url": fmt.Sprintf("https://github.com/octo/repo/blob/abc/config-%d.env", i), "source": "content"})
	}
	b, _ := json.Marshal(items)
	return string(b)
}

func labels(r reply) []string {
	var out []string
	for _, it := range r.list {
		m, _ := it.(map[string]any)
		l, _ := m["label"].(string)
		out = append(out, l)
	}
	return out
}

func TestReportLeaks(t *testing.T) {
	a := newAPI(t, 50)
	tok := a.create(ann, `{"name":"Zapier Sync"}`)
	id, key := tok.str("id"), tok.str("key")
	other := a.create(ann, `{"name":"other"}`).str("key")
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 200 {
		t.Fatalf("before the report: me = %d", r.status)
	}
	unknown, err := a.deps.Format.Generate() // ours in shape, never stored
	if err != nil {
		t.Fatal(err)
	}
	body := reportOf(key, "cbk_not-a-key", unknown)

	// The refusals first: each 4xx, and nothing stored changes.
	s := scanner(t)
	before := readTable(t, a)
	sig, _ := leakreport.Sign(s.signer, []byte(body))
	strangerSig, _ := leakreport.Sign(s.stranger, []byte(body))
	strangerID, _ := leakreport.KeyIdentifier(&s.stranger.PublicKey)
	var many []string
	for range leakreport.MaxItems + 1 {
		many = append(many, unknown)
	}
	manyBody := reportOf(many...)
	manySig, _ := leakreport.Sign(s.signer, []byte(manyBody))
	shapeSig, _ := leakreport.Sign(s.signer, []byte(`{"token":"x"}`))
	changed := []byte(body)
	changed[len(changed)/2] ^= 1
	for _, c := range []struct {
		name, body, id, sig string
		status              int
		code                string
	}{
		{"no headers", body, "", "", 401, "signature_missing"},
		{"no signature", body, s.id, "", 401, "signature_missing"},
		{"one byte changed", string(changed), s.id, sig, 401, "invalid_signature"},
		{"signed by another key under the published id", body, s.id, strangerSig, 401, "invalid_signature"},
		{"signature not base64", body, s.id, "%%%", 401, "invalid_signature"},
		{"an unknown key id", body, strangerID, strangerSig, 401, "unknown_signing_key"},
		{"1,001 items", manyBody, s.id, manySig, 413, "too_many_items"},
		{"not an array", `{"token":"x"}`, s.id, shapeSig, 400, "invalid_report"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := a.report(c.body, c.id, c.sig)
			if r.status != c.status || r.str("code") != c.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.str("code"), c.status, c.code)
			}
		})
	}
	if after := readTable(t, a); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused report changed the table")
	}
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 200 {
		t.Fatalf("after refused reports: me = %d, want 200", r.status)
	}

	// A signed report: one label per item, and the key stops within the memory TTL.
	r := a.signed(body)
	if r.status != 200 || strings.Join(labels(r), ",") != "true_positive,false_positive,false_positive" {
		t.Fatalf("report = %d %s", r.status, r.shown())
	}
	first, _ := r.list[0].(map[string]any)
	if first["token_raw"] != key || first["token_type"] != "apitokens_api_key" {
		t.Errorf("feedback names %v, want the reported key and the token type", first["token_type"])
	}
	a.advance(5 * time.Second)
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 403 {
		t.Errorf("the leaked key 5 s after the report = %d, want 403", r.status)
	}
	if r := a.keyDo(other, "GET", "/v1/me", ""); r.status != 200 {
		t.Errorf("another key of the same user = %d, want 200", r.status)
	}
	g := a.do(ann, "GET", "/v1/tokens/"+id, "")
	leak, _ := g.body["leak"].(map[string]any)
	if g.str("status") != "inactive" || leak["url"] != "https://github.com/octo/repo/blob/abc/config-0.env" || leak["source"] != "content" || leak["reportedAt"] != "2026-11-25T18:00:00Z" {
		t.Errorf("the token after the report = %s", g.shown())
	}
	audit := a.do(ann, "GET", "/v1/tokens/"+id+"/audit", "")
	items, _ := audit.body["items"].([]any)
	rec, _ := items[0].(map[string]any)
	detail, _ := rec["detail"].(map[string]any)
	if rec["action"] != "leak" || detail["url"] != leak["url"] {
		t.Errorf("newest audit record = %v, want the leak with its URL", rec)
	}
	if r := a.do(ann, "POST", "/v1/tokens/"+id+"/activate", ""); r.status != 409 || r.str("code") != "key_leaked" {
		t.Errorf("activate a leaked token = %d %s, want 409 key_leaked", r.status, r.str("code"))
	}

	// The same report again: the same answer, nothing more stored.
	before = readTable(t, a)
	if r := a.signed(body); r.status != 200 || labels(r)[0] != "true_positive" {
		t.Errorf("the report again = %d %s", r.status, r.shown())
	}
	if after := readTable(t, a); !reflect.DeepEqual(after, before) {
		t.Errorf("a repeated report changed the table: %v, was %v", after.audit[id], before.audit[id])
	}

	// A roll gives the token a key again, with no grace for the leaked one; then it activates.
	rolled := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":3600}`)
	if rolled.status != 200 || rolled.body["previousKey"] != nil || rolled.body["leak"] != nil {
		t.Fatalf("roll of a leaked key = %d %s, want 200 without a previous key or leak", rolled.status, rolled.shown())
	}
	if r := a.do(ann, "POST", "/v1/tokens/"+id+"/activate", ""); r.status != 200 {
		t.Fatalf("activate after the roll = %d %s", r.status, r.shown())
	}
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 403 {
		t.Errorf("the leaked key after roll and activate = %d, want 403", r.status)
	}
	if r := a.keyDo(rolled.str("key"), "GET", "/v1/me", ""); r.status != 200 {
		t.Errorf("the new key = %d, want 200", r.status)
	}
	readTable(t, a).check(t)
}

// TestReportLeakDuringGrace reports a rolled token's previous key: its grace ends and the token
// is marked, as for its current key.
func TestReportLeakDuringGrace(t *testing.T) {
	a := newAPI(t, 50)
	tok := a.create(ann, `{"name":"x"}`)
	id, old := tok.str("id"), tok.str("key")
	rolled := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":3600}`)
	if rolled.status != 200 {
		t.Fatalf("roll = %d %s", rolled.status, rolled.shown())
	}
	if r := a.signed(reportOf(old)); r.status != 200 || labels(r)[0] != "true_positive" {
		t.Fatalf("report = %d %s", r.status, r.shown())
	}
	a.advance(5 * time.Second)
	for name, k := range map[string]string{"previous": old, "current": rolled.str("key")} {
		if r := a.keyDo(k, "GET", "/v1/me", ""); r.status != 403 {
			t.Errorf("the %s key after the report = %d, want 403", name, r.status)
		}
	}
	g := a.do(ann, "GET", "/v1/tokens/"+id, "")
	if g.body["previousKey"] != nil || g.body["leak"] == nil {
		t.Errorf("after the report = %s, want no previous key and a leak", g.shown())
	}
	readTable(t, a).check(t)
}

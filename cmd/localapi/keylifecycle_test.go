package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// revocationBound is the longest a refused key may still pass: the authorizer's memory TTL plus
// the gateway's result TTL, the template's defaults.
const revocationBound = 10 * time.Second

// refusedWithin calls /v1/me with key until it is refused, and fails when that takes longer
// than revocationBound from since.
func refusedWithin(t *testing.T, url, key string, since time.Time) {
	t.Helper()
	for {
		r := do(t, "GET", url+"/v1/me", "Bearer "+key, "")
		if r.status == 403 {
			t.Logf("refused %s after the change", time.Since(since).Round(100*time.Millisecond))
			return
		}
		if r.status != 200 {
			t.Fatalf("me = %d %s, want 200 until it is 403", r.status, r.shown())
		}
		if time.Since(since) > revocationBound {
			t.Fatalf("the key still passes %s after the change, past the revocation bound %s", time.Since(since).Round(time.Second), revocationBound)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestKeyLifecycleLocal runs roll and a leak report through the local run in real time: the
// previous key works through its grace and is refused within the revocation bound after it; a
// report signed with the local run's key (as make report-leak sends it) answers true_positive
// and the key is refused within the bound; `make report-leak` prints no key whole.
func TestKeyLifecycleLocal(t *testing.T) {
	srv, out := startServer(t, "")
	agent, err := srv.Mint("ann", "env-1", false)
	if err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + agent
	created := call(t, "POST", srv.URL+"/v1/tokens", auth, `{"name":"Zapier"}`)
	var tok struct{ ID, Key string }
	if err := json.Unmarshal([]byte(created.body), &tok); created.status != 201 || err != nil {
		t.Fatalf("create = %d %s", created.status, created.shown())
	}
	if r := do(t, "GET", srv.URL+"/v1/me", "Bearer "+tok.Key, ""); r.status != 200 {
		t.Fatalf("me = %d", r.status)
	}

	const grace = 3 * time.Second
	rolled := call(t, "POST", srv.URL+"/v1/tokens/"+tok.ID+"/roll", auth, `{"gracePeriodSeconds":3}`)
	rolledAt := time.Now()
	var next struct {
		Key         string
		PreviousKey struct{ ExpiresAt time.Time }
	}
	if err := json.Unmarshal([]byte(rolled.body), &next); rolled.status != 200 || err != nil {
		t.Fatalf("roll = %d %s", rolled.status, rolled.shown())
	}
	if r := do(t, "GET", srv.URL+"/v1/me", "Bearer "+tok.Key, ""); r.status != 200 && time.Since(rolledAt) < grace-time.Second {
		t.Errorf("the previous key during its grace = %d, want 200", r.status)
	}
	time.Sleep(time.Until(next.PreviousKey.ExpiresAt))
	refusedWithin(t, srv.URL, tok.Key, next.PreviousKey.ExpiresAt)
	if r := do(t, "GET", srv.URL+"/v1/me", "Bearer "+next.Key, ""); r.status != 200 {
		t.Fatalf("the new key = %d, want 200", r.status)
	}

	signer, err := loadOrCreateScanKey(filepath.Join(srv.stateDir, scanKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	body, id, sig, err := signedReport(signer, next.Key)
	if err != nil {
		t.Fatal(err)
	}
	status, answer, err := postReport(srv.URL, body, id, sig)
	if err != nil {
		t.Fatal(err)
	}
	reportedAt := time.Now()
	if status != 200 || !strings.Contains(string(answer), `"label":"true_positive"`) {
		t.Fatalf("report = %d %s\n%s", status, keyShaped.ReplaceAllString(string(answer), "${1}…${2}"), out)
	}
	refusedWithin(t, srv.URL, next.Key, reportedAt)
	if r := call(t, "POST", srv.URL+"/v1/tokens/"+tok.ID+"/activate", auth, ""); r.status != 409 || !strings.Contains(r.body, "key_leaked") {
		t.Errorf("activate after the report = %d %s, want 409 key_leaked", r.status, r.shown())
	}
	// One byte changed: refused by the signature, through the real gateway.
	body[len(body)/2] ^= 1
	if status, _, err := postReport(srv.URL, body, id, sig); err != nil || status != 401 {
		t.Errorf("a changed report = %d %v, want 401", status, err)
	}
	// `make report-leak` on the key again: GitHub's feedback array repeats the token whole, and
	// the command prints it by its hint alone.
	var stdout, stderr strings.Builder
	code := reportLeakCommand([]string{"-addr", strings.TrimPrefix(srv.URL, "http://"), "-state", srv.stateDir, next.Key}, &stdout, &stderr)
	printed := stdout.String()
	if code != 0 || !strings.HasPrefix(printed, "200 OK\n") || !strings.Contains(printed, `"label":"true_positive"`) ||
		!strings.Contains(printed, keyShaped.ReplaceAllString(next.Key, "${1}…${2}")) || strings.Contains(printed, next.Key) {
		t.Errorf("report-leak = %d, printed %q %q; want 0, 200 OK and true_positive, the key by its hint only",
			code, keyShaped.ReplaceAllString(printed, "${1}…${2}"), stderr.String())
	}
}

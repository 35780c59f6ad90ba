package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/testkit/secretscan"
)

// TestRestartKeepsData stops the local API and starts it again on the same state folder: a
// token made before the restart is still listed and its key still authenticates, the example
// key is the same; a fresh start forgets both.
func TestRestartKeepsData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the emulator and builds functions")
	}
	state := t.TempDir()
	start := func(fresh bool) *Server {
		t.Helper()
		out := &buffer{}
		srv, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", StateDir: state, Fresh: fresh, Output: out})
		if err != nil {
			t.Fatalf("start: %v\n%s", err, out)
		}
		secretscan.Shared().AddKeyRing(srv.res.KeyRing)
		t.Cleanup(srv.Close)
		return srv
	}
	me := func(srv *Server, key string) (int, string) {
		r := call(t, "GET", srv.URL+"/v1/me", "Bearer "+key, "")
		var m struct{ TokenID string }
		_ = json.Unmarshal([]byte(r.body), &m)
		return r.status, m.TokenID
	}

	// A session names its issuer, whose port changes with each start: mint one per server.
	session := func(srv *Server) string {
		t.Helper()
		s, err := srv.Mint("u-agent", "env-1", false)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	srv := start(false)
	agent := session(srv)
	r := call(t, "POST", srv.URL+"/v1/tokens", "Bearer "+agent, `{"name":"Before the restart"}`)
	var tok struct{ ID, Key string }
	if err := json.Unmarshal([]byte(r.body), &tok); r.status != 201 || err != nil {
		t.Fatalf("create: %d %s", r.status, r.shown())
	}
	example, err := srv.ExampleKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()

	srv = start(false)
	agent = session(srv)
	if status, id := me(srv, tok.Key); status != 200 || id != tok.ID {
		t.Errorf("the key made before the restart: %d %s, want 200 as %s", status, id, tok.ID)
	}
	if r := call(t, "GET", srv.URL+"/v1/tokens", "Bearer "+agent, ""); r.status != 200 || !strings.Contains(r.body, tok.ID) {
		t.Errorf("list after the restart: %d, want the token made before it", r.status)
	}
	if again, err := srv.ExampleKey(context.Background()); err != nil || again != example {
		t.Errorf("example key after the restart: %v; want the same key as before", err)
	}
	// Provisioning again where the table and the secret are finds them and keeps them.
	var stdout, stderr strings.Builder
	if code := provisionCommand([]string{"-endpoint", srv.emu.Endpoint}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "kept as they are") {
		t.Errorf("provision again: exit %d, %q %q; want 0 and the table and secret kept", code, stdout.String(), stderr.String())
	}
	if status, id := me(srv, tok.Key); status != 200 || id != tok.ID {
		t.Errorf("the key after provisioning again: %d %s, want 200 as %s", status, id, tok.ID)
	}
	srv.Close()

	srv = start(true)
	agent = session(srv)
	if status, _ := me(srv, tok.Key); status != 403 {
		t.Errorf("the old key after a fresh start: %d, want 403", status)
	}
	if r := call(t, "GET", srv.URL+"/v1/tokens", "Bearer "+agent, ""); r.status != 200 || strings.Contains(r.body, tok.ID) {
		t.Errorf("list after a fresh start: %d, want no token made before", r.status)
	}
}

package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLeastPrivilegeLocal holds the local run to issue 22's black-box checks: permissions and
// addresses decided by the key authorizer on fresh and cached keys, a handed-over key, a policy
// that tightens, and a user disabled in the identity provider. The caches are shortened to a
// second (template parameters), so that "within 60 s" takes seconds.
func TestLeastPrivilegeLocal(t *testing.T) {
	srv, out := startServerWith(t, Config{Parameters: map[string]string{"PolicyCacheTtl": "1", "AuthorizerMemoryTtl": "1", "AuthorizerResultTtl": "1"}})
	defer func() {
		if t.Failed() {
			t.Logf("output:\n%s", out)
		}
	}()
	session := func(user string, admin bool) string {
		s, err := srv.Mint(user, "env-lp", admin)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	ann, adam, dora := session("ann", false), session("adam", true), session("dora", false)
	create := func(auth, body string) (id, key string) {
		t.Helper()
		return createToken(t, srv.URL, auth, body)
	}
	// refusedWithin calls until the key is refused, for at most d.
	refusedWithin := func(key, path string, d time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < d {
			if r := call(t, "GET", srv.URL+path, "Bearer "+key, ""); r.status == 403 {
				return time.Since(start)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("GET %s with the key: still allowed after %s", path, d)
		return 0
	}

	// A hooks:read key lists deliveries and cannot post one, fresh and cached.
	_, reader := create(ann, `{"name":"reader","permissions":["hooks:read"]}`)
	for _, round := range []string{"fresh", "cached"} {
		if r := call(t, "GET", srv.URL+"/v1/hooks/events", "Bearer "+reader, ""); r.status != 200 {
			t.Errorf("%s: list with hooks:read: %d %s", round, r.status, r.shown())
		}
		if r := call(t, "POST", srv.URL+"/v1/hooks/zapier", "Bearer "+reader, `{"a":1}`); r.status != 403 || r.body != `{"message":"Forbidden"}` {
			t.Errorf("%s: post with hooks:read: %d %s, want the gateway's 403", round, r.status, r.shown())
		}
	}
	if me := call(t, "GET", srv.URL+"/v1/me", "Bearer "+reader, ""); !strings.Contains(me.body, `"permissions":["hooks:read"]`) {
		t.Errorf("/v1/me: %s, want the key's permissions", me.shown())
	}

	// A key limited to 10.0.0.0/8 is refused from 127.0.0.1 whatever X-Forwarded-For says.
	_, office := create(ann, `{"name":"office","allowedCidrs":["10.0.0.0/8"]}`)
	for _, xff := range []string{"", "10.1.2.3", "10.1.2.3, 127.0.0.1"} {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+office)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("10.0.0.0/8 key from 127.0.0.1, X-Forwarded-For %q: %d, want 403", xff, resp.StatusCode)
		}
	}

	// A handed-over key keeps working, and only the new owner may view it.
	id, moved := create(ann, `{"name":"handed over"}`)
	if r := call(t, "POST", srv.URL+"/v1/tokens/"+id+"/transfer", adam, `{"userId":"dora"}`); r.status != 200 {
		t.Fatalf("transfer: %d %s", r.status, r.shown())
	}
	time.Sleep(2 * time.Second) // the caches' second
	if me := call(t, "GET", srv.URL+"/v1/me", "Bearer "+moved, ""); me.status != 200 || !strings.Contains(me.body, `"userId":"dora"`) {
		t.Errorf("the handed-over key: %d %s, want it working as dora's", me.status, me.shown())
	}
	if r := call(t, "POST", srv.URL+"/v1/tokens/"+id+"/reveal", ann, ""); r.status != 404 {
		t.Errorf("the old owner views the key: %d", r.status)
	}
	if r := call(t, "POST", srv.URL+"/v1/tokens/"+id+"/reveal", dora, ""); r.status != 200 || !strings.Contains(r.body, moved) {
		t.Errorf("the new owner views the key: %d", r.status)
	}

	// A maximum lifetime of 30 days refuses a token without expiry; an older full-access agent
	// token is refused within 60 s of the tightening.
	_, older := create(ann, `{"name":"older"}`)
	if r := call(t, "GET", srv.URL+"/v1/me", "Bearer "+older, ""); r.status != 200 {
		t.Fatalf("older key before the policy: %d", r.status)
	}
	if r := call(t, "PUT", srv.URL+"/v1/policy", adam, `{"maxLifetimeDays":30,"agentFullAccess":false}`); r.status != 200 {
		t.Fatalf("put policy: %d %s", r.status, r.shown())
	}
	if r := call(t, "POST", srv.URL+"/v1/tokens", ann, `{"name":"forever","permissions":["hooks:read"]}`); r.status != 400 || !strings.Contains(r.body, `"code":"policy_violation"`) {
		t.Errorf("a token without expiry under a 30-day policy: %d %s", r.status, r.shown())
	}
	t.Logf("older full-access key refused %s after the policy", refusedWithin(older, "/v1/me", time.Minute))

	// Disabling a user in the local identity provider gets their keys refused within 60 s.
	_, doras := create(dora, `{"name":"dora's","permissions":["hooks:read"],"expiresAt":"`+time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)+`"}`)
	if r := call(t, "GET", srv.URL+"/v1/me", "Bearer "+doras, ""); r.status != 200 {
		t.Fatalf("dora's key: %d %s", r.status, r.shown())
	}
	resp, err := http.PostForm(srv.Issuer+"/users/disable", url.Values{"user": {"dora"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("disable dora: %d", resp.StatusCode)
	}
	t.Logf("a disabled user's key refused %s after", refusedWithin(doras, "/v1/me", time.Minute))
}

// createToken creates a token at the API at base with body and returns its id and key.
func createToken(t *testing.T, base, auth, body string) (id, key string) {
	t.Helper()
	r := call(t, "POST", base+"/v1/tokens", auth, body)
	var tok struct{ ID, Key string }
	if err := json.Unmarshal([]byte(r.body), &tok); r.status != 201 || err != nil {
		t.Fatalf("create %s: %d %s", body, r.status, r.shown())
	}
	return tok.ID, tok.Key
}

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// TestZapierApp runs the Zapier app's own tests (integrations/zapier, npm test) against the
// local run: zapier-platform-core's app tester drives the connection test, each trigger's
// subscribe, perform, list and unsubscribe, and the Send webhook action, and the webhooks the
// local run posts to the tests' receiver are verified with the standardwebhooks package, an
// implementation of the signature that is not the sender's. Without Node or the app's
// node_modules (make zapier-deps) it is skipped, except under CI=true, where it fails.
func TestZapierApp(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "integrations", "zapier")
	npm, err := exec.LookPath("npm")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "zapier-platform-core")); err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("npm or the Zapier app's node_modules is missing (make zapier-deps); CI runs the app's tests")
		}
		t.Skip("npm or the Zapier app's node_modules is missing (make zapier-deps)")
	}
	srv, out := startServer(t, "")
	session, err := srv.Mint("zoe", "env-zap", false)
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, "POST", srv.URL+"/v1/tokens", "Bearer "+session, `{"name":"Zapier"}`)
	var tok struct{ Key string }
	if err := json.Unmarshal([]byte(r.body), &tok); r.status != 201 || err != nil {
		t.Fatalf("create: %d %s", r.status, r.shown())
	}
	cmd := exec.Command(npm, "test", "--silent")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "API_URL="+srv.URL, "API_KEY="+tok.Key)
	got, err := cmd.CombinedOutput()
	shown := keyShaped.ReplaceAllString(string(got), "${1}…${2}")
	if err != nil {
		t.Fatalf("npm test: %v\n%s\nlocal run:\n%s", err, shown, out)
	}
	t.Logf("npm test:\n%s", shown)
}

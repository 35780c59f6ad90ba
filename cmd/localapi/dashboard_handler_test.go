package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/cmd/localapi/internal/devidp"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// TestDashboardHandler checks what the local run serves at its root without starting it: the
// page's files, a config.json pointing at the server, and everything else left to the API.
func TestDashboardHandler(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	app, err := samtemplate.Load(filepath.Join(root, "template.yaml"), samtemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := devidp.LoadOrCreateKey(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "http://127.0.0.1:3000", Issuer: "http://127.0.0.1:3000/idp", app: app}
	s.idp = devidp.New(s.Issuer, key)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	h, err := s.withDashboard(root, api)
	if err != nil {
		t.Fatal(err)
	}
	get := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}

	t.Run("200 the page and its files, with the page's headers", func(t *testing.T) {
		for path, want := range map[string]string{"/": "<title>API Tokens</title>", "/js/app.js": "import", "/style.css": "--accent"} {
			w := get("GET", path)
			if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
				t.Errorf("GET %s = %d, want 200 with %q", path, w.Code, want)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || w.Header().Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("GET %s headers = %v, want the CSP and no-referrer", path, w.Header())
			}
		}
	})

	t.Run("200 config.json points at the server and the template's claims", func(t *testing.T) {
		w := get("GET", "/config.json")
		var c DashboardConfig
		if err := json.Unmarshal(w.Body.Bytes(), &c); w.Code != 200 || err != nil {
			t.Fatalf("GET /config.json = %d %s", w.Code, w.Body)
		}
		// The client id is the template's audience: with IdentityProvider create, its own app
		// client, whose Ref the local run reads as the logical id.
		want := DashboardConfig{APIBaseURL: s.URL, Issuer: s.Issuer, ClientID: "DashboardClient", Scopes: "openid", GroupsClaim: "cognito:groups", AdminGroup: "admin"}
		if c != want {
			t.Errorf("config = %+v, want %+v", c, want)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", w.Header().Get("Cache-Control"))
		}
	})

	t.Run("the API gets the rest: routes, other methods, folders, dotfiles, unknown paths", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"GET", "/v1/tokens"}, {"POST", "/"}, {"DELETE", "/index.html"}, {"GET", "/js/"}, {"GET", "/js"},
			{"GET", "/.gitignore"}, {"GET", "/nope"}, {"GET", "/../go.mod"},
		} {
			if w := get(c.method, c.path); w.Code != 299 {
				t.Errorf("%s %s = %d, want the API's answer", c.method, c.path, w.Code)
			}
		}
	})

	t.Run("the provider's sign-in is on", func(t *testing.T) {
		w := httptest.NewRecorder()
		s.idp.ServeHTTP(w, httptest.NewRequest("GET", "/.well-known/openid-configuration", nil))
		if !strings.Contains(w.Body.String(), `"token_endpoint":"http://127.0.0.1:3000/idp/token"`) {
			t.Errorf("discovery = %s, want the token endpoint", w.Body)
		}
	})
}

package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/apitokens/apitokens/cmd/localapi/internal/devidp"
)

// DashboardDir, under the repository root, holds the API Tokens page's static files.
const DashboardDir = "dashboard"

// dashboardSessionTTL is how long a session signed in on the page lasts: an hour, like a
// Cognito ID token.
const dashboardSessionTTL = time.Hour

// DashboardConfig is the page's config.json: where the API and the identity provider are.
type DashboardConfig struct {
	APIBaseURL string `json:"apiBaseUrl"`
	Issuer     string `json:"issuer"`
	ClientID   string `json:"clientId"`
	Scopes     string `json:"scopes"`
	// GroupsClaim and AdminGroup tell the page who is an administrator, as the template tells
	// the functions; the API decides, the page only hides what it would refuse.
	GroupsClaim string `json:"groupsClaim"`
	AdminGroup  string `json:"adminGroup"`
}

// withDashboard turns on the identity provider's sign-in for the page's client and returns a
// handler that serves the page's files and a config.json pointing at this server, and hands
// every other request to api.
func (s *Server) withDashboard(root string, api http.Handler) (http.Handler, error) {
	clientID := ""
	for _, a := range s.app.JWTAuthorizers {
		if len(a.Audience) > 0 {
			clientID = a.Audience[0]
			break
		}
	}
	if clientID == "" {
		return nil, errors.New("the template's JWT authorizer names no audience, the dashboard's client id")
	}
	s.idp.EnableLogin(devidp.Login{
		ClientID: clientID,
		Session: func(user, environment string, admin bool) (devidp.Session, devidp.SessionClaims, error) {
			return sessionFor(s.app, user, environment, admin, dashboardSessionTTL)
		},
	})
	// An administrator's session names the claim and the group the page looks for.
	admin, names, err := sessionFor(s.app, "", "", true, 0)
	if err != nil {
		return nil, err
	}
	config, err := json.Marshal(DashboardConfig{
		APIBaseURL: s.URL, Issuer: s.Issuer, ClientID: clientID, Scopes: "openid",
		GroupsClaim: names.Groups, AdminGroup: admin.Groups[0],
	})
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, DashboardDir)
	files := http.FileServerFS(os.DirFS(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			api.ServeHTTP(w, r)
			return
		}
		switch name := strings.TrimPrefix(path.Clean(r.URL.Path), "/"); {
		case name == "config.json":
			pageHeaders(w)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(config)
		case name == "" || isFile(dir, name):
			pageHeaders(w)
			// Always revalidate, so an edited file shows on the next reload.
			w.Header().Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	}), nil
}

// pageHeaders are the response headers docs/dashboard.md asks a static host to send: the page
// runs its own scripts and styles only, talks only to its own origin here, and is never framed;
// no Referer carries the sign-in code away.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// isFile reports whether name is a regular file of dir (no folder listings, nothing outside it).
func isFile(dir, name string) bool {
	if !fs.ValidPath(name) || strings.HasPrefix(path.Base(name), ".") {
		return false
	}
	info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
	return err == nil && info.Mode().IsRegular()
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// The banner's ready-made identities.
const (
	bannerEnvironment = "local-env"
	bannerAdmin       = "local-admin"
	bannerAgent       = "local-agent"
	exampleTokenFile  = "example-token"
	exampleTokenName  = "make run example"
)

// PrintBanner tells the developer what is served and how to call it: the routes, the emulator,
// the identity provider, and sessions for an admin and an agent as export lines.
func (s *Server) PrintBanner(w io.Writer) {
	fmt.Fprintf(w, "\nAPI Tokens page: %s/ (sign in as any user: the local identity provider asks no password)\n", s.URL)
	fmt.Fprintf(w, "\nAPI Tokens is served on %s\n\n", s.URL)
	s.printRoutes(w)
	fmt.Fprintf(w, "\nAWS emulator %s (table %s, secret %s); data kept in %s\n", s.emu.Endpoint, s.res.TableName, SecretName, filepath.Join(s.stateDir, dataFile))
	fmt.Fprintf(w, "Identity provider %s (discovery: %s/.well-known/openid-configuration)\n", s.Issuer, s.Issuer)
	admin, err1 := s.Mint(bannerAdmin, bannerEnvironment, true)
	agent, err2 := s.Mint(bannerAgent, bannerEnvironment, false)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(w, "Could not mint sessions:", err)
		return
	}
	fmt.Fprintf(w, "\nSessions, valid %s (environment %s):\n\n", strings.TrimSuffix(sessionTTL.String(), "0m0s"), bannerEnvironment)
	fmt.Fprintf(w, "  export API=%s\n", s.URL)
	fmt.Fprintf(w, "  # admin, user %s\n  export ADMIN=%s\n", bannerAdmin, admin)
	fmt.Fprintf(w, "  # agent, user %s\n  export AGENT=%s\n\n", bannerAgent, agent)
	fmt.Fprintf(w, "More: %s\n", s.sessionHint())
	fmt.Fprintf(w, "Each function scales out to %d execution environments (ReservedConcurrentExecutions wins), %s: make envs lists them.\n", s.concurrency, s.idleLabel())
	fmt.Fprintf(w, "Ctrl-C stops everything; the data stays for the next run (make run FRESH=1 starts empty).\n\n")
}

// sessionHint is the command that prints one more session this server accepts: make session
// finds the server's address in the state folder, so only a state folder of its own needs naming.
func (s *Server) sessionHint() string {
	hint := "make session USER=<user> ENVIRONMENT=<environment> ROLE=admin|agent"
	if s.stateDir != filepath.Join(s.root, StateDir) {
		hint += " STATE_DIR=" + s.stateDir
	}
	return hint
}

// idleLabel says when an idle environment is shut down.
func (s *Server) idleLabel() string {
	if s.idleTimeout == 0 {
		return "never shut down"
	}
	d := s.idleTimeout.String()
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return "each shut down after " + d + " without a call"
}

func (s *Server) printRoutes(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  METHOD\tPATH\tFUNCTION\tAUTHORIZER")
	routes := slices.Clone(s.app.Routes)
	slices.SortStableFunc(routes, func(a, b samtemplate.Route) int { return strings.Compare(a.Path, b.Path) })
	for _, r := range routes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Method, r.Path, r.Function, s.authorizerLabel(r.Authorizer))
	}
	tw.Flush()
}

// PrintKey prints the example key as the export line the documentation's examples use.
func (s *Server) PrintKey(w io.Writer, key string) {
	fmt.Fprintf(w, "\nEvery function is up. A key of %s (token %q), for the examples of docs/api.md:\n\n", bannerAgent, exampleTokenName)
	fmt.Fprintf(w, "  export KEY=%s\n\n", key)
	fmt.Fprintf(w, "Try:\n\n")
	fmt.Fprintf(w, "  curl -s \"$API/v1/me\" -H \"Authorization: Bearer $KEY\"\n")
	fmt.Fprintf(w, "  curl -s -X POST \"$API/v1/tokens\" -H \"Authorization: Bearer $AGENT\" -H 'Content-Type: application/json' -d '{\"name\":\"Zapier Sync\"}'\n\n")
}

func (s *Server) authorizerLabel(name string) string {
	switch {
	case name == "":
		return "none"
	case s.app.JWTAuthorizers[name] != nil:
		return name + " (JWT)"
	case s.app.LambdaAuthorizers[name] != nil:
		return name + " (Lambda: " + s.app.LambdaAuthorizers[name].Function + ")"
	}
	return name
}

// ExampleKey returns a working key of the banner's agent through the API itself: the key of the
// token made by an earlier run, revealed again while it still authenticates, or a new token's.
// The token's id (never its key) is kept in the state folder.
func (s *Server) ExampleKey(ctx context.Context) (string, error) {
	agent, err := s.Mint(bannerAgent, bannerEnvironment, false)
	if err != nil {
		return "", err
	}
	idFile := filepath.Join(s.stateDir, exampleTokenFile)
	if id, err := os.ReadFile(idFile); err == nil {
		var revealed struct{ Key string }
		err := s.apiCall(ctx, "POST", "/v1/tokens/"+strings.TrimSpace(string(id))+"/reveal", agent, "", http.StatusOK, &revealed)
		if err == nil && s.apiCall(ctx, "GET", "/v1/me", revealed.Key, "", http.StatusOK, nil) == nil {
			return revealed.Key, nil
		}
	}
	var created struct{ ID, Key string }
	body := fmt.Sprintf(`{"name":%q}`, exampleTokenName)
	if err := s.apiCall(ctx, "POST", "/v1/tokens", agent, body, http.StatusCreated, &created); err != nil {
		return "", fmt.Errorf("create the example token: %w", err)
	}
	return created.Key, os.WriteFile(idFile, []byte(created.ID+"\n"), 0o600)
}

// apiCall calls the local API and decodes its answer into out, which must have status want.
func (s *Server) apiCall(ctx context.Context, method, path, auth, body string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+auth)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d", method, path, resp.StatusCode, want)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

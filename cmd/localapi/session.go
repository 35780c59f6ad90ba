package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/apitokens/apitokens/cmd/localapi/internal/devidp"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// agentGroup is the group an agent's session lists: any group but the template's AdminGroup.
const agentGroup = "agents"

// mintSession signs a session for a dashboard user with the claim names, admin group and
// audience the template gives the JWT authorizer.
func mintSession(idp *devidp.Provider, app *samtemplate.App, user, environment string, admin bool, ttl time.Duration) (string, error) {
	s, names, err := sessionFor(app, user, environment, admin, ttl)
	if err != nil {
		return "", err
	}
	return idp.Mint(s, names, time.Now())
}

// sessionFor describes a dashboard user's session with the claim names, admin group and
// audience the template gives the JWT authorizer.
func sessionFor(app *samtemplate.App, user, environment string, admin bool, ttl time.Duration) (devidp.Session, devidp.SessionClaims, error) {
	param := func(name, def string) string {
		if v := app.Parameters[name]; v != "" {
			return v
		}
		return def
	}
	groups := []string{agentGroup}
	if admin {
		groups = []string{param("AdminGroup", "admin")}
	}
	audience := ""
	for _, a := range app.JWTAuthorizers {
		if len(a.Audience) > 0 {
			audience = a.Audience[0]
			break
		}
	}
	if audience == "" {
		return devidp.Session{}, devidp.SessionClaims{}, errors.New("the template's JWT authorizer names no audience")
	}
	return devidp.Session{User: user, Environment: environment, Groups: groups, Audience: audience, TTL: ttl},
		devidp.SessionClaims{
			Environment: param("EnvironmentClaim", "custom:environment_id"),
			Groups:      param("GroupsClaim", "cognito:groups"),
		}, nil
}

// sessionCommand prints one session, signed with the key the running server uses (the one
// kept in the state folder), so that the server accepts it.
func sessionCommand(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("localapi session", flag.ContinueOnError)
	fl.SetOutput(stderr)
	user := fl.String("user", "", "user id (the sub claim; default: the login name, else "+fallbackUser+")")
	environment := fl.String("environment", "", "environment id")
	role := fl.String("role", "agent", "admin or agent")
	addr := fl.String("addr", "", "address the local API serves on, which names the issuer (default: the address the last local API of the state folder recorded, else "+DefaultAddr+")")
	ttl := fl.Duration("ttl", sessionTTL, "how long the session is valid")
	tmplFlag := fl.String("template", "", "SAM template (default: template.yaml at the repository root)")
	state := fl.String("state", "", "folder of the signing key (default: .localapi at the repository root)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *user == "" {
		*user = loginName()
	}
	if *environment == "" || (*role != "admin" && *role != "agent") {
		fmt.Fprintf(stderr, "localapi session: want -environment (got %q) and -role admin or agent (got %q)\n", *environment, *role)
		return 2
	}
	token, err := mintFromState(*user, *environment, *role == "admin", *addr, *tmplFlag, *state, *ttl, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "localapi session:", err)
		return 1
	}
	fmt.Fprintln(stdout, token)
	return 0
}

// fallbackUser is the session's user where no login name can be found (a container whose user
// has no name, a CI job without $USER).
const fallbackUser = "local-user"

// loginName returns the name of the user running the command: the account's name, else $USER,
// else fallbackUser.
func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return name
	}
	return fallbackUser
}

func mintFromState(user, environment string, admin bool, addr, tmplPath, state string, ttl time.Duration, stderr io.Writer) (string, error) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		return "", err
	}
	if tmplPath == "" {
		tmplPath = filepath.Join(root, "template.yaml")
	}
	if state == "" {
		state = filepath.Join(root, StateDir)
	}
	keyPath := filepath.Join(state, keyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no signing key in %s: start the local API first (make run)", filepath.Dir(keyPath))
	}
	key, err := devidp.LoadOrCreateKey(keyPath)
	if err != nil {
		return "", err
	}
	app, err := samtemplate.Load(tmplPath, samtemplate.Options{})
	if err != nil {
		return "", err
	}
	idp := devidp.New(apiBase(addr, state)+idpPath, key)
	warnIfNotServed(idp, stderr)
	return mintSession(idp, app, user, environment, admin, ttl)
}

// warnIfNotServed tells the developer, on stderr, when the server at the issuer does not
// publish this key, so a refused session is not a mystery.
func warnIfNotServed(idp *devidp.Provider, stderr io.Writer) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(idp.Issuer() + devidp.JWKSPath)
	if err != nil {
		fmt.Fprintf(stderr, "note: the local API does not answer at %s; the session will work once it runs with the same key\n", idp.Issuer())
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if !strings.Contains(string(b), `"`+idp.KeyID()+`"`) {
		fmt.Fprintf(stderr, "warning: the server at %s does not publish this session's key (%s)\n", idp.Issuer(), idp.KeyID())
	}
}

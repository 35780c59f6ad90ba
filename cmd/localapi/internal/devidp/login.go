package devidp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The endpoints of the Authorization Code flow, under the issuer.
const (
	AuthorizePath = "/authorize"
	TokenPath     = "/token"
)

// codeTTL bounds how long an authorization code may wait for its exchange (RFC 6749 §4.1.2
// recommends at most ten minutes; a browser redirect takes well under one).
const codeTTL = time.Minute

// Login turns on the Authorization Code flow with PKCE for one public client.
type Login struct {
	// ClientID is the only client_id the provider accepts.
	ClientID string
	// Session describes the session to sign for a person who signed in on the form.
	Session func(user, environment string, admin bool) (Session, SessionClaims, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// login is the state of the flow: the codes issued and not yet exchanged.
type login struct {
	Login
	mint  func(Session, SessionClaims) (string, error)
	mu    sync.Mutex
	codes map[string]grant
}

// grant is what an authorization code stands for.
type grant struct {
	clientID, redirectURI, challenge, nonce string
	user, environment                       string
	admin                                   bool
	expires                                 time.Time
}

// EnableLogin serves the authorization endpoint (a sign-in form: user, environment, admin or
// agent) and the token endpoint, and names them in the discovery document. The provider is
// for development only: it asks for no password.
func (p *Provider) EnableLogin(l Login) {
	if l.Now == nil {
		l.Now = time.Now
	}
	lg := &login{Login: l, codes: map[string]grant{}}
	lg.mint = func(s Session, names SessionClaims) (string, error) { return p.Mint(s, names, lg.Now()) }
	p.login = lg
}

// verifierPattern is RFC 7636 §4.1's code_verifier; a S256 code_challenge is 43 characters of
// base64url.
var (
	verifierPattern  = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
	challengePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	namePattern      = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
)

// authRequest is an authorization request whose client and redirect URI are known good, so
// that later errors may be sent back to the client (RFC 6749 §4.1.2.1).
type authRequest struct {
	ClientID, RedirectURI, State, Challenge, Nonce, Scope string
}

// parseAuthRequest checks an authorization request. An oauthError is sent back to the client;
// an error means the client or its redirect URI cannot be trusted, and only the person sees it.
func (l *login) parseAuthRequest(q url.Values) (authRequest, *oauthError, error) {
	r := authRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		Challenge: q.Get("code_challenge"), Nonce: q.Get("nonce"), Scope: q.Get("scope"),
	}
	if r.ClientID != l.ClientID {
		return r, nil, errors.New("unknown client_id")
	}
	if err := loopbackRedirect(r.RedirectURI); err != nil {
		return r, nil, err
	}
	switch {
	case q.Get("response_type") != "code":
		return r, &oauthError{"unsupported_response_type", "response_type must be code"}, nil
	case !hasScope(r.Scope, "openid"):
		return r, &oauthError{"invalid_scope", "scope must include openid"}, nil
	case q.Get("code_challenge_method") != "S256" || !challengePattern.MatchString(r.Challenge):
		return r, &oauthError{"invalid_request", "PKCE is required: code_challenge with code_challenge_method S256"}, nil
	}
	return r, nil, nil
}

// loopbackRedirect accepts an http or https URL on a loopback host, as a development client's
// redirect URI: the provider signs sessions for anyone, so it hands codes to this machine only.
func loopbackRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" || u.User != nil {
		return errors.New("redirect_uri must be an absolute http(s) URL without a fragment")
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("redirect_uri must be on this machine (localhost or a loopback address)")
	}
	return nil
}

func hasScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if s == want {
			return true
		}
	}
	return false
}

// oauthError is an OAuth 2.0 error answer.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// redirect sends the client back to its redirect URI with params.
func (r authRequest) redirect(w http.ResponseWriter, req *http.Request, params url.Values) {
	u, _ := url.Parse(r.RedirectURI)
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if r.State != "" {
		q.Set("state", r.State)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, req, u.String(), http.StatusSeeOther)
}

// authorize shows the sign-in form (GET) and issues a code for what it was given (POST).
func (l *login) authorize(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := req.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	r, oerr, untrusted := l.parseAuthRequest(req.Form)
	if untrusted != nil {
		http.Error(w, "sign-in request refused: "+untrusted.Error(), http.StatusBadRequest)
		return
	}
	if oerr != nil {
		r.redirect(w, req, url.Values{"error": {oerr.Code}, "error_description": {oerr.Description}})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if req.Method == http.MethodGet {
		l.form(w, r, "", "local-agent", "local-env", false)
		return
	}
	if req.PostForm.Get("action") == "cancel" {
		r.redirect(w, req, url.Values{"error": {"access_denied"}, "error_description": {"sign-in cancelled"}})
		return
	}
	user, env, admin := req.PostForm.Get("user"), req.PostForm.Get("environment"), req.PostForm.Get("role") == "admin"
	if !namePattern.MatchString(user) || !namePattern.MatchString(env) {
		w.WriteHeader(http.StatusBadRequest)
		l.form(w, r, "User and environment: 1 to 64 letters, digits, dots, dashes, underscores or @.", user, env, admin)
		return
	}
	code := randomString()
	l.mu.Lock()
	now := l.Now()
	for c, g := range l.codes {
		if now.After(g.expires) {
			delete(l.codes, c)
		}
	}
	l.codes[code] = grant{
		clientID: r.ClientID, redirectURI: r.RedirectURI, challenge: r.Challenge, nonce: r.Nonce,
		user: user, environment: env, admin: admin, expires: now.Add(codeTTL),
	}
	l.mu.Unlock()
	r.redirect(w, req, url.Values{"code": {code}})
}

// token exchanges a code and its PKCE verifier for an ID token (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (l *login) token(w http.ResponseWriter, req *http.Request) {
	// The dashboard may be served from another origin than the provider (a static host).
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if req.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "content-type")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	fail := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(oauthError{code, desc})
	}
	if req.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	req.Body = http.MaxBytesReader(w, req.Body, 16<<10)
	if err := req.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", "the body must be a form of at most 16 KiB")
		return
	}
	f := req.PostForm
	if f.Get("grant_type") != "authorization_code" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code")
		return
	}
	if f.Get("client_id") != l.ClientID {
		fail(http.StatusUnauthorized, "invalid_client", "unknown client_id")
		return
	}
	l.mu.Lock()
	g, ok := l.codes[f.Get("code")]
	delete(l.codes, f.Get("code")) // one try per code, right or wrong (RFC 6749 §4.1.2)
	l.mu.Unlock()
	verifier := f.Get("code_verifier")
	switch {
	case !ok || l.Now().After(g.expires):
		fail(http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	case g.clientID != f.Get("client_id") || g.redirectURI != f.Get("redirect_uri"):
		fail(http.StatusBadRequest, "invalid_grant", "client_id or redirect_uri differ from the authorization request")
		return
	case !verifierPattern.MatchString(verifier) || !challengeMatches(verifier, g.challenge):
		fail(http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	s, names, err := l.Session(g.user, g.environment, g.admin)
	if err == nil {
		s.Nonce = g.nonce
	}
	var idToken string
	if err == nil {
		idToken, err = l.mint(s, names)
	}
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", "could not sign the session")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id_token": idToken, "access_token": idToken, "token_type": "Bearer",
		"expires_in": int(s.TTL.Seconds()),
	})
}

// challengeMatches compares BASE64URL(SHA256(verifier)) with the challenge in constant time.
func challengeMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// form renders the sign-in form, carrying the authorization request in hidden fields.
func (l *login) form(w http.ResponseWriter, r authRequest, problem, user, env string, admin bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = formPage.Execute(w, map[string]any{"R": r, "Problem": problem, "User": user, "Env": env, "Admin": admin})
}

var formPage = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · development identity provider</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:24rem;margin:3rem auto;padding:1.5rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.25rem;margin:0 0 .25rem}p.note{color:#555;font-size:.875rem;margin:0 0 1rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #888;border-radius:4px}
fieldset{border:0;padding:0;margin:.75rem 0}legend{font-weight:600}fieldset label{display:inline;font-weight:400;margin-right:1rem}
.problem{color:#a00;font-weight:600}.actions{display:flex;gap:.5rem;margin-top:1.25rem}
button{font:inherit;padding:.5rem 1rem;border-radius:4px;border:1px solid #345;background:#fff;cursor:pointer}button.primary{background:#2451b7;color:#fff;border-color:#2451b7}
:focus-visible{outline:3px solid #f90;outline-offset:2px}
</style></head><body><main>
<h1>Sign in</h1>
<p class="note">Development identity provider of the local run: no password, pick who you are.</p>
{{if .Problem}}<p class="problem" role="alert">{{.Problem}}</p>{{end}}
<form method="post">
<input type="hidden" name="response_type" value="code"><input type="hidden" name="client_id" value="{{.R.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.R.RedirectURI}}"><input type="hidden" name="state" value="{{.R.State}}">
<input type="hidden" name="scope" value="{{.R.Scope}}"><input type="hidden" name="nonce" value="{{.R.Nonce}}">
<input type="hidden" name="code_challenge" value="{{.R.Challenge}}"><input type="hidden" name="code_challenge_method" value="S256">
<label for="user">User</label><input type="text" id="user" name="user" value="{{.User}}" required autocomplete="username">
<label for="environment">Environment</label><input type="text" id="environment" name="environment" value="{{.Env}}" required>
<fieldset><legend>Role</legend>
<input type="radio" id="role-agent" name="role" value="agent"{{if not .Admin}} checked{{end}}><label for="role-agent">Agent</label>
<input type="radio" id="role-admin" name="role" value="admin"{{if .Admin}} checked{{end}}><label for="role-admin">Admin</label>
</fieldset>
<div class="actions"><button class="primary" type="submit" name="action" value="signin" id="signin">Sign in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></div>
</form></main></body></html>
`))

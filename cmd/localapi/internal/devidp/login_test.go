package devidp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// loginServer serves a provider with the login flow on at <server>/idp.
func loginServer(t *testing.T) (*httptest.Server, *Provider) {
	t.Helper()
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p := New(srv.URL+"/idp", key)
	p.EnableLogin(Login{
		ClientID: "apitokens-dashboard",
		Session: func(user, env string, admin bool) (Session, SessionClaims, error) {
			groups := []string{"agents"}
			if admin {
				groups = []string{"admin"}
			}
			return Session{User: user, Environment: env, Groups: groups, Audience: "apitokens-dashboard", TTL: time.Hour},
				SessionClaims{Environment: "custom:environment_id", Groups: "cognito:groups"}, nil
		},
	})
	mux.Handle("/idp/", http.StripPrefix("/idp", p))
	return srv, p
}

// noRedirects is a client that stops at the first redirect, to read where it points.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// discover reads the endpoints from the discovery document, as a client would.
func discover(t *testing.T, issuer string) oauth2.Endpoint {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Authorization string   `json:"authorization_endpoint"`
		Token         string   `json:"token_endpoint"`
		Methods       []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Authorization != issuer+AuthorizePath || doc.Token != issuer+TokenPath || len(doc.Methods) != 1 || doc.Methods[0] != "S256" {
		t.Fatalf("discovery = %+v, want the authorization and token endpoints and S256", doc)
	}
	return oauth2.Endpoint{AuthURL: doc.Authorization, TokenURL: doc.Token, AuthStyle: oauth2.AuthStyleInParams}
}

// signIn loads the form at authURL, submits it as user, and returns the redirect's query.
func signIn(t *testing.T, authURL, user, env, role string) url.Values {
	t.Helper()
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="environment"`) {
		t.Fatalf("GET authorize = %d, want the sign-in form:\n%s", resp.StatusCode, page)
	}
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Set("user", user)
	form.Set("environment", env)
	form.Set("role", role)
	form.Set("action", "signin")
	resp, err = noRedirects.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST authorize = %d, want 303", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

func TestAuthorizationCodeWithPKCE(t *testing.T) {
	srv, p := loginServer(t)
	conf := &oauth2.Config{
		ClientID: "apitokens-dashboard", Endpoint: discover(t, p.Issuer()),
		RedirectURL: "http://127.0.0.1:3000/", Scopes: []string{"openid"},
	}
	ctx := context.Background()

	t.Run("200 an admin signs in and the code buys an ID token", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		q := signIn(t, conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-1")), "ann", "env-9", "admin")
		if q.Get("state") != "st-1" || q.Get("code") == "" {
			t.Fatalf("redirect query = %v, want state st-1 and a code", q)
		}
		tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		idToken, _ := tok.Extra("id_token").(string)
		var claims map[string]any
		decode(t, strings.Split(idToken, ".")[1], &claims)
		if claims["sub"] != "ann" || claims["custom:environment_id"] != "env-9" || claims["nonce"] != "n-1" || claims["iss"] != p.Issuer() {
			t.Errorf("claims = %v, want ann of env-9 with nonce n-1", claims)
		}
		if g, _ := claims["cognito:groups"].([]any); len(g) != 1 || g[0] != "admin" {
			t.Errorf("groups = %v, want [admin]", claims["cognito:groups"])
		}
		// A code is good once.
		if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_grant") {
			t.Errorf("second exchange: %v, want invalid_grant", err)
		}
	})

	t.Run("400 a wrong verifier spends the code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		q := signIn(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "bob", "env-1", "agent")
		if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); !isOAuthError(err, "invalid_grant") {
			t.Errorf("wrong verifier: %v, want invalid_grant", err)
		}
		if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_grant") {
			t.Errorf("right verifier after a wrong one: %v, want invalid_grant", err)
		}
	})

	t.Run("400 no verifier, another redirect_uri", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		q := signIn(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "bob", "env-1", "agent")
		if _, err := conf.Exchange(ctx, q.Get("code")); !isOAuthError(err, "invalid_grant") {
			t.Errorf("no verifier: %v, want invalid_grant", err)
		}
		q = signIn(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "bob", "env-1", "agent")
		other := *conf
		other.RedirectURL = "http://127.0.0.1:3000/other"
		if _, err := other.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_grant") {
			t.Errorf("other redirect_uri: %v, want invalid_grant", err)
		}
	})

	t.Run("302 back to the client: no PKCE, plain PKCE, no openid scope", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		for name, u := range map[string]string{
			"no PKCE":  conf.AuthCodeURL("s"),
			"plain":    conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")),
			"no scope": strings.Replace(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "scope=openid", "scope=email", 1),
		} {
			resp, err := noRedirects.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("error") == "" || loc.Query().Get("code") != "" || loc.Query().Get("state") != "s" {
				t.Errorf("%s: %d %s, want 303 with an error and the state, no code", name, resp.StatusCode, loc)
			}
		}
	})

	t.Run("400 shown, never redirected: unknown client, a redirect off this machine", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		for name, c := range map[string]oauth2.Config{
			"unknown client": {ClientID: "other", Endpoint: conf.Endpoint, RedirectURL: conf.RedirectURL, Scopes: conf.Scopes},
			"remote":         {ClientID: conf.ClientID, Endpoint: conf.Endpoint, RedirectURL: "https://evil.example/cb", Scopes: conf.Scopes},
		} {
			resp, err := noRedirects.Get(c.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("%s: %d Location %q, want 400 and no redirect", name, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})

	t.Run("400 a user name the form refuses issues no code", func(t *testing.T) {
		u, _ := url.Parse(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		form := u.Query()
		form.Set("user", "a b")
		form.Set("environment", "env-1")
		resp, err := noRedirects.PostForm(srv.URL+"/idp"+AuthorizePath, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("bad user: %d, want 400 and the form again", resp.StatusCode)
		}
	})
}

func TestLoginIsOffUntilEnabled(t *testing.T) {
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p := New("http://127.0.0.1:3000/idp", key)
	for _, path := range []string{AuthorizePath, TokenPath} {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != 404 {
			t.Errorf("GET %s = %d, want 404", path, w.Code)
		}
	}
	if doc := p.discovery(); doc["token_endpoint"] != nil {
		t.Errorf("discovery names a token endpoint: %v", doc)
	}
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}

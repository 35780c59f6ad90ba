package devidp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// JWKSPath is where, under the issuer, the provider serves its keys.
const JWKSPath = "/.well-known/jwks.json"

// Provider signs sessions with one RSA key and publishes it.
type Provider struct {
	issuer  string
	key     *rsa.PrivateKey
	kid     string
	login   *login
	disable func(ctx context.Context, user string) (string, error)
}

// DisablePath is where, under the issuer, a user is disabled: the local stand-in for Cognito's
// AdminDisableUser, which the deployed stack answers by suspending the user's tokens.
const DisablePath = "/users/disable"

// OnDisable makes DisablePath serve a form to disable a user, and call f with the user's id when
// it is sent; f says what it did.
func (p *Provider) OnDisable(f func(ctx context.Context, user string) (string, error)) {
	p.disable = f
}

// serveDisable answers DisablePath: a form (GET), or a user disabled (POST user=<id>).
func (p *Provider) serveDisable(w http.ResponseWriter, r *http.Request) {
	if p.disable == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, disableForm)
		return
	}
	user := r.PostFormValue("user")
	if !namePattern.MatchString(user) {
		http.Error(w, "user: 1 to 64 of A-Z a-z 0-9 . _ @ -", http.StatusBadRequest)
		return
	}
	done, err := p.disable(r.Context(), user)
	if err != nil {
		http.Error(w, "disable "+user+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"user": user, "disabled": true, "result": json.RawMessage(done)})
}

const disableForm = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Disable a user</title></head>
<body><main><h1>Disable a user</h1>
<p>As an administrator disabling a user in the identity provider: every token the user holds is suspended.</p>
<form method="post"><label>User <input name="user" required pattern="[A-Za-z0-9._@-]{1,64}"></label>
<button type="submit">Disable</button></form></main></body></html>
`

// New returns a provider that issues tokens as issuer with key.
func New(issuer string, key *rsa.PrivateKey) *Provider {
	return &Provider{issuer: issuer, key: key, kid: Thumbprint(&key.PublicKey)}
}

// Issuer returns the provider's issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

// KeyID returns the kid of the provider's key: its RFC 7638 thumbprint.
func (p *Provider) KeyID() string { return p.kid }

// LoadOrCreateKey reads the PEM (PKCS #8) RSA key at path, or makes a 2048-bit one and writes it
// there readable by the owner only, so that the running server and the session command sign
// with the same key.
func LoadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return parseKey(path, b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	// O_EXCL: should two processes race to create the key, the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	return key, nil
}

func parseKey(path string, b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: not an RSA key", path)
	}
	return key, nil
}

// JWK is one RSA public key in a JWKS.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// PublicJWK returns key as a JWK with the given kid.
func PublicJWK(key *rsa.PublicKey, kid string) JWK {
	return JWK{
		Kty: "RSA", Use: "sig", Alg: "RS256", Kid: kid,
		N: b64(key.N.Bytes()),
		E: b64(big.NewInt(int64(key.E)).Bytes()),
	}
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of key, base64url-encoded.
func Thumbprint(key *rsa.PublicKey) string {
	j := PublicJWK(key, "")
	// RFC 7638: the required members in lexicographic order, no whitespace.
	sum := sha256.Sum256([]byte(`{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`))
	return b64(sum[:])
}

// ServeHTTP serves the discovery document at /.well-known/openid-configuration and the JWKS
// at JWKSPath; mount it under the issuer's path with http.StripPrefix.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var doc any
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		doc = p.discovery()
	case AuthorizePath, TokenPath:
		if p.login == nil {
			http.NotFound(w, r)
		} else if r.URL.Path == AuthorizePath {
			p.login.authorize(w, r)
		} else {
			p.login.token(w, r)
		}
		return
	case DisablePath:
		p.serveDisable(w, r)
		return
	case JWKSPath:
		doc = map[string]any{"keys": []JWK{PublicJWK(&p.key.PublicKey, p.kid)}}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// A dashboard on another origin (a static host) reads these from the browser.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(doc)
}

// discovery is the OpenID Connect discovery document; it names the authorization and token
// endpoints once EnableLogin has turned them on.
func (p *Provider) discovery() map[string]any {
	doc := map[string]any{
		"issuer":                                p.issuer,
		"jwks_uri":                              p.issuer + JWKSPath,
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	}
	if p.login != nil {
		doc["authorization_endpoint"] = p.issuer + AuthorizePath
		doc["token_endpoint"] = p.issuer + TokenPath
		doc["response_types_supported"] = []string{"code"}
		doc["grant_types_supported"] = []string{"authorization_code"}
		doc["code_challenge_methods_supported"] = []string{"S256"}
		doc["token_endpoint_auth_methods_supported"] = []string{"none"}
		doc["scopes_supported"] = []string{"openid", "profile", "email"}
	}
	return doc
}

// Sign returns a compact JWS of claims, signed RS256 with the provider's key.
func (p *Provider) Sign(claims map[string]any) (string, error) {
	return SignRS256(p.key, p.kid, claims)
}

// SignRS256 returns a compact JWS of claims signed with key, its header naming kid.
func SignRS256(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	signing := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signing + "." + b64(sig), nil
}

// SessionClaims names the claims a session carries its environment and groups in: the
// template's EnvironmentClaim and GroupsClaim parameters.
type SessionClaims struct {
	Environment string
	Groups      string
}

// Session is a dashboard user to mint a session for.
type Session struct {
	User        string
	Environment string
	Groups      []string
	Audience    string
	TTL         time.Duration
	// Nonce, when set, is the nonce of the authorization request the session answers.
	Nonce string
}

// Mint returns a signed session for s, shaped like a Cognito ID token.
func (p *Provider) Mint(s Session, names SessionClaims, now time.Time) (string, error) {
	claims := map[string]any{
		"sub":             s.User,
		"iss":             p.issuer,
		"aud":             s.Audience,
		"iat":             now.Unix(),
		"exp":             now.Add(s.TTL).Unix(),
		"token_use":       "id",
		names.Environment: s.Environment,
		names.Groups:      s.Groups,
	}
	if s.Nonce != "" {
		claims["nonce"] = s.Nonce
	}
	return p.Sign(claims)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha256" // RS256
	_ "crypto/sha512" // RS384, RS512
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// KeySource finds the public key a JWT's kid names.
type KeySource interface {
	Key(ctx context.Context, kid string) (*rsa.PublicKey, error)
}

// ErrUnknownKey is returned by a KeySource for a kid it does not have.
var ErrUnknownKey = errors.New("no key with this kid")

// JWTVerifier applies the checks of API Gateway's JWT authorizer to a token.
type JWTVerifier struct {
	Issuer   string
	Audience []string
	Keys     KeySource
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// TokenError is a refused token: the 401 answer's error_description says why.
type TokenError struct{ Description string }

func (e *TokenError) Error() string { return e.Description }

func refuse(format string, args ...any) error {
	return &TokenError{Description: fmt.Sprintf(format, args...)}
}

// Verify checks the value of the identity source (the token alone or after "Bearer ") and
// returns its claims. A refused token is a *TokenError; any other error means the keys could
// not be read.
func (v *JWTVerifier) Verify(ctx context.Context, value string) (map[string]any, error) {
	token := strings.TrimSpace(value)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, refuse("the token is malformed")
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, refuse("the token is malformed")
	}
	hash, ok := rsaHashes[header.Alg]
	if !ok {
		return nil, refuse("signing method %s is invalid", header.Alg)
	}
	key, err := v.Keys.Key(ctx, header.Kid)
	if errors.Is(err, ErrUnknownKey) {
		return nil, refuse("the token's signing key %q is not in the issuer's JWKS", header.Kid)
	}
	if err != nil {
		return nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, refuse("the token is malformed")
	}
	digest := hash.New()
	digest.Write([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(key, hash, digest.Sum(nil), sig) != nil {
		return nil, refuse("the token's signature is invalid")
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil || claims == nil {
		return nil, refuse("the token is malformed")
	}
	if err := v.checkClaims(claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// rsaHashes are the signing methods accepted, as API Gateway's JWT authorizer accepts only
// RSA-based ones: RSASSA-PKCS1-v1_5 with SHA-256, SHA-384 or SHA-512 (RFC 7518 section 3.3).
var rsaHashes = map[string]crypto.Hash{"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512}

func (v *JWTVerifier) checkClaims(claims map[string]any) error {
	if iss, _ := claims["iss"].(string); iss != v.Issuer {
		return refuse("the token does not have a valid issuer")
	}
	// API Gateway reads client_id only when there is no aud.
	var audiences []string
	if aud, ok := claims["aud"]; ok {
		switch a := aud.(type) {
		case string:
			audiences = []string{a}
		case []any:
			for _, s := range a {
				if s, ok := s.(string); ok {
					audiences = append(audiences, s)
				}
			}
		}
	} else if id, ok := claims["client_id"].(string); ok {
		audiences = []string{id}
	}
	if !slices.ContainsFunc(audiences, func(a string) bool { return slices.Contains(v.Audience, a) }) {
		return refuse("the token does not have a valid audience")
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return refuse("the token has no valid exp claim")
	}
	if !now.Before(exp) {
		return refuse("the token has expired")
	}
	if nbf, ok := numericDate(claims["nbf"]); ok && now.Before(nbf) {
		return refuse("the token is not valid yet")
	}
	if iat, ok := numericDate(claims["iat"]); ok && now.Before(iat) {
		return refuse("the token was issued in the future")
	}
	return nil
}

func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(f*float64(time.Second))), true
}

// decodeSegment decodes one base64url segment of a JWT as JSON, numbers kept as json.Number
// so that they are handed on as written.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// StringClaims renders claims as API Gateway hands them to a route: every value a string, an
// array as its elements space-separated in brackets ("[admin agents]"), a number as written.
func StringClaims(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		out[k] = claimString(v)
	}
	return out
}

func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = claimString(p)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// tokenScopes returns the scopes of a token: its scope claim (space-separated) or scp (a list).
func tokenScopes(claims map[string]any) []string {
	if s, ok := claims["scope"].(string); ok {
		return strings.Fields(s)
	}
	if s, ok := claims["scp"].([]any); ok {
		var out []string
		for _, x := range s {
			if x, ok := x.(string); ok {
				out = append(out, x)
			}
		}
		return out
	}
	return nil
}

// Discovery is the KeySource API Gateway uses: the JWKS named by the issuer's OpenID Connect
// discovery document, fetched over HTTP, kept, and fetched again when a token names a kid it
// does not hold (at most once every few seconds).
type Discovery struct {
	Issuer string
	Client *http.Client

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time
}

// refetchAfter bounds how often an unknown kid makes Discovery read the JWKS again.
const refetchAfter = 5 * time.Second

// Key returns the key named kid.
func (d *Discovery) Key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if k, ok := d.keys[kid]; ok {
		return k, nil
	}
	if d.keys != nil && time.Since(d.fetched) < refetchAfter {
		return nil, ErrUnknownKey
	}
	keys, err := d.fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the JWKS of %s: %w", d.Issuer, err)
	}
	d.keys, d.fetched = keys, time.Now()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

func (d *Discovery) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	var conf struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := d.getJSON(ctx, strings.TrimSuffix(d.Issuer, "/")+"/.well-known/openid-configuration", &conf); err != nil {
		return nil, err
	}
	if conf.JWKSURI == "" {
		return nil, errors.New("the discovery document has no jwks_uri")
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := d.getJSON(ctx, conf.JWKSURI, &set); err != nil {
		return nil, err
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) > 4 {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return keys, nil
}

func (d *Discovery) getJSON(ctx context.Context, url string, v any) error {
	client := d.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

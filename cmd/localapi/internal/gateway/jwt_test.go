package gateway

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitokens/apitokens/cmd/localapi/internal/devidp"
)

const testIssuer = "http://127.0.0.1:3000/idp"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func key(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if testKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return testKey
}

type staticKeys map[string]*rsa.PublicKey

func (s staticKeys) Key(_ context.Context, kid string) (*rsa.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

var testNow = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

func verifier(t *testing.T) *JWTVerifier {
	return &JWTVerifier{
		Issuer: testIssuer, Audience: []string{"apitokens-dashboard", "other-client"},
		Keys: staticKeys{"k1": &key(t).PublicKey},
		Now:  func() time.Time { return testNow },
	}
}

func goodClaims() map[string]any {
	return map[string]any{
		"sub": "user-1", "iss": testIssuer, "aud": "apitokens-dashboard",
		"iat": testNow.Add(-time.Minute).Unix(), "exp": testNow.Add(time.Hour).Unix(),
	}
}

func sign(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	tok, err := devidp.SignRS256(key(t), kid, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func with(claims map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for a, b := range claims {
		out[a] = b
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func unsigned(t *testing.T, alg string, claims map[string]any, sign func(string) string) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT", "kid": "k1"})
	p, _ := json.Marshal(claims)
	s := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	return s + "." + sign(s)
}

func TestJWTVerify(t *testing.T) {
	good := sign(t, "k1", goodClaims())
	hs256 := unsigned(t, "HS256", goodClaims(), func(s string) string {
		m := hmac.New(sha256.New, []byte("secret"))
		m.Write([]byte(s))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	})
	none := unsigned(t, "none", goodClaims(), func(string) string { return "" })
	// RSA with another SHA-2, and a header that names one hash over a signature made with another.
	rsaWith := func(alg string, h crypto.Hash) string {
		return unsigned(t, alg, goodClaims(), func(s string) string {
			d := h.New()
			d.Write([]byte(s))
			sig, err := rsa.SignPKCS1v15(rand.Reader, key(t), h, d.Sum(nil))
			if err != nil {
				t.Fatal(err)
			}
			return base64.RawURLEncoding.EncodeToString(sig)
		})
	}
	tampered := strings.Split(good, ".")
	tampered[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","iss":"` + testIssuer + `","aud":"apitokens-dashboard","exp":9999999999}`))

	tests := []struct {
		name, value string
		wantRefusal string // "" means accepted
	}{
		{"good with Bearer", "Bearer " + good, ""},
		{"good alone", good, ""},
		{"good with lower-case bearer", "bearer " + good, ""},
		{"aud in a list", "Bearer " + sign(t, "k1", with(goodClaims(), "aud", []string{"x", "other-client"})), ""},
		{"client_id without aud", "Bearer " + sign(t, "k1", with(with(goodClaims(), "aud", nil), "client_id", "apitokens-dashboard")), ""},
		{"expired", "Bearer " + sign(t, "k1", with(goodClaims(), "exp", testNow.Add(-time.Second).Unix())), "the token has expired"},
		{"no exp", "Bearer " + sign(t, "k1", with(goodClaims(), "exp", nil)), "the token has no valid exp claim"},
		{"nbf in the future", "Bearer " + sign(t, "k1", with(goodClaims(), "nbf", testNow.Add(time.Minute).Unix())), "the token is not valid yet"},
		{"nbf in the past", "Bearer " + sign(t, "k1", with(goodClaims(), "nbf", testNow.Add(-time.Minute).Unix())), ""},
		{"iat in the future", "Bearer " + sign(t, "k1", with(goodClaims(), "iat", testNow.Add(time.Minute).Unix())), "the token was issued in the future"},
		{"wrong iss", "Bearer " + sign(t, "k1", with(goodClaims(), "iss", "https://evil.example.com")), "the token does not have a valid issuer"},
		{"wrong aud", "Bearer " + sign(t, "k1", with(goodClaims(), "aud", "someone-else")), "the token does not have a valid audience"},
		{"client_id ignored when aud is there", "Bearer " + sign(t, "k1", with(with(goodClaims(), "aud", "someone-else"), "client_id", "apitokens-dashboard")), "the token does not have a valid audience"},
		{"wrong client_id without aud", "Bearer " + sign(t, "k1", with(with(goodClaims(), "aud", nil), "client_id", "someone-else")), "the token does not have a valid audience"},
		{"unknown kid", "Bearer " + sign(t, "k2", goodClaims()), `the token's signing key "k2" is not in the issuer's JWKS`},
		{"HS256", "Bearer " + hs256, "signing method HS256 is invalid"},
		{"none", "Bearer " + none, "signing method none is invalid"},
		{"RS384", "Bearer " + rsaWith("RS384", crypto.SHA384), ""},
		{"RS512", "Bearer " + rsaWith("RS512", crypto.SHA512), ""},
		{"RS512 header, SHA-256 signature", "Bearer " + rsaWith("RS512", crypto.SHA256), "the token's signature is invalid"},
		{"PS256", "Bearer " + rsaWith("PS256", crypto.SHA256), "signing method PS256 is invalid"},
		{"tampered payload", "Bearer " + strings.Join(tampered, "."), "the token's signature is invalid"},
		{"not a JWT", "Bearer abc", "the token is malformed"},
		{"API key", "Bearer cbk_0123456789abcdef", "the token is malformed"},
	}
	v := verifier(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Verify(context.Background(), tt.value)
			if tt.wantRefusal == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want accepted", err)
				}
				if claims["sub"] != "user-1" {
					t.Errorf("sub = %v, want user-1", claims["sub"])
				}
				return
			}
			var refused *TokenError
			if !errors.As(err, &refused) {
				t.Fatalf("Verify = %v, %v; want refused with %q", claims, err, tt.wantRefusal)
			}
			if refused.Description != tt.wantRefusal {
				t.Errorf("refusal = %q, want %q", refused.Description, tt.wantRefusal)
			}
		})
	}
}

func TestStringClaims(t *testing.T) {
	tok := sign(t, "k1", map[string]any{
		"sub": "u1", "iss": testIssuer, "aud": "apitokens-dashboard", "exp": testNow.Add(time.Hour).Unix(),
		"cognito:groups": []string{"admin", "agents"}, "single": []string{"admin"}, "empty": []string{},
		"ratio": 1.5, "flag": true, "nested": map[string]any{"a": 1},
	})
	claims, err := verifier(t).Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	got := StringClaims(claims)
	want := map[string]string{
		"sub": "u1", "cognito:groups": "[admin agents]", "single": "[admin]", "empty": "[]",
		"exp": strconv.FormatInt(testNow.Add(time.Hour).Unix(), 10), "ratio": "1.5", "flag": "true", "nested": `{"a":1}`,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("claim %s = %q, want %q", k, got[k], w)
		}
	}
}

func TestDiscoveryReadsTheIssuersJWKS(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	idp := devidp.New(srv.URL+"/idp", key(t))
	mux.Handle("/idp/", http.StripPrefix("/idp", idp))

	d := &Discovery{Issuer: idp.Issuer()}
	got, err := d.Key(context.Background(), idp.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(&key(t).PublicKey) {
		t.Error("the key read from the JWKS differs from the provider's")
	}
	if _, err := d.Key(context.Background(), "nope"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown kid: got %v, want ErrUnknownKey", err)
	}
}

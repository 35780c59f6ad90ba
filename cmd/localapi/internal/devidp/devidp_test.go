package devidp

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateKeyKeepsOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "idp-key.pem")
	first, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode = %o, want 600", got)
	}
	if first.N.BitLen() != 2048 {
		t.Errorf("key size = %d bits, want 2048", first.N.BitLen())
	}
	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Equal(first) {
		t.Error("the second load made another key, want the stored one")
	}
}

func TestMintAndPublish(t *testing.T) {
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p := New("http://127.0.0.1:3000/idp", key)
	now := time.Unix(1_800_000_000, 0)
	tok, err := p.Mint(Session{User: "u1", Environment: "e1", Groups: []string{"admin"}, Audience: "apitokens-dashboard", TTL: time.Hour},
		SessionClaims{Environment: "custom:environment_id", Groups: "cognito:groups"}, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	var header map[string]string
	decode(t, parts[0], &header)
	if header["alg"] != "RS256" || header["kid"] != p.KeyID() {
		t.Errorf("header = %v, want RS256 and kid %s", header, p.KeyID())
	}
	var claims map[string]any
	decode(t, parts[1], &claims)
	if claims["sub"] != "u1" || claims["custom:environment_id"] != "e1" || claims["aud"] != "apitokens-dashboard" ||
		claims["iss"] != p.Issuer() || claims["exp"] != float64(now.Add(time.Hour).Unix()) {
		t.Errorf("claims = %v", claims)
	}
	if g, _ := claims["cognito:groups"].([]any); len(g) != 1 || g[0] != "admin" {
		t.Errorf("groups = %v, want [admin]", claims["cognito:groups"])
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature: %v", err)
	}

	for path, want := range map[string]string{
		"/.well-known/openid-configuration": `"jwks_uri":"http://127.0.0.1:3000/idp/.well-known/jwks.json"`,
		JWKSPath:                            `"kid":"` + p.KeyID() + `"`,
	} {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s = %d %s, want it to hold %s", path, w.Code, w.Body.String(), want)
		}
	}
}

func decode(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

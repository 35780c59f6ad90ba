package cursor

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/apitokens/apitokens/shared/fault"
	"github.com/apitokens/apitokens/shared/keyring"
)

// MaxLen bounds the cursor text accepted from a URL.
const MaxLen = 1024

// ErrInvalid reports a cursor that is malformed, tampered with, or not this query's.
var ErrInvalid = fault.Domain("invalid cursor", http.StatusBadRequest, "invalid_cursor", "The cursor is not valid for this request.")

// Scope joins what a cursor is bound to: the route and everything that limits what the caller
// reads. A cursor opens only under the same scope.
func Scope(parts ...string) []byte {
	return keyring.BindingAAD(parts...)
}

// Encode seals a page's last key, or returns "" when there is no next page.
func Encode(ring *keyring.Ring, scope []byte, key map[string]string) (string, error) {
	if key == nil {
		return "", nil
	}
	plain, err := json.Marshal(key)
	if err != nil {
		return "", err
	}
	sealed, err := ring.Current().SealCursor(plain, scope)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Decode opens a cursor made by Encode under the same scope.
func Decode(ring *keyring.Ring, scope []byte, s string) (map[string]string, error) {
	// Only the URL-safe alphabet: Go's decoder also skips CR and LF, so a cursor with a line
	// break slipped in would open as if it were the one handed out.
	if s == "" || len(s) > MaxLen || strings.IndexFunc(s, notURLSafe) >= 0 {
		return nil, ErrInvalid
	}
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, ErrInvalid
	}
	plain, err := ring.OpenCursor(sealed, scope)
	if err != nil {
		return nil, ErrInvalid
	}
	var key map[string]string
	if err := json.Unmarshal(plain, &key); err != nil || len(key) == 0 {
		return nil, ErrInvalid
	}
	return key, nil
}

func notURLSafe(r rune) bool {
	return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_')
}

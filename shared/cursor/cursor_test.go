package cursor

import (
	"errors"
	"reflect"
	"regexp"
	"testing"

	"github.com/apitokens/apitokens/shared/keyring"
)

const ringJSON = `{"current":"k1","k1":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`

func ring(t testing.TB) *keyring.Ring {
	r, err := keyring.Parse([]byte(ringJSON))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	r := ring(t)
	scope := Scope("tokens", "env1", "ann", "ann", "")
	key := map[string]string{"pk": "ENV#env1", "sk": "TOKEN#tok_1"}
	s, err := Encode(r, scope, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(r, scope, s)
	if err != nil || !reflect.DeepEqual(got, key) {
		t.Fatalf("Decode = %v, %v, want %v", got, err, key)
	}
	if empty, _ := Encode(r, scope, nil); empty != "" {
		t.Errorf("Encode(nil) = %q, want empty (no next page)", empty)
	}
}

func TestDecodeRefuses(t *testing.T) {
	r := ring(t)
	scope := Scope("tokens", "env1", "ann", "ann", "")
	s, _ := Encode(r, scope, map[string]string{"pk": "ENV#env1", "sk": "TOKEN#tok_1"})
	flipped := []byte(s)
	flipped[5] ^= 1
	if flipped[5] == '=' || flipped[5] == '+' || flipped[5] == '/' {
		flipped[5] = 'A'
	}
	cases := map[string]struct {
		scope []byte
		s     string
	}{
		"edited":         {scope, string(flipped)},
		"another caller": {Scope("tokens", "env1", "carl", "carl", ""), s},
		"another env":    {Scope("tokens", "env2", "ann", "ann", ""), s},
		"another filter": {Scope("tokens", "env1", "ann", "ann", "active"), s},
		"another route":  {Scope("audit", "env1", "ann", "ann", ""), s},
		"plain json":     {scope, `{"pk":"ENV#env1"}`},
		"empty":          {scope, ""},
		"too long":       {scope, s + string(make([]byte, MaxLen))},
		"truncated":      {scope, s[:10]},
		"padded base64":  {scope, s + "=="},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got, err := Decode(r, c.scope, c.s); !errors.Is(err, ErrInvalid) || got != nil {
				t.Errorf("Decode = %v, %v, want nil, ErrInvalid", got, err)
			}
		})
	}
}

// urlSafe is the alphabet of a cursor: unpadded URL-safe base64 (RFC 4648 section 5).
var urlSafe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// FuzzDecode feeds Decode any text. It refuses with ErrInvalid whatever this package did not
// seal; what it opens is exactly the key it sealed; and no text opens under two scopes, so a
// cursor never reaches past the query it was made for.
func FuzzDecode(f *testing.F) {
	r := ring(f)
	scope := Scope("tokens", "env1", "ann", "ann", "")
	other := Scope("tokens", "env1", "ann", "ann", "active")
	key := map[string]string{"pk": "ENV#env1", "sk": "TOKEN#tok_1"}
	good, err := Encode(r, scope, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good + "A")
	f.Add("")
	f.Add("AAAA")
	f.Add(good[:3] + "\n" + good[3:])
	f.Add(good[:3] + "\r" + good[3:])
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Decode(r, scope, s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || got != nil {
				t.Fatalf("Decode(%q) = %v, %v, want nil, ErrInvalid", s, got, err)
			}
		} else if !urlSafe.MatchString(s) || !reflect.DeepEqual(got, key) {
			// Only a cursor this package sealed opens (each fuzzing process seals its own, so not
			// only good), and only as written: unpadded URL-safe base64, nothing slipped in.
			t.Fatalf("Decode(%q) = %v, want ErrInvalid unless it is a sealed cursor", s, got)
		}
		if again, otherErr := Decode(r, other, s); err == nil && otherErr == nil {
			t.Fatalf("Decode(%q) opened under two scopes: %v", s, again)
		}
	})
}

package cursor

import (
	"errors"
	"reflect"
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

func FuzzDecode(f *testing.F) {
	r := ring(f)
	scope := Scope("tokens", "env1", "ann", "ann", "")
	good, _ := Encode(r, scope, map[string]string{"pk": "ENV#env1", "sk": "TOKEN#tok_1"})
	f.Add(good)
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := Decode(r, scope, s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || key != nil {
				t.Fatalf("Decode = %v, %v", key, err)
			}
			return
		}
		// Only a cursor this package sealed may open; the fuzzer cannot forge one.
		if s != good {
			t.Fatalf("Decode accepted a cursor it did not make: %q", s)
		}
	})
}

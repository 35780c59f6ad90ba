package authorizer

import (
	"strings"
	"testing"

	"github.com/apitokens/apitokens/shared/apikey"
)

func TestBearerKey(t *testing.T) {
	cases := map[string]string{
		"Bearer cbk_x":   "cbk_x",
		"bearer cbk_x":   "cbk_x",
		"BEARER  cbk_x ": "cbk_x",
		" Bearer cbk_x":  "cbk_x",
		"Basic cbk_x":    "",
		"cbk_x":          "",
		"Bearer":         "",
		"Bearer ":        "",
		"":               "",
		"Bearercbk_x":    "",
		"Token cbk_x":    "",
		"Bearer\tcbk_x":  "",
	}
	for in, want := range cases {
		if got := BearerKey(in); got != want {
			t.Errorf("BearerKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzHeader feeds the authorizer's header handling anything: it must never accept a key the
// format refuses, and a key it returns always came from the header after "Bearer ".
func FuzzHeader(f *testing.F) {
	format, _ := apikey.NewFormat(apikey.DefaultPrefix)
	key, _ := format.Generate()
	for _, seed := range []string{"Bearer " + key, "bearer " + key, "Basic " + key, key, "Bearer", "", "Bearer " + key + " x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		k := BearerKey(header)
		if k == "" {
			return
		}
		if !strings.Contains(header, k) || strings.ContainsAny(k[:1], " \t") {
			t.Fatalf("BearerKey(%q) = %q, not taken from the header", header, k)
		}
		if err := format.Parse(k); err == nil && len(k) != format.Len() {
			t.Fatalf("Parse accepted %q of the wrong length", k)
		}
	})
}

package secretscan_test

import (
	"strings"
	"testing"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/testkit/secretscan"
)

func TestScanner(t *testing.T) {
	format, err := apikey.NewFormat(apikey.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	key, err := format.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := secretscan.New(format.Pattern())
	if err != nil {
		t.Fatal(err)
	}
	material := strings.Repeat("Zq8", 22)
	s.AddKeyRing(`{"current":"k1","k1":"` + material + `"}`)
	session := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJlLWJ5dGVz"

	tests := []struct {
		name, text string
		want       []string // the kinds found, in order
	}{
		{"clean log line", `{"level":"INFO","msg":"request","status":201,"tokenId":"tok_01JDQ7Z8W5K3N2M1P0Q9R8S7T6"}`, nil},
		{"hint only", `{"hint":"cbk_…x7Qa"}`, nil},
		{"a key", `{"msg":"oops","key":"` + key + `"}`, []string{"an API key"}},
		{"a key in a URL", `GET /v1/me?key=` + key + ` 200`, []string{"an API key"}},
		{"a session", `authorization: Bearer ` + session, []string{"a session token"}},
		{"ring material", `secret=` + material, []string{"key ring material"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found := s.Body("body", tt.text)
			if len(found) != len(tt.want) {
				t.Fatalf("got %d findings %v, want %v", len(found), found, tt.want)
			}
			for i, f := range found {
				if !strings.HasSuffix(f, tt.want[i]) {
					t.Errorf("got %q, want it to end with %q", f, tt.want[i])
				}
				if strings.Contains(f, key) || strings.Contains(f, session) || strings.Contains(f, material) {
					t.Errorf("a finding quotes the secret")
				}
			}
		})
	}
	if got := s.Log("logs", "clean\n\nholds "+key+"\nclean\n"); len(got) != 1 || got[0] != "logs line 3 holds an API key" {
		t.Errorf("got %v, want one finding on line 3", got)
	}
	if got, want := s.Summary(), "secret scan: 3 log lines and 6 error bodies scanned, 5 findings"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	redact := []struct{ text, want string }{
		{`'` + key + `' does not match pattern`, `'[API key]' does not match pattern`},
		{"Bearer " + session + ", secret=" + material, "Bearer [session token], secret=[key ring material]"},
		{`{"hint":"cbk_…x7Qa"}`, `{"hint":"cbk_…x7Qa"}`},
	}
	for _, r := range redact {
		if got := s.Redact(r.text); got != r.want {
			t.Errorf("Redact: got %q, want %q", s.Redact(got), r.want)
		}
	}
}

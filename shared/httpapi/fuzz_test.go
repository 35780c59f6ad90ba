package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzBody feeds Body any text, as sent or as API Gateway's base64, against a small limit: a
// body within the limit comes back byte for byte, base64 included; one over it is a 413; text
// that is not base64 is a 400 invalid_body.
func FuzzBody(f *testing.F) {
	const limit = 64
	f.Add(`{"event":"x"}`, false)
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"event":"x"}`)), true)
	f.Add(strings.Repeat("a", limit), false)
	f.Add(strings.Repeat("a", limit+1), false)
	f.Add(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, limit)), true)
	f.Add(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, limit+1)), true)
	f.Add("e30", true)
	f.Add("e30=\n", true)
	f.Add("!!!", true)
	codeOf := func(err error) string {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		return e.Code
	}
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		// Any bytes, sent base64-encoded, come back as they were.
		got, err := Body(Request{Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true}, limit)
		switch {
		case len(body) <= limit && (err != nil || string(got) != body):
			t.Fatalf("Body(base64 of %q) = %q, %v, want it back", body, got, err)
		case len(body) > limit && codeOf(err) != "body_too_large":
			t.Fatalf("Body(base64 of %d bytes) = %v, want body_too_large", len(body), err)
		}

		got, err = Body(Request{Body: body, IsBase64Encoded: b64}, limit)
		if !b64 {
			if len(body) <= limit && (err != nil || string(got) != body) || len(body) > limit && codeOf(err) != "body_too_large" {
				t.Fatalf("Body(%d bytes) = %q, %v", len(body), got, err)
			}
			return
		}
		want, decodeErr := base64.StdEncoding.DecodeString(body)
		switch code := codeOf(err); {
		case err == nil:
			if decodeErr != nil || !bytes.Equal(got, want) || len(got) > limit {
				t.Fatalf("Body(%q) = %q, want %q (%v) within %d bytes", body, got, want, decodeErr, limit)
			}
		case code == "body_too_large":
			if len(want) <= limit && len(body) <= base64.StdEncoding.EncodedLen(limit) {
				t.Fatalf("Body(%q) refused as too large; it holds %d bytes", body, len(want))
			}
		case code == "invalid_body":
			if decodeErr == nil {
				t.Fatalf("Body(%q) refused as invalid base64", body)
			}
		default:
			t.Fatalf("Body(%q) = %v, want nil, body_too_large or invalid_body", body, err)
		}
	})
}

// idRule is what a user or environment id may be: 1 to 128 characters of UTF-8 without "#" or
// a C0 or DEL control character.
func idRule(s string) bool {
	if !utf8.ValidString(s) || s == "" || utf8.RuneCountInString(s) > 128 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r == '#' || r < 0x20 || r == 0x7f })
}

// FuzzSession feeds Session any sub, environment and groups claims. It refuses ids off idRule
// and otherwise answers exactly the claims it was given, with admin only when the admin group is named; and a list of groups
// reaches it as API Gateway writes an array claim ("[a b]"), as a JSON array, or as a bare
// value, each of them meaning admin exactly when the list holds "admin".
func FuzzSession(f *testing.F) {
	f.Add("ann", "env-1", "[agents admin]")
	f.Add("ann", "env-1", `["admin","agents"]`)
	f.Add("ann", "env-1", "admin")
	f.Add("ann", "env-1", "[administrators]")
	f.Add("ann", "env-1", "[admin,agents]")
	f.Add("", "env-1", "[admin]")
	f.Add("ann", "", "")
	f.Fuzz(func(t *testing.T, sub, env, groups string) {
		claims := map[string]string{"sub": sub, "custom:environment_id": env, "cognito:groups": groups}
		p, err := Session(claimsRequest(claims), DefaultClaimNames)
		switch code := ProblemFor(err).Code; {
		case !idRule(sub):
			if code != "unauthenticated" {
				t.Fatalf("sub %q: got %v, want unauthenticated", sub, err)
			}
		case !idRule(env):
			if code != "no_environment" {
				t.Fatalf("environment %q: got %v, want no_environment", env, err)
			}
		case err != nil:
			t.Fatalf("Session(%q, %q, %q) = %v", sub, env, groups, err)
		case p.UserID != sub || p.EnvironmentID != env:
			t.Fatalf("got %+v, want user %q of %q", p, sub, env)
		case p.Admin && !strings.Contains(groups, DefaultClaimNames.AdminGroup):
			t.Fatalf("groups %q made an admin", groups)
		}

		list := strings.FieldsFunc(groups, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_.:@", r)
		})
		want := slices.Contains(list, DefaultClaimNames.AdminGroup)
		forms := []string{"[" + strings.Join(list, " ") + "]"}
		if len(list) > 0 {
			array, err := json.Marshal(list)
			if err != nil {
				t.Fatal(err)
			}
			forms = append(forms, string(array))
		}
		if len(list) == 1 {
			forms = append(forms, list[0])
		}
		for _, form := range forms {
			claims := map[string]string{"sub": "u1", "custom:environment_id": "e1", "cognito:groups": form}
			if p, err := Session(claimsRequest(claims), DefaultClaimNames); err != nil || p.Admin != want {
				t.Fatalf("groups %q: got admin %v, %v, want %v", form, p.Admin, err, want)
			}
		}
	})
}

package permission_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/apitokens/apitokens/shared/permission"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want []string
		err  bool
	}{
		{nil, nil, false},
		{[]string{}, []string{}, false},
		{[]string{"hooks:write", "hooks:read", "hooks:write"}, []string{"hooks:read", "hooks:write"}, false},
		{[]string{"hooks:delete"}, nil, true},
		{[]string{"Hooks:read"}, nil, true},
		{[]string{" hooks:read"}, nil, true},
		{[]string{""}, nil, true},
	} {
		got, err := permission.Parse(c.in)
		if c.err {
			if !errors.Is(err, permission.ErrInvalid) {
				t.Errorf("Parse(%q) = %q, %v, want ErrInvalid", c.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("Parse(%q) = %#v, %v, want %#v", c.in, got, err, c.want)
		}
	}
}

func TestGrants(t *testing.T) {
	for _, c := range []struct {
		held []string
		need string
		want bool
	}{
		{nil, "hooks:write", true},
		{[]string{}, "", true},
		{[]string{}, "hooks:read", false},
		{[]string{"hooks:read"}, "hooks:read", true},
		{[]string{"hooks:read"}, "hooks:write", false},
		{[]string{"hooks:write"}, "hooks:read", true},
		{[]string{"hook:write"}, "hooks:read", false},
		{[]string{"hooksx:write"}, "hooks:read", false},
	} {
		if got := permission.Grants(c.held, c.need); got != c.want {
			t.Errorf("Grants(%q, %q) = %v, want %v", c.held, c.need, got, c.want)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		held, allowed []string
		want          bool
	}{
		{nil, nil, true},
		{nil, []string{"hooks:write"}, false},
		{[]string{"hooks:read"}, []string{"hooks:write"}, true},
		{[]string{"hooks:write"}, []string{"hooks:read"}, false},
		{[]string{}, []string{}, true},
	} {
		if got := permission.Within(c.held, c.allowed); got != c.want {
			t.Errorf("Within(%q, %q) = %v, want %v", c.held, c.allowed, got, c.want)
		}
	}
}

// TestRoutes holds the generated table to the routes SPEC §10 names.
func TestRoutes(t *testing.T) {
	for route, want := range map[string]string{"GET /v1/hooks/events": "hooks:read", "POST /v1/hooks/{source}": "hooks:write", "GET /v1/me": ""} {
		if got, ok := permission.Required(route); !ok || got != want {
			t.Errorf("Required(%q) = %q, %v, want %q", route, got, ok, want)
		}
	}
	if _, ok := permission.Required("GET /v1/tokens"); ok {
		t.Error("Required(GET /v1/tokens): a management route is in the key authorizer's table")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"hooks:read", "hooks:write", "hooks:delete", "", "HOOKS:READ", "hooks:read\x00"} {
		f.Add(s, "hooks:read")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := permission.Parse([]string{a, b})
		if err != nil {
			if got != nil {
				t.Fatalf("Parse(%q, %q) refused with %q", a, b, got)
			}
			return
		}
		if !permission.Known(a) || !permission.Known(b) {
			t.Fatalf("Parse(%q, %q) = %q: took a name the catalogue lacks", a, b, got)
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("Parse(%q, %q) = %q: not sorted and unique", a, b, got)
		}
		again, err := permission.Parse(got)
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("Parse is not stable: %q → %q, %v", got, again, err)
		}
	})
}

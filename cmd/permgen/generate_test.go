package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedIsCurrent fails when shared/permission/catalogue_gen.go is not what openapi.yaml
// makes: run `go generate ./shared/permission`.
func TestGeneratedIsCurrent(t *testing.T) {
	want, err := Generate("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../shared/permission/catalogue_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("shared/permission/catalogue_gen.go is not current; run go generate ./shared/permission\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// TestReadRefuses breaks a copy of openapi.yaml one way at a time.
func TestReadRefuses(t *testing.T) {
	orig, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, from, to, want string }{
		{"no permission", "- apiKey: [hooks:read]", "- apiKey: []", "GET /v1/hooks/events: names no permission"},
		{"undefined permission", "- apiKey: [hooks:write]", "- apiKey: [deals:write]", `POST /v1/hooks/{source}: names permission "deals:write", which x-permissions does not define`},
		{"two permissions", "- apiKey: [hooks:write]", "- apiKey: [hooks:write, hooks:read]", "want one"},
		{"any key and a permission", "- apiKey: [hooks:read]", "- apiKey: [hooks:read]\n      x-any-key: true", "want one or the other"},
		{"bad name", "hooks:read: List", "hooks-read: List", `permission "hooks-read"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(orig, []byte(c.from)) {
				t.Fatalf("openapi.yaml holds no %q", c.from)
			}
			path := filepath.Join(t.TempDir(), "openapi.yaml")
			if err := os.WriteFile(path, bytes.Replace(orig, []byte(c.from), []byte(c.to), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Read(path); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Read(broken) = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

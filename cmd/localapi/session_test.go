package main

import (
	"bytes"
	"strings"
	"testing"
)

// A session without -user is the login name's, not a usage error: where $USER is unset (a
// container, CI) the command goes on to look for the signing key.
func TestSessionWithoutUserDefaultsToLoginName(t *testing.T) {
	t.Setenv("USER", "")
	if name := loginName(); name == "" {
		t.Fatal("loginName() is empty")
	}
	var stdout, stderr bytes.Buffer
	code := sessionCommand([]string{"-environment", "env-1", "-role", "agent", "-state", t.TempDir()}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no signing key") {
		t.Errorf("exit %d, stderr %q; want 1 and no signing key (the user defaulted)", code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
}

func TestSessionWithoutEnvironmentSaysWhatIsMissing(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := sessionCommand([]string{"-user", "ann", "-role", "agent"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "-environment") {
		t.Errorf("exit %d, stderr %q; want 2 naming -environment", code, stderr.String())
	}
}

// The commands that talk to a running local API find it through the address its start recorded
// in the state folder; an address given wins, and without either they use DefaultAddr.
func TestAPIBase(t *testing.T) {
	state := t.TempDir()
	if got, want := apiBase("", state), "http://"+DefaultAddr; got != want {
		t.Errorf("nothing recorded: got %s, want %s", got, want)
	}
	if err := writeAddress(state, "http://127.0.0.1:3104"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ addr, want string }{
		{"", "http://127.0.0.1:3104"},
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{":8080", "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080"},
	} {
		if got := apiBase(c.addr, state); got != c.want {
			t.Errorf("apiBase(%q) = %s, want %s", c.addr, got, c.want)
		}
	}
}

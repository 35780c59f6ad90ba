package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const testKey = "cbk_loadtestkey"

func env(key string) func(string) string {
	return func(name string) string {
		if name == keyVariable {
			return key
		}
		return ""
	}
}

// A run against a server on 127.0.0.1, found through the state folder as `make session` finds
// the local API, calls it rate × duration times with the key and prints what came back: 5
// allowed, 14 × 429 (3 with Retry-After), one 503.
func TestLoadCounts(t *testing.T) {
	var calls atomic.Int64
	var mu sync.Mutex
	wrong := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testKey || r.URL.Path != "/v1/me" || r.Method != http.MethodGet {
			mu.Lock()
			wrong++
			mu.Unlock()
		}
		switch n := calls.Add(1); {
		case n <= 5:
			w.WriteHeader(http.StatusOK)
		case n <= 8:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case n == 9:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	state := t.TempDir()
	if err := os.WriteFile(filepath.Join(state, addressFile), []byte(srv.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"-state", state, "-rate", "20", "-duration", "1s"}, env(testKey), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if n := calls.Load(); n != 20 {
		t.Errorf("the server got %d calls, want 20", n)
	}
	if wrong != 0 {
		t.Errorf("%d calls without the key, or not GET /v1/me", wrong)
	}
	for _, want := range []string{"allowed 5\n429     14 (Retry-After on 3)\nother   1\n", "  503 Service Unavailable: 1\n", "GET " + srv.URL + "/v1/me, 20 a second for 1s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
	if strings.Contains(out.String()+errOut.String(), testKey) {
		t.Error("the output shows the key")
	}
}

// Anything but a loopback address is refused before a call, as are a missing key and rates or
// durations out of bounds.
func TestLoadRefuses(t *testing.T) {
	state := t.TempDir()
	if err := os.WriteFile(filepath.Join(state, addressFile), []byte("http://192.0.2.10:3000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		key  string
		want string
	}{
		{"another host", []string{"-addr", "192.0.2.10:3000"}, testKey, "not a loopback address"},
		{"a name", []string{"-addr", "example.com:80"}, testKey, "not a loopback address"},
		{"every interface", []string{"-addr", "0.0.0.0:3000"}, testKey, "not a loopback address"},
		{"recorded elsewhere", []string{"-state", state}, testKey, "not a loopback address"},
		{"a user in the address", []string{"-addr", "me@127.0.0.1:3000"}, testKey, "want host:port"},
		{"no key", []string{"-addr", "127.0.0.1:9"}, "", "no key"},
		{"rate 0", []string{"-addr", "127.0.0.1:9", "-rate", "0"}, testKey, "rate 0"},
		{"no duration", []string{"-addr", "127.0.0.1:9", "-duration", "0s"}, testKey, "duration 0s"},
		{"a full URL as the path", []string{"-addr", "127.0.0.1:9", "-path", "http://192.0.2.10/v1/me"}, testKey, "want a route"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(c.args, env(c.key), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) || out.Len() != 0 {
				t.Errorf("got exit %d, %q, output %q; want 2 with %q and no calls", code, errOut.String(), out.String(), c.want)
			}
		})
	}
}

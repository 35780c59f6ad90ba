package webhooks

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// The example of the Standard Webhooks specification and its libraries' tests: this secret,
// id, time and body sign to this signature.
func TestSignMatchesTheSpecificationsExample(t *testing.T) {
	h, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; h.Signature != want || h.Timestamp != "1614265330" {
		t.Errorf("got %q at %s, want %q", h.Signature, h.Timestamp, want)
	}
	if _, err := Sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", time.Now(), nil); err == nil {
		t.Error("got a signature with a secret without whsec_, want an error")
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if !strings.HasPrefix(a, SecretPrefix) || len(a) != len(SecretPrefix)+44 || a == b {
		t.Errorf("got %d-character secrets, equal %v; want whsec_ and 44 base64 characters, each new", len(a), a == b)
	}
}

func TestTargets(t *testing.T) {
	for _, c := range []struct {
		targets Targets
		url     string
		ok      bool
	}{
		{Public, "https://hooks.zapier.com/hooks/standard/1/abc/", true},
		{Public, "https://93.184.216.34/hook", true},
		{Public, "http://hooks.zapier.com/hook", false},
		{Public, "https://localhost/hook", false},
		{Public, "https://127.0.0.1/hook", false},
		{Public, "https://10.1.2.3/hook", false},
		{Public, "https://169.254.169.254/latest/meta-data", false},
		{Public, "https://[fd00:ec2::254]/", false},
		{Public, "https://[::ffff:192.168.0.1]/", false},
		{Public, "https://intranet/hook", false},
		{Public, "https://user:pass@hooks.example.com/", false},
		{Public, "https://hooks.example.com/#x", false},
		{Public, "hooks.example.com/hook", false},
		{Public, "https:///hook", false},
		{Public, "https://hooks.example.com/" + strings.Repeat("a", MaxTargetURL), false},
		{Public, "https://localhost./hook", false},
		{Public, "https://hooks.localhost./hook", false},
		{Public, "https://hooks.example.com./hook", true},
		{Public, "https://127.1/hook", false},
		{Public, "https://0x7f.1/hook", false},
		{Public, "https://hooks.example.com:99999/hook", false},
		{Public, "https://hooks.example.com:0/hook", false},
		{Public, "https://hooks.example.com:8443/hook", true},
		{Loopback, "http://localhost.:8080/hook", false},
		{Loopback, "http://127.0.0.1:70000/hook", false},
		{Loopback, "http://127.0.0.1:8080/hook", true},
		{Loopback, "http://[::1]:8080/hook", true},
		{Loopback, "http://localhost:8080/hook", true},
		{Loopback, "https://hooks.zapier.com/hook", false},
		{Loopback, "http://10.0.0.1/hook", false},
		{Loopback, "ftp://127.0.0.1/hook", false},
	} {
		_, err := c.targets.Check(c.url)
		if (err == nil) != c.ok {
			t.Errorf("%s %q: got error %v, want allowed %v", c.targets, c.url, err, c.ok)
		}
	}
}

func TestRefused(t *testing.T) {
	for _, s := range []string{
		"127.0.0.1", "127.5.5.5", "::1", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "169.254.1.1", "fd00:ec2::254", "fc00::1", "fe80::1", "100.64.0.1",
		"100.127.255.255", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255",
		"::ffff:10.0.0.1", "64:ff9b::a00:1", "198.18.0.1", "192.0.2.1",
	} {
		if !Refused(netip.MustParseAddr(s)) {
			t.Errorf("%s: got allowed, want refused", s)
		}
	}
	for _, s := range []string{"93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1", "172.32.0.1", "64:ff9b::808:808"} {
		if Refused(netip.MustParseAddr(s)) {
			t.Errorf("%s: got refused, want allowed", s)
		}
	}
}

// recorder stands in for the network: a resolver that answers from a table and a dialer that
// records each address it is asked for and refuses it. Nothing ever leaves the process.
type recorder struct {
	mu     sync.Mutex
	names  map[string][]netip.Addr
	dialed []string
}

func (r *recorder) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r.names[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r *recorder) Dial(_ context.Context, _, address string) (net.Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dialed = append(r.dialed, address)
	return nil, errors.New("the test network refuses every connection")
}

func newRecorder() *recorder {
	return &recorder{names: map[string][]netip.Addr{
		"internal.example":   {netip.MustParseAddr("10.0.0.7")},
		"metadata.example":   {netip.MustParseAddr("169.254.169.254")},
		"mixed.example":      {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("192.168.0.2")},
		"public.example":     {netip.MustParseAddr("93.184.216.34")},
		"loopback.example":   {netip.MustParseAddr("127.0.0.1")},
		"v6metadata.example": {netip.MustParseAddr("fd00:ec2::254")},
	}}
}

// The guard refuses every target that is, or resolves to, an address it does not allow, before
// any dial; an allowed one reaches the dialer (which here refuses it too).
func TestGuardRefusesBeforeDialing(t *testing.T) {
	for _, c := range []struct {
		url      string
		wantDial string // "" when the guard must refuse before dialing
	}{
		{"https://127.0.0.1/hook", ""},
		{"https://10.1.1.1/hook", ""},
		{"https://169.254.169.254/latest/meta-data/", ""},
		{"https://[fd00:ec2::254]/", ""},
		{"https://internal.example/hook", ""},
		{"https://metadata.example/hook", ""},
		{"https://v6metadata.example/hook", ""},
		{"https://loopback.example/hook", ""},
		{"https://mixed.example/hook", ""},
		{"https://public.example/hook", "93.184.216.34:443"},
	} {
		rec := newRecorder()
		g := &Guard{Targets: Public, Resolver: rec, Dial: rec.Dial}
		resp, err := g.Client(time.Second).Post(c.url, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: got an answer through a dialer that refuses everything", c.url)
		}
		refused := errors.Is(err, ErrRefusedAddress)
		switch {
		case c.wantDial == "" && (!refused || len(rec.dialed) != 0):
			t.Errorf("%s: got %v after dialing %v, want refused before any dial", c.url, err, rec.dialed)
		case c.wantDial != "" && (refused || len(rec.dialed) != 1 || rec.dialed[0] != c.wantDial):
			t.Errorf("%s: got %v after dialing %v, want one dial of %s", c.url, err, rec.dialed, c.wantDial)
		}
	}
}

// The last check runs on the address the socket is about to connect to.
func TestGuardControlChecksTheDialedAddress(t *testing.T) {
	g := &Guard{Targets: Public}
	for addr, ok := range map[string]bool{"10.0.0.1:443": false, "[fd00:ec2::254]:443": false, "93.184.216.34:443": true} {
		if err := g.control("tcp4", addr, nil); (err == nil) != ok {
			t.Errorf("%s: got %v, want allowed %v", addr, err, ok)
		}
	}
	local := &Guard{Targets: Loopback}
	if local.control("tcp4", "127.0.0.1:80", nil) != nil || local.control("tcp4", "93.184.216.34:443", nil) == nil {
		t.Error("got the loopback guard allowing another address or refusing loopback")
	}
}

// A redirect is not followed: a target that answers 302 to a private address is answered as
// the 302, and the private address is never dialed.
func TestGuardFollowsNoRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.0.0.7/steal", http.StatusFound)
	}))
	defer srv.Close()
	rec := newRecorder()
	var d net.Dialer
	g := &Guard{Targets: Loopback, Resolver: rec, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		if !strings.HasPrefix(address, "127.0.0.1:") {
			return rec.Dial(ctx, network, address)
		}
		return d.DialContext(ctx, network, address) // the test's own server, on loopback
	}}
	resp, err := g.Client(time.Second).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || len(rec.dialed) != 0 {
		t.Errorf("got %d after dialing %v, want 302 and no other dial", resp.StatusCode, rec.dialed)
	}
}

func TestBackoff(t *testing.T) {
	b, err := ParseBackoff(DefaultBackoff)
	if err != nil {
		t.Fatal(err)
	}
	var firstThree, total time.Duration
	for n := 1; n <= 8; n++ {
		if n <= 3 {
			firstThree += b.After(n)
		}
		total += b.After(n)
	}
	if firstThree > 2*time.Minute || total < 24*time.Hour || b.After(50) != MaxDelay {
		t.Errorf("got the first three retries within %s and the ninth attempt after %s, want ≤ 2m and ≥ 24h", firstThree, total)
	}
	for _, bad := range []string{"", "x", "-1", "43201", "10,,20"} {
		if _, err := ParseBackoff(bad); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

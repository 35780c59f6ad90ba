package webhooks

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzTargetsCheck: whatever the input, an accepted target is an absolute URL without user
// information or fragment, https under Public with a host that is no refused address, and
// under Loopback a loopback address or localhost.
func FuzzTargetsCheck(f *testing.F) {
	for _, s := range []string{
		"https://hooks.zapier.com/hooks/standard/1/abc/", "http://127.0.0.1:8080/h", "https://[::1]/", "https://10.0.0.1/",
		"https://169.254.169.254/", "https://[fd00:ec2::254]/", "https://user@host.example/", "https://host.example/#f",
		"https://0x7f.1/", "https://2130706433/", "https://[::ffff:127.0.0.1]/", "HTTPS://Host.Example/", "https://localhost./",
		"https://hooks.localhost./", "https://127.1/", "https://host.example:99999/", "https://host.example:0/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, targets := range []Targets{Public, Loopback} {
			u, err := targets.Check(raw)
			if err != nil {
				continue
			}
			back, perr := url.Parse(u.String())
			if perr != nil || !back.IsAbs() || back.User != nil || back.Fragment != "" || len(raw) > MaxTargetURL {
				t.Fatalf("%s accepted %q: not an absolute URL without user or fragment", targets, raw)
			}
			if p := u.Port(); p != "" {
				if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
					t.Fatalf("%s accepted %q: port %s", targets, raw, p)
				}
			}
			host := strings.ToLower(u.Hostname())
			addr, isIP := netip.ParseAddr(host)
			switch targets {
			case Public:
				name := strings.TrimSuffix(host, ".")
				if u.Scheme != "https" || (isIP == nil && Refused(addr)) || name == "localhost" || strings.HasSuffix(name, ".localhost") {
					t.Fatalf("public accepted %q", raw)
				}
			case Loopback:
				if host != "localhost" && (isIP != nil || !addr.Unmap().IsLoopback()) {
					t.Fatalf("loopback accepted %q", raw)
				}
			}
		}
	})
}

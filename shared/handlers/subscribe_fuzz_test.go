package handlers

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/webhooks"
)

// subscribeSeeds are the edge cases FuzzSubscribeBody starts from: each field at and past its
// limits, targets each rule accepts and refuses (schemes, user information, fragments, private,
// metadata, NAT64 and mapped addresses, names that only look like addresses, encodings), and
// bodies that are not one JSON object spelled as documented.
func subscribeSeeds() []string {
	target := func(u string) string { return `{"targetUrl":"` + u + `","event":"key.leaked"}` }
	seeds := []string{
		// Accepted under one rule or both.
		`{"targetUrl":"http://127.0.0.1:9/h","event":"delivery.received","source":"zapier"}`,
		`{"targetUrl":"https://hooks.example.com/h","event":"key.leaked"}`,
		`{"targetUrl":"https://hooks.example.com/h","event":"key.expiring","source":null}`,
		`{"targetUrl":"https://hooks.example.com/h","event":"delivery.received","source":"` + strings.Repeat("a", 64) + `"}`,
		target("http://localhost:8080/h"), target("http://LOCALHOST/h"), target("HTTP://127.0.0.1/h"),
		target("http://[::1]:9/h"), target("http://127.255.255.254/h"), target("https://127.1/h"),
		target("https://hooks.example.com/" + strings.Repeat("p", webhooks.MaxTargetURL-len("https://hooks.example.com/"))),
		target("https://hooks.example.com/" + strings.Repeat("p", webhooks.MaxTargetURL-len("https://hooks.example.com/")+1)),
		target("https://hooks.example.com:443/h?q=1&r=%20"),
		// Refused by the rules.
		target("http://hooks.example.com/h"), target("ftp://hooks.example.com/h"), target("/hooks"), target("hooks.example.com/h"),
		target("mailto:ops@example.com"), target("javascript:alert(1)"), target("https:///h"), target("https://"),
		target("http://user:pw@127.0.0.1/h"), target("http://127.0.0.1@10.0.0.1/h"), target(`http://127.0.0.1\\@10.0.0.1/h`),
		target("http://127.0.0.1/h#frag"), target("http://127.0.0.1/h x"), target(`\thttp://127.0.0.1/h`),
		target("https://10.0.0.1/h"), target("https://172.16.0.1/h"), target("https://192.168.1.1/h"), target("https://100.64.0.1/h"),
		target("https://169.254.169.254/latest/meta-data"), target("https://[fd00:ec2::254]/"), target("https://[fe80::1%25eth0]/"),
		target("https://[::ffff:10.0.0.1]/"), target("https://[::ffff:127.0.0.1]/"), target("https://[64:ff9b::a00:1]/"),
		target("https://0.0.0.0/"), target("https://[::]/"), target("https://224.0.0.1/"), target("https://255.255.255.255/"),
		target("https://0x7f000001/"), target("https://2130706433/"), target("https://%31%32%37.0.0.1/"),
		target("https://localhost./"), target("https://hooks.localhost/"), target("https://intranet/"),
		target("https://hooks.example.com:99999/"), target("https://hooks.example.com:-1/"),
		// Events and sources.
		`{"targetUrl":"http://127.0.0.1:9/h","event":"key.leaked","source":"x"}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":"delivery.received","source":"events"}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":"delivery.received","source":""}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":"delivery.received","source":"Zapier"}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":"delivery.received","source":"-a"}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":"delivery.received","source":"` + strings.Repeat("a", 65) + `"}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":"delivery.received","source":7}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":"Key.Leaked"}`, `{"targetUrl":"http://127.0.0.1:9/h","event":""}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":null}`, `{"targetUrl":"http://127.0.0.1:9/h","event":["key.leaked"]}`,
		`{"targetUrl":"http://127.0.0.1:9/h"}`, `{"event":"key.leaked"}`, `{"targetUrl":1,"event":"key.leaked"}`,
		// Not one object spelled as documented.
		`{"targetUrl":null,"event":"key.deleted"}`, `{"event":"key.expiring","event":"key.leaked"}`,
		`{"TargetURL":"http://127.0.0.1:9/h","event":"key.leaked"}`, `{"targetUrl":"http://127.0.0.1:9/h","event":"key.leaked","extra":1}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":"key.leaked"}{}`, "\ufeff" + target("http://127.0.0.1/h"),
		`[]`, ``, `null`, `"key.leaked"`, `{`, `{"targetUrl":"http://127.0.0.1:9/h","event":"key.leaked","source":"` + strings.Repeat("a", httpapi.MaxBody) + `"}`,
	}
	return seeds
}

// FuzzSubscribeBody: a subscribe body is accepted only as a known event, a target its rule
// allows, and a source only for delivery.received; anything else is a 4xx with a code.
func FuzzSubscribeBody(f *testing.F) {
	for _, s := range subscribeSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httpapi.Request{Body: body, Headers: map[string]string{"content-type": "application/json"}}
		for _, targets := range []webhooks.Targets{webhooks.Public, webhooks.Loopback} {
			in, err := parseSubscribe(req, targets)
			if err != nil {
				if e, ok := err.(*httpapi.Error); !ok || e.Status < 400 || e.Status >= 500 || e.Code == "" {
					t.Fatalf("%q: got %v, want a 4xx with a code", body, err)
				}
				continue
			}
			if !slices.Contains(eventqueue.Types, in.event) {
				t.Fatalf("%q: accepted event %q", body, in.event)
			}
			if _, err := targets.Check(in.targetURL); err != nil {
				t.Fatalf("%q: accepted a target %s refuses", body, targets)
			}
			u, err := url.Parse(in.targetURL)
			if err != nil || len(in.targetURL) > webhooks.MaxTargetURL || u.User != nil || u.Fragment != "" ||
				(targets == webhooks.Public && u.Scheme != "https") || (u.Scheme != "https" && u.Scheme != "http") {
				t.Fatalf("%q: accepted target %q under %s", body, in.targetURL, targets)
			}
			if in.source != "" && (in.event != eventqueue.DeliveryReceived || !sourcePattern.MatchString(in.source) || in.source == "events") {
				t.Fatalf("%q: accepted source %q for %s", body, in.source, in.event)
			}
		}
	})
}

// TestSubscribeSeeds holds the edge cases of the seed corpus to their answers, so that a seed
// that stops reaching the case it was written for is noticed.
func TestSubscribeSeeds(t *testing.T) {
	accepted := func(body string, targets webhooks.Targets) bool {
		_, err := parseSubscribe(httpapi.Request{Body: body, Headers: map[string]string{"content-type": "application/json"}}, targets)
		return err == nil
	}
	seeds := subscribeSeeds()
	var public, loopback int
	for _, s := range seeds {
		if accepted(s, webhooks.Public) {
			public++
		}
		if accepted(s, webhooks.Loopback) {
			loopback++
		}
	}
	// As deployed: the https targets on example.com within the limits (five); locally: the
	// seven to 127.0.0.0/8, ::1 (mapped too) or localhost. Every other seed is refused.
	if public != 5 || loopback != 7 {
		t.Errorf("got %d seeds accepted as deployed and %d locally of %d, want 5 and 7", public, loopback, len(seeds))
	}
}

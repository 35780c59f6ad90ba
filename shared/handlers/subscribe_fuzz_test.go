package handlers

import (
	"slices"
	"testing"

	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/webhooks"
)

// FuzzSubscribeBody: a subscribe body is accepted only as a known event, a target its rule
// allows, and a source only for delivery.received; anything else is a 4xx with a code.
func FuzzSubscribeBody(f *testing.F) {
	for _, s := range []string{
		`{"targetUrl":"http://127.0.0.1:9/h","event":"delivery.received","source":"zapier"}`,
		`{"targetUrl":"https://hooks.example.com/h","event":"key.leaked"}`,
		`{"targetUrl":"http://127.0.0.1:9/h","event":"key.leaked","source":"x"}`,
		`{"targetUrl":null,"event":"key.deleted"}`, `{"event":"key.expiring","event":"key.leaked"}`, `[]`, ``,
	} {
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
			if in.source != "" && (in.event != eventqueue.DeliveryReceived || !sourcePattern.MatchString(in.source)) {
				t.Fatalf("%q: accepted source %q for %s", body, in.source, in.event)
			}
		}
	})
}

package authorizer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/service"
)

func TestBearerKey(t *testing.T) {
	cases := map[string]string{
		"Bearer cbk_x":   "cbk_x",
		"bearer cbk_x":   "cbk_x",
		"BEARER  cbk_x ": "cbk_x",
		" Bearer cbk_x":  "cbk_x",
		"Basic cbk_x":    "",
		"cbk_x":          "",
		"Bearer":         "",
		"Bearer ":        "",
		"":               "",
		"Bearercbk_x":    "",
		"Token cbk_x":    "",
		"Bearer\tcbk_x":  "",
	}
	for in, want := range cases {
		if got := BearerKey(in); got != want {
			t.Errorf("BearerKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzHeader feeds the authorizer any Authorization header. BearerKey returns what follows
// "Bearer " (the scheme in any case), trimmed, or "" for anything else, and reads back its own
// answer. A header without a well-formed key is refused with no lookup at all (the authorizer
// here has no key ring and no table, so a lookup would fail the test), and its log line holds
// only the fixed fields, never the text that was sent.
func FuzzHeader(f *testing.F) {
	format, err := apikey.NewFormat(apikey.DefaultPrefix)
	if err != nil {
		f.Fatal(err)
	}
	key, err := format.Generate()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"Bearer " + key, "bearer " + key, "Basic " + key, key, "Bearer", "", "Bearer " + key + " x", "Bearer  " + key[:20]} {
		f.Add(seed)
	}
	// Failure messages show a key only as its hint.
	keys := regexp.MustCompile(format.Pattern())
	redact := func(s string) string { return keys.ReplaceAllStringFunc(s, format.Hint) }
	a := New(format, nil, nil, time.Minute, time.Now)
	var logs bytes.Buffer
	handler := a.Handler(service.Logger(&logs))
	logFields := []string{"AuthorizerDecisions", "_aws", "allowed", "cached", "durationMs", "function", "functionName", "level", "msg", "outcome", "reason", "requestId", "route", "timestamp"}
	f.Fuzz(func(t *testing.T, header string) {
		want := ""
		if h := strings.TrimSpace(header); len(h) >= 7 && strings.EqualFold(h[:6], "bearer") && h[6] == ' ' {
			want = strings.TrimSpace(h[7:])
		}
		k := BearerKey(header)
		if k != want {
			t.Fatalf("BearerKey(%q) = %q, want %q", redact(header), redact(k), redact(want))
		}
		if k != "" && BearerKey("Bearer "+k) != k {
			t.Fatalf("BearerKey does not read back its answer %q", redact(k))
		}
		if k != "" && format.Parse(k) == nil {
			return // a well-formed key needs the table; the authorizer's own tests cover it
		}

		wantReason := ReasonMalformed
		if k == "" {
			wantReason = ReasonNoKey
		}
		if d, err := a.Check(context.Background(), header); err != nil || d.Allowed || d.Reason != wantReason {
			t.Fatalf("Check(%q) = %+v, %v, want refused as %s", redact(header), d, err, wantReason)
		}
		logs.Reset()
		req := events.APIGatewayV2CustomAuthorizerV2Request{IdentitySource: []string{header}, RouteKey: "GET /v1/me"}
		req.RequestContext.RequestID = "req-1"
		resp, err := handler(context.Background(), req)
		if err != nil || resp.IsAuthorized || resp.Context != nil {
			t.Fatalf("handler(%q) = %+v, %v, want refused", redact(header), resp, err)
		}
		var line map[string]any
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil || bytes.Count(logs.Bytes(), []byte("\n")) != 1 {
			t.Fatalf("log is not one JSON line: %q", redact(logs.String()))
		}
		if got := slices.Sorted(maps.Keys(line)); !slices.Equal(got, logFields) || line["reason"] != string(wantReason) || line["requestId"] != "req-1" {
			t.Fatalf("log line %s, want the fields %v with reason %s", redact(fmt.Sprint(line)), logFields, wantReason)
		}
	})
}

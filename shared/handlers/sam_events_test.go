package handlers_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/apitokens/apitokens/shared/httpapi"
)

// samEvent reads an HTTP API request as `sam local generate-event apigateway http-api-proxy`
// writes it (tools/sam-events.sh): a base64 body, headers in mixed case, cookies, query
// parameters and path parameters of its own, stage variables, a client certificate and JWT
// claims that are not ours.
func samEvent(t *testing.T, name string) httpapi.Request {
	t.Helper()
	raw, err := os.ReadFile("testdata/sam/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var req httpapi.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	if !req.IsBase64Encoded || len(req.Cookies) == 0 || req.QueryStringParameters["parameter2"] == "" {
		t.Fatalf("%s is not the event SAM generates (base64 body, cookies, query parameters)", name)
	}
	return req
}

// TestSAMEvents sends every route the requests SAM generates, with the route, the caller and
// the body put in: what SAM adds must change nothing in the answers.
func TestSAMEvents(t *testing.T) {
	a := newAPI(t, 50)
	session := func(w who, file, method, target, body string) reply {
		t.Helper()
		req := samEvent(t, file)
		a.aim(&req, method, target, body)
		if body != "" {
			req.Headers["Content-Type"] = "application/json" // as `sam local start-api` spells it
		}
		w.sign(&req)
		return a.send(req)
	}

	// The POST event as generated, body and all: SAM's body is a create request.
	c := session(ann, "http-api-post.json", "POST", "/v1/tokens", `{"name":"Zapier Sync"}`)
	if c.status != 201 || c.str("name") != "Zapier Sync" || c.str("key") == "" {
		t.Fatalf("create: got %d %s, want 201 with the token and its key", c.status, c.shown())
	}
	id, key := c.str("id"), c.str("key")
	tok := "/v1/tokens/" + id

	tests := []struct {
		name, file, method, target, body string
		status                           int
		field, want                      string // a field of the answer and its value
	}{
		{"list", "http-api-get.json", "GET", "/v1/tokens", "", 200, "", ""},
		{"list, filtered", "http-api-get.json", "GET", "/v1/tokens?status=active&limit=5", "", 200, "", ""},
		{"get", "http-api-get.json", "GET", tok, "", 200, "name", "Zapier Sync"},
		{"rename", "http-api-post.json", "PATCH", tok, `{"name":"Zapier Sync 2"}`, 200, "name", "Zapier Sync 2"},
		{"reveal", "http-api-post.json", "POST", tok + "/reveal", "", 200, "key", key},
		{"deactivate", "http-api-post.json", "POST", tok + "/deactivate", "", 200, "status", "inactive"},
		{"activate", "http-api-post.json", "POST", tok + "/activate", "", 200, "status", "active"},
		{"audit", "http-api-get.json", "GET", tok + "/audit", "", 200, "", ""},
		{"bad body", "http-api-post.json", "PATCH", tok, `{"name":""}`, 400, "code", "invalid_name"},
		{"delete", "http-api-get.json", "DELETE", tok, "", 204, "", ""},
		{"gone", "http-api-get.json", "GET", tok, "", 404, "code", "token_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := session(ann, tt.file, tt.method, tt.target, tt.body)
			if r.status != tt.status {
				t.Fatalf("got %d %s, want %d", r.status, r.shown(), tt.status)
			}
			if tt.field != "" && r.str(tt.field) != tt.want {
				t.Errorf("got %s = %q, want %q", tt.field, r.str(tt.field), tt.want)
			}
		})
	}
	if items, _ := a.do(ann, "GET", "/v1/tokens", "").body["items"].([]any); len(items) != 0 {
		t.Errorf("got %d tokens after the delete, want 0", len(items))
	}

	// The integration routes, with the key authorizer's context in place of the JWT claims.
	k := a.create(ann, `{"name":"Zapier"}`).str("key")
	keyTests := []struct {
		name, file, method, target, body string
		status                           int
	}{
		{"me", "http-api-get.json", "GET", "/v1/me", "", 200},
		{"hook", "http-api-post.json", "POST", "/v1/hooks/zapier", `{"event":"contact.created"}`, 202},
		{"hook, not JSON", "http-api-post.json", "POST", "/v1/hooks/zapier", `event=contact.created`, 400},
		{"hook events", "http-api-get.json", "GET", "/v1/hooks/events", "", 200},
	}
	for _, tt := range keyTests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.body != "" {
				headers = []string{"Content-Type", "application/json"}
			}
			if r := a.keyDoOn(samEvent(t, tt.file), k, tt.method, tt.target, tt.body, headers...); r.status != tt.status {
				t.Errorf("got %d %s, want %d", r.status, r.shown(), tt.status)
			}
		})
	}
}

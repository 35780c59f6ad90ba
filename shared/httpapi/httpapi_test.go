package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/access"
	"github.com/apitokens/apitokens/shared/cursor"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

type createBody struct {
	Name      *string `json:"name"`
	Type      *string `json:"type"`
	ExpiresAt *string `json:"expiresAt"`
}

func jsonRequest(body string) Request {
	return Request{Headers: map[string]string{"content-type": "application/json"}, Body: body}
}

func TestDecodeJSON(t *testing.T) {
	var got createBody
	if err := DecodeJSON(jsonRequest(`{"name":"Zapier Sync","type":"user"}`), MaxBody, &got); err != nil {
		t.Fatalf("DecodeJSON(good) = %v", err)
	}
	if *got.Name != "Zapier Sync" || *got.Type != "user" || got.ExpiresAt != nil {
		t.Errorf("decoded %+v", got)
	}
	b64 := Request{Headers: map[string]string{"Content-Type": "application/json; charset=utf-8"},
		Body: base64.StdEncoding.EncodeToString([]byte(`{"name":"x"}`)), IsBase64Encoded: true}
	if err := DecodeJSON(b64, MaxBody, &createBody{}); err != nil {
		t.Errorf("DecodeJSON(base64) = %v", err)
	}
}

func TestDecodeJSONRefuses(t *testing.T) {
	cases := []struct {
		name   string
		req    Request
		status int
		code   string
	}{
		{"unknown field", jsonRequest(`{"name":"x","admin":true}`), 400, "unknown_field"},
		{"wrong type", jsonRequest(`{"name":42}`), 400, "invalid_field_type"},
		{"array body", jsonRequest(`["x"]`), 400, "invalid_json"},
		{"null body", jsonRequest(`null`), 400, "invalid_json"},
		{"field in another case", jsonRequest(`{"NAME":"x"}`), 400, "unknown_field"},
		{"field twice", jsonRequest(`{"name":"a","name":"b"}`), 400, "invalid_json"},
		{"syntax", jsonRequest(`{"name":`), 400, "invalid_json"},
		{"two objects", jsonRequest(`{"name":"a"}{"name":"b"}`), 400, "invalid_json"},
		{"empty", jsonRequest(``), 400, "invalid_json"},
		{"a form feed after the object", jsonRequest("{\"name\":\"x\"}\f"), 400, "invalid_json"},
		{"too large", jsonRequest(`{"name":"` + strings.Repeat("a", MaxBody) + `"}`), 413, "body_too_large"},
		{"too large base64", Request{Body: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), MaxBody+1)), IsBase64Encoded: true}, 413, "body_too_large"},
		{"bad base64", Request{Body: "!!!", IsBase64Encoded: true}, 400, "invalid_body"},
		{"form", Request{Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}, Body: "name=x"}, 415, "unsupported_media_type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := DecodeJSON(c.req, MaxBody, &createBody{})
			p := ProblemFor(err)
			if p.Status != c.status || p.Code != c.code {
				t.Errorf("got %d %s, want %d %s", p.Status, p.Code, c.status, c.code)
			}
		})
	}
}

// FuzzDecodeJSON feeds DecodeJSON any body, raw or base64, under any Content-Type. A refusal is
// a 4xx *Error with a code. What it accepts is JSON under a JSON media type, one object whose
// fields are fields of dst, each once and spelled exactly, decoded as encoding/json decodes it;
// the decoded value survives a round trip; and every such object with string or null values is
// accepted.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"name":"Zapier Sync"}`, "application/json", false)
	f.Add(`{"name":"x","type":"admin","expiresAt":"2030-01-01T00:00:00Z"}`, "application/json; charset=utf-8", false)
	f.Add(`{"name":null}`, "", false)
	f.Add(`{"nam\u0065":"x"}`, "application/merge-patch+json", false)
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"type":"user"}`)), "application/json", true)
	// Base64 text longer than any encoding of MaxBody bytes, though line breaks pad it: too large.
	f.Add("e30="+strings.Repeat("\n", base64.StdEncoding.EncodedLen(MaxBody)-3), "application/json", true)
	f.Fuzz(func(t *testing.T, body, contentType string, b64 bool) {
		req := Request{Headers: map[string]string{}, Body: body, IsBase64Encoded: b64}
		if contentType != "" {
			req.Headers["content-type"] = contentType
		}
		raw, readable := []byte(body), true
		if b64 {
			var err error
			raw, err = base64.StdEncoding.DecodeString(body)
			readable = err == nil // a partial decode is no body
		}
		mt, _, mtErr := mime.ParseMediaType(contentType)
		jsonType := contentType == "" || mtErr == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
		trimmed := bytes.Trim(raw, " \t\r\n") // JSON's whitespace (RFC 8259), not Unicode's: a form feed is no space

		// Base64 text is held to the length of MaxBody bytes' encoding.
		fits := len(raw) <= MaxBody && !(b64 && len(body) > base64.StdEncoding.EncodedLen(MaxBody))

		var dst createBody
		err := DecodeJSON(req, MaxBody, &dst)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status < 400 || e.Status > 499 || e.Code == "" {
				t.Fatalf("DecodeJSON(%q) = %v, want a 4xx *Error with a code", body, err)
			}
			// Every object of known fields with string or null values, under a JSON media type
			// and within the limit, is accepted.
			if readable && jsonType && fits && stringFields(trimmed, "name", "type", "expiresAt") {
				t.Fatalf("DecodeJSON(%q) = %v, want the object accepted", trimmed, err)
			}
			return
		}

		if !jsonType {
			t.Fatalf("DecodeJSON accepted Content-Type %q", contentType)
		}
		if !fits {
			t.Fatalf("DecodeJSON accepted a body of %d bytes (%d sent), over the limit", len(raw), len(body))
		}
		// One object, each field once, spelled exactly as documented.
		if !stringFields(trimmed, "name", "type", "expiresAt") {
			t.Fatalf("DecodeJSON accepted %q, which is not one object of known fields, each once", trimmed)
		}
		var plain createBody
		if err := json.Unmarshal(trimmed, &plain); err != nil || !reflect.DeepEqual(plain, dst) {
			t.Fatalf("DecodeJSON(%q) decoded %+v, encoding/json %+v (%v)", trimmed, dst, plain, err)
		}
		again, err := json.Marshal(dst)
		if err != nil {
			t.Fatal(err)
		}
		var back createBody
		if err := DecodeJSON(jsonRequest(string(again)), MaxBody, &back); err != nil || !reflect.DeepEqual(back, dst) {
			t.Fatalf("round trip of %s: got %+v, %v, want %+v", again, back, err, dst)
		}
	})
}

// stringFields reports whether b is one JSON object whose fields, each named once, are among
// names and hold a string or null.
func stringFields(b []byte, names ...string) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, _ := tok.(string)
		if err != nil || seen[name] || !slices.Contains(names, name) {
			return false
		}
		seen[name] = true
		var v *string
		if err := dec.Decode(&v); err != nil {
			return false
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
}

func claimsRequest(claims map[string]string) Request {
	return Request{RequestContext: events.APIGatewayV2HTTPRequestContext{
		Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		},
	}}
}

func TestSession(t *testing.T) {
	cases := []struct {
		name     string
		claims   map[string]string
		want     access.Principal
		wantCode string
	}{
		{"agent", map[string]string{"sub": "u1", "custom:environment_id": "e1", "cognito:groups": "[agents]"}, access.Principal{UserID: "u1", EnvironmentID: "e1"}, ""},
		{"admin among groups", map[string]string{"sub": "u1", "custom:environment_id": "e1", "cognito:groups": "[agents admin]"}, access.Principal{UserID: "u1", EnvironmentID: "e1", Admin: true}, ""},
		{"admin json array", map[string]string{"sub": "u1", "custom:environment_id": "e1", "cognito:groups": `["admin"]`}, access.Principal{UserID: "u1", EnvironmentID: "e1", Admin: true}, ""},
		{"admin bare", map[string]string{"sub": "u1", "custom:environment_id": "e1", "cognito:groups": "admin"}, access.Principal{UserID: "u1", EnvironmentID: "e1", Admin: true}, ""},
		{"group named like admin", map[string]string{"sub": "u1", "custom:environment_id": "e1", "cognito:groups": "[administrators]"}, access.Principal{UserID: "u1", EnvironmentID: "e1"}, ""},
		{"no sub", map[string]string{"custom:environment_id": "e1"}, access.Principal{}, "unauthenticated"},
		{"no environment", map[string]string{"sub": "u1"}, access.Principal{}, "no_environment"},
		// "#" separates the parts of the table's keys: env "e#1" with user "u" and env "e"
		// with user "1#u" would otherwise name the same items.
		{"sub with a key separator", map[string]string{"sub": "1#u", "custom:environment_id": "e"}, access.Principal{}, "unauthenticated"},
		{"environment with a key separator", map[string]string{"sub": "u", "custom:environment_id": "e#1"}, access.Principal{}, "no_environment"},
		{"sub too long", map[string]string{"sub": strings.Repeat("u", 129), "custom:environment_id": "e1"}, access.Principal{}, "unauthenticated"},
		{"sub with a control character", map[string]string{"sub": "ann\n", "custom:environment_id": "e1"}, access.Principal{}, "unauthenticated"},
		{"email as sub", map[string]string{"sub": "ann+crm@brokerage.example", "custom:environment_id": "e1"}, access.Principal{UserID: "ann+crm@brokerage.example", EnvironmentID: "e1"}, ""},
		{"Auth0 sub", map[string]string{"sub": "google-oauth2|1098", "custom:environment_id": "e1"}, access.Principal{UserID: "google-oauth2|1098", EnvironmentID: "e1"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Session(claimsRequest(c.claims), DefaultClaimNames)
			if c.wantCode != "" {
				if p := ProblemFor(err); p.Code != c.wantCode {
					t.Errorf("got code %q, want %q", p.Code, c.wantCode)
				}
				return
			}
			if err != nil || access.Principal(got) != c.want {
				t.Errorf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	if _, err := Session(Request{Headers: map[string]string{"x-user-id": "u1"}}, DefaultClaimNames); ProblemFor(err).Status != 401 {
		t.Error("a request without verified claims was accepted")
	}
}

func TestKeyCaller(t *testing.T) {
	req := Request{RequestContext: events.APIGatewayV2HTTPRequestContext{
		Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]interface{}{
			"tokenId": "tok_1", "tokenName": "Zapier", "type": "admin", "userId": "u1", "environmentId": "e1", "scope": "environment",
		}},
	}}
	got, err := KeyCaller(req)
	if err != nil || got.Scope != ScopeEnvironment || got.UserID != "u1" {
		t.Errorf("KeyCaller = %+v, %v", got, err)
	}
	req.RequestContext.Authorizer.Lambda["scope"] = "everything"
	if _, err := KeyCaller(req); err == nil {
		t.Error("KeyCaller accepted an unknown scope")
	}
	if _, err := KeyCaller(Request{}); err == nil {
		t.Error("KeyCaller accepted a request without authorizer context")
	}
}

func TestProblemFor(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("get: %w", tokenstore.ErrNotFound), 404, "token_not_found"},
		{access.ErrNotFound, 404, "token_not_found"},
		{access.ErrAdminRequired, 403, "admin_required"},
		{access.ErrOwnerOnly, 403, "owner_only"},
		{tokenstore.ErrLimitReached, 409, "token_limit_reached"},
		{tokenstore.ErrExpired, 409, "token_expired"},
		{tokenstore.ErrBadCursor, 400, "invalid_cursor"},
		{Errorf(400, "invalid_name", "bad"), 400, "invalid_name"},
		{fmt.Errorf("list: %w", cursor.ErrInvalid), 400, "invalid_cursor"},
		{tokenstore.ErrIdempotencyMismatch, 409, "idempotency_key_reused"},
		{tokenstore.ErrIdempotentTokenDeleted, 409, "idempotency_key_reused"},
		{tokenstore.ErrConflict, 409, "conflict"},
		// A 5xx answer never carries its own detail: internal text stays out.
		{Errorf(503, "table_down", "dynamodb table apitokens-prod is throttled"), 500, "internal_error"},
		{errors.New("dynamodb: connection reset by 10.0.0.1"), 500, "internal_error"},
	}
	for _, c := range cases {
		p := ProblemFor(c.err)
		if p.Status != c.status || p.Code != c.code || p.Type != "about:blank" || p.Title == "" ||
			(p.Status >= 500 && p.Detail != "Something went wrong on our side; try again later.") {
			t.Errorf("ProblemFor(%v) = %+v, want %d %s", c.err, p, c.status, c.code)
		}
	}
}

func TestHandleHidesInternalErrors(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := Handle("test", log, func(ctx context.Context, req Request) (Response, error) {
		return Response{}, errors.New("secret internal detail")
	})
	resp, err := h(context.Background(), Request{RouteKey: "GET /x", RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1"}})
	if err != nil {
		t.Fatalf("handler returned a Go error for an HTTP outcome: %v", err)
	}
	if resp.StatusCode != 500 || strings.Contains(resp.Body, "secret internal detail") {
		t.Errorf("response %d %s leaks the internal error", resp.StatusCode, resp.Body)
	}
	if resp.Headers["content-type"] != "application/problem+json" {
		t.Errorf("content-type = %q", resp.Headers["content-type"])
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log is not one JSON line: %q", logs.String())
	}
	if line["requestId"] != "req-1" || line["status"] != float64(500) || line["err"] != "secret internal detail" || line["level"] != "ERROR" {
		t.Errorf("log line = %v", line)
	}
}

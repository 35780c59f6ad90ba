package openapitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/testkit/openapitest"
)

// The checker must refuse what the document does not describe, or it proves nothing.
func TestCheck(t *testing.T) {
	doc, err := openapitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	problem := func(status int, code string) string {
		return fmt.Sprintf(`{"type":"about:blank","title":%q,"status":%d,"code":%q,"detail":"x"}`, http.StatusText(status), status, code)
	}
	format, err := apikey.NewFormat("cbk_")
	if err != nil {
		t.Fatal(err)
	}
	key, err := format.Generate()
	if err != nil {
		t.Fatal(err)
	}
	reveal := `{"id":"tok_01JDQ7Z8W5K3N2M1P0Q9R8S7T6","key":"` + key + `"}`
	tests := []struct {
		name, method, target string
		status               int
		contentType, body    string
		headers              map[string]string
		wantErr              string // "" when the response is as described
	}{
		{"problem as described", "GET", "/v1/tokens/tok_01JDQ7Z8W5K3N2M1P0Q9R8S7T6", 404, "application/problem+json", problem(404, "token_not_found"), nil, ""},
		{"gateway refusal as described", "GET", "/v1/me", 403, "application/json", `{"message":"Forbidden"}`, nil, ""},
		{"undocumented status", "GET", "/v1/me", 418, "application/json", `{}`, nil, "418"},
		{"problem without its code", "GET", "/v1/tokens/tok_01JDQ7Z8W5K3N2M1P0Q9R8S7T6", 404, "application/problem+json", `{"type":"about:blank","title":"x","status":404}`, nil, "missing property 'code'"},
		{"key without no-store", "POST", "/v1/tokens/tok_01JDQ7Z8W5K3N2M1P0Q9R8S7T6/reveal", 200, "application/json", reveal, nil, "Cache-Control"},
		{"key with no-store", "POST", "/v1/tokens/tok_01JDQ7Z8W5K3N2M1P0Q9R8S7T6/reveal", 200, "application/json", reveal, map[string]string{"Cache-Control": "no-store"}, ""},
		{"body off its schema", "GET", "/v1/tokens", 200, "application/json", `{"items":"none"}`, nil, "items"},
		{"wrong content type", "GET", "/v1/tokens/tok_01JDQ7Z8W5K3N2M1P0Q9R8S7T6", 404, "text/plain", "not found", nil, "text/plain"},
		{"date-time as described", "POST", "/v1/hooks/zapier", 202, "application/json", `{"id":"evt_01KAZ3K0A1B2C3D4E5F6G7H8J9","receivedAt":"2026-11-25T18:00:00Z"}`, nil, ""},
		{"date-time in year 10000", "POST", "/v1/hooks/zapier", 202, "application/json", `{"id":"evt_01KAZ3K0A1B2C3D4E5F6G7H8J9","receivedAt":"10000-01-01T00:00:00Z"}`, nil, "date-time"},
		{"unknown path", "GET", "/v1/nothing", 200, "application/json", `{}`, nil, "/v1/nothing"},
		{"unknown method", "PUT", "/v1/me", 200, "application/json", `{}`, nil, "PUT"},
	}
	// A key where the id belongs: the error says which field, and never quotes the key.
	tests = append(tests, struct {
		name, method, target string
		status               int
		contentType, body    string
		headers              map[string]string
		wantErr              string
	}{"key in the id field", "POST", "/v1/tokens/tok_01JDQ7Z8W5K3N2M1P0Q9R8S7T6/reveal", 200, "application/json",
		`{"id":"` + key + `","key":"` + key + `"}`, map[string]string{"Cache-Control": "no-store"}, "[API key]"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://127.0.0.1:3000"+tt.target, nil)
			rec := httptest.NewRecorder()
			rec.Header().Set("content-type", tt.contentType)
			for k, v := range tt.headers {
				rec.Header().Set(k, v)
			}
			rec.WriteHeader(tt.status)
			io.WriteString(rec, tt.body)
			err := doc.Check(req, rec.Result())
			if err != nil && strings.Contains(err.Error(), key) {
				t.Fatalf("the error quotes the key")
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("got no error, want one about %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("got %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

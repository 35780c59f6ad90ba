package authorizer_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// samEvent reads an event as `sam local generate-event` writes it (tools/sam-events.sh) into a
// map, so a test can put the key where that payload carries it.
func samEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/sam/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestSAMEvents holds the handler to the shapes SAM generates. SAM has no generator for an
// HTTP API's Lambda authorizer, so the 2.0 request it generates is given the fields API Gateway
// adds for one (type, routeArn, identitySource from $request.header.Authorization). SAM's REST
// API authorizer events, which only a misconfigured API would send, must be refused.
func TestSAMEvents(t *testing.T) {
	f := newFixture(t)
	_, key := f.mint(tokenstore.TypeUser, "ann", nil)
	header := "Bearer " + key

	httpAPI := func(identity ...string) map[string]any {
		ev := samEvent(t, "http-api-get.json")
		ev["type"] = "REQUEST"
		ev["routeArn"] = "arn:aws:execute-api:us-east-1:123456789012:api-id/$default/GET/v1/me"
		ev["routeKey"] = "GET /v1/me"
		ev["headers"].(map[string]any)["Authorization"] = header // as `sam local start-api` spells it
		if identity != nil {
			ev["identitySource"] = identity
		}
		return ev
	}
	rest := samEvent(t, "request-authorizer.json")
	rest["headers"].(map[string]any)["Authorization"] = header
	token := samEvent(t, "token-authorizer.json")
	token["authorizationToken"] = header

	tests := []struct {
		name     string
		event    map[string]any
		allowed  bool
		getItems int
	}{
		{"HTTP API request with the key", httpAPI(header), true, 1},
		{"HTTP API request, identity source left out", httpAPI(), false, 0},
		{"REST API request authorizer event (payload 1.0)", rest, false, 0},
		{"REST API token authorizer event", token, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayV2CustomAuthorizerV2Request
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatal(err)
			}
			f.calls.Reset()
			f.reads.reset()
			f.advance(memoryTTL) // past the answer cache, so each case looks the key up afresh
			resp, err := f.auth.Handler(service.Logger(&f.logs))(context.Background(), req)
			if err != nil {
				t.Fatalf("got error %v, want an answer", err)
			}
			if resp.IsAuthorized != tt.allowed {
				t.Errorf("got isAuthorized %v, want %v", resp.IsAuthorized, tt.allowed)
			}
			if tt.allowed && resp.Context["userId"] != "ann" {
				t.Errorf("got context %v, want ann's", resp.Context)
			}
			if got := f.calls.Count("DynamoDB.GetItem") - f.reads.count("POLICY"); got != tt.getItems {
				t.Errorf("got %d GetItem calls, want %d", got, tt.getItems)
			}
		})
	}
}

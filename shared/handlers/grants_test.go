package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/permission"
	"github.com/apitokens/apitokens/testkit/emulatortest"
)

// keyDoFrom is keyDo from the source address ip; X-Forwarded-For says 10.0.0.1 whatever ip is,
// and must count for nothing.
func (a *api) keyDoFrom(ip, key, method, target, body string) reply {
	a.t.Helper()
	raw, err := os.ReadFile("testdata/key-request.json")
	if err != nil {
		a.t.Fatal(err)
	}
	req := fixture(a.t)
	if err := json.Unmarshal(raw, &req); err != nil {
		a.t.Fatal(err)
	}
	req.RequestContext.HTTP.SourceIP = ip
	return a.keyDoOn(req, key, method, target, body, "x-forwarded-for", "10.0.0.1")
}

// code is a problem answer's code.
func (r reply) code() string { return r.str("code") }

func (a *api) expectProblem(r reply, status int, code, what string) {
	a.t.Helper()
	if r.status != status || r.code() != code {
		a.t.Errorf("%s: %d %s, want %d %s", what, r.status, r.shown(), status, code)
	}
}

func list(r reply, k string) []string {
	var out []string
	for _, v := range r.body[k].([]any) {
		out = append(out, v.(string))
	}
	return out
}

func TestPermissionsOfAKey(t *testing.T) {
	a := newAPI(t, 50)
	reader := a.create(ann, `{"name":"Contacts sync","permissions":["hooks:read","hooks:read"]}`)
	if got := list(reader, "permissions"); !slices.Equal(got, []string{"hooks:read"}) || reader.body["allowedCidrs"] != nil {
		t.Fatalf("create: permissions %q allowedCidrs %v, want [hooks:read] null", got, reader.body["allowedCidrs"])
	}
	key := reader.str("key")
	for _, round := range []string{"fresh", "cached"} {
		if r := a.keyDo(key, "GET", "/v1/hooks/events", ""); r.status != 200 {
			t.Errorf("%s: a hooks:read key lists: %d %s", round, r.status, r.shown())
		}
		if r := a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`); r.status != 403 || a.lastDecision.Reason != authorizer.ReasonPermission {
			t.Errorf("%s: a hooks:read key posts: %d (%s), want 403 for permission", round, r.status, a.lastDecision.Reason)
		}
		if round == "cached" && !a.lastDecision.Cached {
			t.Error("the second round was not answered from memory")
		}
	}
	me := a.keyDo(key, "GET", "/v1/me", "")
	if me.status != 200 || !slices.Equal(list(me, "permissions"), []string{"hooks:read"}) || me.body["allowedCidrs"] != nil {
		t.Errorf("me = %d %s, want its permissions and allowedCidrs null", me.status, me.shown())
	}
	writer := a.create(ann, `{"name":"Writer","permissions":["hooks:write"]}`).str("key")
	if r := a.keyDo(writer, "GET", "/v1/hooks/events", ""); r.status != 200 {
		t.Errorf("hooks:write implies hooks:read: %d", r.status)
	}
	none := a.create(ann, `{"name":"Nothing","permissions":[]}`).str("key")
	if r := a.keyDo(none, "GET", "/v1/me", ""); r.status != 200 {
		t.Errorf("/v1/me needs no permission: %d", r.status)
	}
	if r := a.keyDo(none, "GET", "/v1/hooks/events", ""); r.status != 403 {
		t.Errorf("an empty permission list lists: %d", r.status)
	}

	// An edit reaches the key once the answer in memory is older than its TTL.
	id := reader.str("id")
	if r := a.do(ann, "PATCH", "/v1/tokens/"+id, `{"permissions":["hooks:write"]}`); r.status != 200 || !slices.Equal(list(r, "permissions"), []string{"hooks:write"}) {
		t.Fatalf("edit permissions: %d %s", r.status, r.shown())
	}
	a.advance(5 * time.Second)
	if r := a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`); r.status != 202 {
		t.Errorf("after the edit: %d, want 202", r.status)
	}
	audit := a.do(ann, "GET", "/v1/tokens/"+id+"/audit", "")
	if first := audit.body["items"].([]any)[0].(map[string]any); first["action"] != "edit" {
		t.Errorf("newest audit record %v, want edit", first)
	}
}

func TestAllowedCIDRsOfAKey(t *testing.T) {
	a := newAPI(t, 50)
	tok := a.create(ann, `{"name":"Office only","allowedCidrs":["10.1.2.3/8"]}`)
	if got := list(tok, "allowedCidrs"); !slices.Equal(got, []string{"10.0.0.0/8"}) {
		t.Fatalf("allowedCidrs = %q, want normalised [10.0.0.0/8]", got)
	}
	key := tok.str("key")
	for _, c := range []struct {
		ip   string
		want int
	}{{"127.0.0.1", 403}, {"10.20.30.40", 200}, {"54.86.9.50", 403}} {
		if r := a.keyDoFrom(c.ip, key, "GET", "/v1/me", ""); r.status != c.want {
			t.Errorf("from %s (X-Forwarded-For 10.0.0.1): %d, want %d", c.ip, r.status, c.want)
		} else if c.want == 403 && a.lastDecision.Reason != authorizer.ReasonAddress {
			t.Errorf("from %s: reason %s, want address", c.ip, a.lastDecision.Reason)
		}
	}
	if r := a.do(ann, "PATCH", "/v1/tokens/"+tok.str("id"), `{"allowedCidrs":null}`); r.status != 200 || r.body["allowedCidrs"] != nil {
		t.Errorf("edit allowedCidrs null: %d %s", r.status, r.shown())
	}
}

func TestGrantsRefused(t *testing.T) {
	a := newAPI(t, 50)
	for _, c := range []struct{ body, code string }{
		{`{"name":"x","permissions":["hooks:delete"]}`, "invalid_permission"},
		{`{"name":"x","permissions":"hooks:read"}`, "invalid_permission"},
		{`{"name":"x","permissions":[1]}`, "invalid_permission"},
		{`{"name":"x","allowedCidrs":["nowhere"]}`, "invalid_cidr"},
		{`{"name":"x","allowedCidrs":[]}`, "invalid_cidr"},
		{`{"name":"x","allowedCidrs":["10.0.0.0/33"]}`, "invalid_cidr"},
		{fmt.Sprintf(`{"name":"x","allowedCidrs":[%s"10.0.0.0/8"]}`, strings.Repeat(`"10.0.0.1",`, 20)), "invalid_cidr"},
	} {
		a.expectProblem(a.do(ann, "POST", "/v1/tokens", c.body), 400, c.code, c.body)
	}
	if r := a.do(ann, "GET", "/v1/tokens", ""); len(r.body["items"].([]any)) != 0 {
		t.Errorf("refused creates stored %d tokens", len(r.body["items"].([]any)))
	}
	id := a.create(ann, `{"name":"x"}`).str("id")
	a.expectProblem(a.do(ann, "PATCH", "/v1/tokens/"+id, `{}`), 400, "invalid_json", "empty edit")
	a.expectProblem(a.do(ann, "PATCH", "/v1/tokens/"+id, `{"permissions":["deals:write"]}`), 400, "invalid_permission", "edit")
	a.expectProblem(a.do(ann, "PATCH", "/v1/tokens/"+id, `{"allowedCidrs":["::1%lo"]}`), 400, "invalid_cidr", "edit")
	// A null name is no string: refused, and the permissions beside it are not stored either.
	a.expectProblem(a.do(ann, "PATCH", "/v1/tokens/"+id, `{"name":null,"permissions":["hooks:read"]}`), 400, "invalid_field_type", "null name")
	a.expectProblem(a.do(ann, "PATCH", "/v1/tokens/"+id, `{"name":7}`), 400, "invalid_field_type", "a number for a name")
	if r := a.do(ann, "GET", "/v1/tokens/"+id, ""); r.body["permissions"] != nil || r.body["allowedCidrs"] != nil || r.str("name") != "x" {
		t.Errorf("refused edits changed the token: %s", r.shown())
	}
}

func TestPolicy(t *testing.T) {
	a := newAPI(t, 50)
	older := a.create(ann, `{"name":"Made before the policy"}`)
	if r := a.keyDo(older.str("key"), "GET", "/v1/me", ""); r.status != 200 {
		t.Fatalf("older key: %d", r.status)
	}
	def := a.do(ann, "GET", "/v1/policy", "")
	if def.status != 200 || def.body["agentFullAccess"] != true || def.body["maxLifetimeDays"] != nil {
		t.Errorf("default policy = %d %s", def.status, def.shown())
	}
	// The answer lists the catalogue, read-only, for a client to offer what a token may hold.
	catalogue, _ := json.Marshal(permission.Catalogue())
	if want := `"catalogue":` + string(catalogue); len(permission.Catalogue()) == 0 || !strings.Contains(def.raw, want) {
		t.Errorf("policy %s lacks %s", def.raw, want)
	}
	a.expectProblem(a.do(ann, "PUT", "/v1/policy", `{"agentFullAccess":false}`), 403, "admin_required", "an agent sets the policy")
	for _, c := range []struct{ body, code string }{
		{`{"maxLifetimeDays":0}`, "invalid_policy"},
		{`{"agentPermissions":["hooks:delete"]}`, "invalid_permission"},
		{`{"maxRateLimit":{"requests":0,"windowSeconds":60}}`, "invalid_rate_limit"},
		{`{"defaultRateLimit":{"requests":10,"windowSeconds":3601}}`, "invalid_rate_limit"},
		{`{"defaultRateLimit":{"requests":100,"windowSeconds":1},"maxRateLimit":{"requests":10,"windowSeconds":1}}`, "invalid_rate_limit"},
		{`{"maxRateLimit":{"requests":10.5,"windowSeconds":60}}`, "invalid_rate_limit"},
		{`{"maxLifetimeDays":30.5}`, "invalid_policy"},
		{`{"requireAllowedCidrs":null}`, "invalid_field_type"},
		{`{"agentFullAccess":null}`, "invalid_field_type"},
		{`{"catalogue":[]}`, "unknown_field"},
	} {
		a.expectProblem(a.do(adam, "PUT", "/v1/policy", c.body), 400, c.code, c.body)
	}
	// Whole numbers written with a fraction part are the integers JSON Schema takes them for.
	if r := a.do(adam, "PUT", "/v1/policy", `{"maxLifetimeDays":30.0,"maxRateLimit":{"requests":26237.0,"windowSeconds":91}}`); r.status != 200 || r.body["maxLifetimeDays"] != float64(30) || r.body["maxRateLimit"].(map[string]any)["requests"] != float64(26237) {
		t.Errorf("put a policy of whole numbers written as 30.0: %d %s", r.status, r.shown())
	}
	set := a.do(adam, "PUT", "/v1/policy", `{"maxLifetimeDays":30,"agentFullAccess":false,"agentPermissions":["hooks:read"],"requireAllowedCidrs":false,"defaultRateLimit":null,"maxRateLimit":{"requests":100,"windowSeconds":60}}`)
	if set.status != 200 || set.body["maxLifetimeDays"] != float64(30) {
		t.Fatalf("put policy: %d %s", set.status, set.shown())
	}
	if got := a.do(carl, "GET", "/v1/policy", ""); got.raw != set.raw {
		t.Errorf("policy read back %s, want %s", got.raw, set.raw)
	}
	if other := a.do(eve, "GET", "/v1/policy", ""); other.body["maxLifetimeDays"] != nil {
		t.Errorf("the policy reached another environment: %s", other.raw)
	}
	in := func(days int) string { return a.clock().Add(time.Duration(days) * 24 * time.Hour).Format(time.RFC3339) }
	a.expectProblem(a.do(ann, "POST", "/v1/tokens", `{"name":"x","permissions":["hooks:read"]}`), 400, "policy_violation", "no expiry")
	a.expectProblem(a.do(ann, "POST", "/v1/tokens", `{"name":"x","permissions":["hooks:read"],"expiresAt":"`+in(31)+`"}`), 400, "policy_violation", "31 days")
	a.expectProblem(a.do(ann, "POST", "/v1/tokens", `{"name":"x","expiresAt":"`+in(10)+`"}`), 403, "permission_not_allowed", "agent full access")
	a.expectProblem(a.do(ann, "POST", "/v1/tokens", `{"name":"x","permissions":["hooks:write"],"expiresAt":"`+in(10)+`"}`), 403, "permission_not_allowed", "agent writes")
	ok := a.create(ann, `{"name":"x","permissions":["hooks:read"],"expiresAt":"`+in(30)+`"}`)
	if p := ok.body["policy"].(map[string]any); p["compliant"] != true {
		t.Errorf("a token inside the policy shows %v", p)
	}
	a.expectProblem(a.do(ann, "PATCH", "/v1/tokens/"+ok.str("id"), `{"permissions":null}`), 403, "permission_not_allowed", "edit to full access")
	if r := a.create(adam, `{"name":"admin","expiresAt":"`+in(5)+`"}`); r.body["permissions"] != nil {
		t.Errorf("an admin's full-access token: %s", r.shown())
	}

	// The older token shows outside the policy, with the rule, and cannot be rolled.
	got := a.do(ann, "GET", "/v1/tokens/"+older.str("id"), "")
	p, _ := got.body["policy"].(map[string]any)
	if p == nil || p["compliant"] != false || !strings.HasPrefix(fmt.Sprint(p["reason"]), "maxLifetimeDays") {
		t.Errorf("older token's policy = %v, want outside, maxLifetimeDays", p)
	}
	listed := a.do(ann, "GET", "/v1/tokens", "")
	for _, it := range listed.body["items"].([]any) {
		if it := it.(map[string]any); it["id"] == older.str("id") && it["policy"].(map[string]any)["compliant"] != false {
			t.Errorf("list shows the older token as %v", it["policy"])
		}
	}
	a.expectProblem(a.do(ann, "POST", "/v1/tokens/"+older.str("id")+"/roll", ""), 400, "policy_violation", "roll outside the policy")
	// And its key is refused within a minute.
	a.advance(authorizer.DefaultPolicyTTL)
	if r := a.keyDo(older.str("key"), "GET", "/v1/me", ""); r.status != 403 || a.lastDecision.Reason != authorizer.ReasonPolicy {
		t.Errorf("older key after the policy: %d %s, want 403 for policy", r.status, a.lastDecision.Reason)
	}
	if r := a.keyDo(ok.str("key"), "GET", "/v1/hooks/events", ""); r.status != 200 {
		t.Errorf("a key inside the policy: %d", r.status)
	}
}

func TestTransfer(t *testing.T) {
	a := newAPI(t, 50)
	tok := a.create(ann, `{"name":"Zapier Sync"}`)
	id, key := tok.str("id"), tok.str("key")
	a.expectProblem(a.do(ann, "POST", "/v1/tokens/"+id+"/transfer", `{"userId":"carl"}`), 403, "admin_required", "agent hands over own token")
	a.expectProblem(a.do(carl, "POST", "/v1/tokens/"+id+"/transfer", `{"userId":"carl"}`), 404, "token_not_found", "agent takes another's token")
	a.expectProblem(a.do(adam, "POST", "/v1/tokens/"+id+"/transfer", `{"userId":"a#b"}`), 400, "invalid_user_id", "bad user")
	a.expectProblem(a.do(eve, "POST", "/v1/tokens/"+id+"/transfer", `{"userId":"eve"}`), 404, "token_not_found", "another environment")
	moved := a.do(adam, "POST", "/v1/tokens/"+id+"/transfer", `{"userId":"carl"}`)
	if moved.status != 200 || moved.str("userId") != "carl" || moved.str("hint") != tok.str("hint") {
		t.Fatalf("transfer: %d %s", moved.status, moved.shown())
	}
	a.advance(5 * time.Second)
	if me := a.keyDo(key, "GET", "/v1/me", ""); me.status != 200 || me.str("userId") != "carl" {
		t.Errorf("the key after the transfer: %d %s, want it working as carl's", me.status, me.shown())
	}
	a.expectProblem(a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", ""), 404, "token_not_found", "old owner views")
	a.expectProblem(a.do(adam, "POST", "/v1/tokens/"+id+"/reveal", ""), 403, "owner_only", "admin views")
	if r := a.do(carl, "POST", "/v1/tokens/"+id+"/reveal", ""); r.status != 200 || r.str("key") != key {
		t.Errorf("new owner views: %d, same key %v", r.status, r.str("key") == key)
	}
	if r := a.do(ann, "GET", "/v1/tokens", ""); len(r.body["items"].([]any)) != 0 {
		t.Errorf("the old owner still lists %d tokens", len(r.body["items"].([]any)))
	}
}

func TestDeactivateUserTokens(t *testing.T) {
	a := newAPI(t, 50)
	var keys []string
	for _, name := range []string{"one", "two"} {
		keys = append(keys, a.create(ann, `{"name":"`+name+`"}`).str("key"))
	}
	carlKey := a.create(carl, `{"name":"carl's"}`).str("key")
	a.expectProblem(a.do(ann, "POST", "/v1/users/ann/tokens/deactivate", ""), 403, "admin_required", "an agent")
	r := a.do(adam, "POST", "/v1/users/ann/tokens/deactivate", "")
	if r.status != 200 || r.body["deactivated"] != float64(2) {
		t.Fatalf("deactivate ann's tokens: %d %s", r.status, r.shown())
	}
	if again := a.do(adam, "POST", "/v1/users/ann/tokens/deactivate", ""); again.body["deactivated"] != float64(0) {
		t.Errorf("again: %s, want 0", again.raw)
	}
	a.advance(5 * time.Second)
	for _, k := range keys {
		if r := a.keyDo(k, "GET", "/v1/me", ""); r.status != 403 {
			t.Errorf("a suspended user's key: %d", r.status)
		}
	}
	if r := a.keyDo(carlKey, "GET", "/v1/me", ""); r.status != 200 {
		t.Errorf("another user's key: %d", r.status)
	}
}

func TestOwnerLeft(t *testing.T) {
	a := newAPI(t, 50)
	key := a.create(ann, `{"name":"one"}`).str("key")
	ctx := emulatortest.WithCaller(context.Background(), "OwnerLeftFunction")
	h := handlers.OwnerLeft(a.deps)
	ev := events.CloudWatchEvent{ID: "e1", DetailType: "AWS API Call via CloudTrail", Source: "aws.cognito-idp",
		Detail: json.RawMessage(`{"eventSource":"cognito-idp.amazonaws.com","eventName":"AdminDisableUser","requestParameters":{"userPoolId":"us-east-1_X","username":"ann"}}`)}
	got, err := h(ctx, ev)
	if err != nil || got.Deactivated != 1 || got.User != "ann" {
		t.Fatalf("owner left = %+v, %v, want ann's one token", got, err)
	}
	a.advance(5 * time.Second)
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 403 {
		t.Errorf("the key of a user who left: %d", r.status)
	}
	ev.Detail = json.RawMessage(`{"eventName":"AdminDeleteUser","requestParameters":{"username":"a#b"}}`)
	if got, err := h(ctx, ev); err != nil || got.Deactivated != 0 {
		t.Errorf("an event without a usable user = %+v, %v, want nothing done", got, err)
	}
}

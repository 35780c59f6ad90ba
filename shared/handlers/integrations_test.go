package handlers_test

import (
	"context"
	"encoding/json"
	"github.com/apitokens/apitokens/shared/authorizer"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apitokens/apitokens/shared/httpapi"
)

// keyDo calls an integration route with an API key as API Gateway would: the key authorizer
// first (403 {"message":"Forbidden"} when it refuses), then the route with its context.
func (a *api) keyDo(key, method, target, body string, headers ...string) reply {
	a.t.Helper()
	raw, err := os.ReadFile("testdata/key-request.json")
	if err != nil {
		a.t.Fatal(err)
	}
	req := fixture(a.t) // the session fixture's shape, with the key fixture's content below
	if err := json.Unmarshal(raw, &req); err != nil {
		a.t.Fatal(err)
	}
	return a.keyDoOn(req, key, method, target, body, headers...)
}

// keyDoOn is keyDo starting from the request req; headers come in name, value pairs.
func (a *api) keyDoOn(req httpapi.Request, key, method, target, body string, headers ...string) reply {
	a.t.Helper()
	a.aim(&req, method, target, body)
	d, err := a.auth.Authorize(asAuthorizer(context.Background()), authorizer.Call{
		Header: "Bearer " + key, Route: req.RouteKey, SourceIP: req.RequestContext.HTTP.SourceIP,
	})
	if err != nil {
		a.t.Fatalf("authorizer failed: %v", err)
	}
	a.lastDecision = d
	if !d.Allowed {
		return reply{status: 403, raw: `{"message":"Forbidden"}`, body: map[string]any{"message": "Forbidden"}}
	}
	req.RequestContext.Authorizer.JWT = nil
	req.RequestContext.Authorizer.Lambda = d.Context
	req.Headers["authorization"] = "Bearer " + key
	for i := 0; i+1 < len(headers); i += 2 {
		req.Headers[headers[i]] = headers[i+1]
	}
	return a.send(req)
}

func TestMe(t *testing.T) {
	a := newAPI(t, 50)
	user := a.create(ann, `{"name":"Zapier Sync"}`)
	admin := a.create(adam, `{"name":"Brokerage sync","type":"admin"}`)
	for _, c := range []struct {
		token          reply
		user, typ, scp string
	}{{user, "ann", "user", "user"}, {admin, "adam", "admin", "environment"}} {
		r := a.keyDo(c.token.str("key"), "GET", "/v1/me", "")
		want := map[string]any{"tokenId": c.token.str("id"), "tokenName": c.token.str("name"), "type": c.typ,
			"userId": c.user, "environmentId": "env-1", "scope": c.scp, "permissions": nil, "allowedCidrs": nil, "rateLimit": nil, "quota": nil}
		if r.status != 200 || len(r.body) != len(want) || !strings.Contains(r.raw, `"permissions":null`) {
			t.Fatalf("me = %d %s", r.status, r.shown())
		}
		for k, v := range want {
			if r.body[k] != v {
				t.Errorf("me: %s = %v, want %v", k, r.body[k], v)
			}
		}
	}
}

func TestKeyLifeThroughTheAuthorizer(t *testing.T) {
	a := newAPI(t, 50)
	c := a.create(ann, `{"name":"Zapier Sync"}`)
	key, id := c.str("key"), c.str("id")
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 200 {
		t.Fatalf("me = %d", r.status)
	}
	a.do(ann, "POST", "/v1/tokens/"+id+"/deactivate", "")
	a.advance(5 * time.Second)
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 403 {
		t.Errorf("after deactivate = %d, want 403", r.status)
	}
	a.do(ann, "POST", "/v1/tokens/"+id+"/activate", "")
	a.advance(5 * time.Second)
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 200 {
		t.Errorf("after activate = %d, want 200", r.status)
	}
	if g := a.do(ann, "GET", "/v1/tokens/"+id, ""); g.str("lastUsedAt") == "" {
		t.Errorf("lastUsedAt not set after use: %s", g.shown())
	}
	a.do(ann, "DELETE", "/v1/tokens/"+id, "")
	a.advance(5 * time.Second)
	if r := a.keyDo(key, "GET", "/v1/me", ""); r.status != 403 {
		t.Errorf("after delete = %d, want 403", r.status)
	}
	// A session is never a key: the authorizer refuses it without a lookup.
	if d, err := a.auth.Check(asAuthorizer(context.Background()), "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig"); err != nil || d.Allowed {
		t.Errorf("a session JWT on an integration route: allowed=%v err=%v", d.Allowed, err)
	}
}

func TestHooks(t *testing.T) {
	a := newAPI(t, 50)
	annKey := a.create(ann, `{"name":"ann's zap"}`).str("key")
	carlKey := a.create(carl, `{"name":"carl's zap"}`).str("key")
	adminKey := a.create(adam, `{"name":"office","type":"admin"}`).str("key")
	otherAdmin := a.create(eve, `{"name":"elsewhere","type":"admin"}`).str("key")
	body := `{"event":"listing.updated","listingId":"L-1"}`

	// 202: recorded for the key's owner.
	r := a.keyDo(annKey, "POST", "/v1/hooks/zapier", body)
	if r.status != 202 || !strings.HasPrefix(r.str("id"), "evt_") || r.str("receivedAt") != "2026-11-25T18:00:00Z" {
		t.Fatalf("post = %d %s", r.status, r.shown())
	}
	// An Admin key posts on behalf of a user of its environment.
	if r := a.keyDo(adminKey, "POST", "/v1/hooks/zapier?userId=carl", `{"event":"contact.created"}`); r.status != 202 {
		t.Errorf("admin key for carl = %d %s", r.status, r.shown())
	}

	refusals := []struct {
		name, key, target, body string
		headers                 []string
		status                  int
		code                    string
	}{
		{"user key for another user", annKey, "/v1/hooks/zapier?userId=carl", body, nil, 403, "user_scope"},
		{"admin key, unknown user", adminKey, "/v1/hooks/zapier?userId=stranger", body, nil, 404, "user_not_found"},
		{"admin key, user of another environment", otherAdmin, "/v1/hooks/zapier?userId=ann", body, nil, 404, "user_not_found"},
		{"admin key, malformed user", adminKey, "/v1/hooks/zapier?userId=a%23b", body, nil, 400, "invalid_user_id"},
		{"not an object", annKey, "/v1/hooks/zapier", `["x"]`, nil, 400, "invalid_json"},
		{"not json", annKey, "/v1/hooks/zapier", `event=x`, nil, 400, "invalid_json"},
		{"empty", annKey, "/v1/hooks/zapier", ``, nil, 400, "invalid_json"},
		{"a form feed after the object", annKey, "/v1/hooks/zapier", "{\"event\":\"x\"}\f", nil, 400, "invalid_json"},
		{"over 256 KiB", annKey, "/v1/hooks/zapier", `{"x":"` + strings.Repeat("a", 256<<10) + `"}`, nil, 413, "body_too_large"},
		{"form body", annKey, "/v1/hooks/zapier", `a=b`, []string{"content-type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"bad source", annKey, "/v1/hooks/Zap!er", body, nil, 400, "invalid_source"},
		{"reserved source", annKey, "/v1/hooks/events", body, nil, 400, "invalid_source"},
		{"bad idempotency key", annKey, "/v1/hooks/zapier", body, []string{"idempotency-key", "a\x01b"}, 400, "invalid_idempotency_key"},
		{"empty idempotency key", annKey, "/v1/hooks/zapier", body, []string{"idempotency-key", ""}, 400, "invalid_idempotency_key"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			r := a.keyDo(c.key, "POST", c.target, c.body, c.headers...)
			if r.status != c.status || r.str("code") != c.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.str("code"), c.status, c.code)
			}
		})
	}

	// Idempotency: the same key and body answer the first delivery; another body is refused.
	first := a.keyDo(carlKey, "POST", "/v1/hooks/zapier", body, "idempotency-key", "zap-123")
	a.advance(time.Minute)
	again := a.keyDo(carlKey, "POST", "/v1/hooks/zapier", body, "idempotency-key", "zap-123")
	if first.status != 202 || again.status != 202 || again.str("id") != first.str("id") || again.str("receivedAt") != first.str("receivedAt") {
		t.Errorf("repeat = %d %s, first = %s", again.status, again.shown(), first.shown())
	}
	if again.headers["idempotent-replayed"] != "true" {
		t.Errorf("repeat headers = %v", again.headers)
	}
	if r := a.keyDo(carlKey, "POST", "/v1/hooks/zapier", `{"other":1}`, "idempotency-key", "zap-123"); r.status != 409 || r.str("code") != "idempotency_key_reused" {
		t.Errorf("same key, other body = %d %s", r.status, r.shown())
	}

	list := func(key, target string) []string {
		t.Helper()
		r := a.keyDo(key, "GET", target, "")
		if r.status != 200 {
			t.Fatalf("list %s = %d %s", target, r.status, r.shown())
		}
		var who []string
		for _, it := range r.body["items"].([]any) {
			m := it.(map[string]any)
			who = append(who, m["userId"].(string)+":"+m["source"].(string))
			if _, ok := m["payload"].(map[string]any); !ok {
				t.Errorf("payload is not the object posted: %v", m["payload"])
			}
		}
		return who
	}
	if got := strings.Join(list(annKey, "/v1/hooks/events"), ","); got != "ann:zapier" {
		t.Errorf("ann's key lists %s", got)
	}
	if got := strings.Join(list(carlKey, "/v1/hooks/events"), ","); got != "carl:zapier,carl:zapier" {
		t.Errorf("carl's key lists %s (one idempotent repeat must not be stored)", got)
	}
	if got := len(list(adminKey, "/v1/hooks/events")); got != 3 {
		t.Errorf("admin key lists %d deliveries of its environment, want 3", got)
	}
	if got := strings.Join(list(adminKey, "/v1/hooks/events?userId=ann"), ","); got != "ann:zapier" {
		t.Errorf("admin key ?userId=ann lists %s", got)
	}
	if got := len(list(otherAdmin, "/v1/hooks/events")); got != 0 {
		t.Errorf("another environment's admin key lists %d deliveries", got)
	}
	if r := a.keyDo(annKey, "GET", "/v1/hooks/events?userId=carl", ""); r.status != 403 {
		t.Errorf("ann's key listing carl's = %d", r.status)
	}

	// Deliveries expire after 30 days through the table's TTL.
	out, err := a.env.DB.Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(a.env.TableName), KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "HOOKS#env-1#ann"}},
	})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("query = %v, %v", out, err)
	}
	var item struct {
		TTL int64 `dynamodbav:"ttl"`
	}
	attributevalue.UnmarshalMap(out.Items[0], &item)
	if want := a.clock().Add(-time.Minute).Add(30 * 24 * time.Hour).Unix(); item.TTL != want {
		t.Errorf("ttl = %d, want %d (30 days after receipt)", item.TTL, want)
	}
}

// A stored time that does not read back is a 500, never a zero time in an answer.
func TestHooksUnreadableStoredTime(t *testing.T) {
	a := newAPI(t, 50)
	key := a.create(ann, `{"name":"Zapier"}`).str("key")
	if r := a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`, "idempotency-key", "k1"); r.status != 202 {
		t.Fatalf("hook = %d %s", r.status, r.shown())
	}
	db := directDB(a)
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(a.env.TableName)})
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for _, it := range out.Items {
		if k, _ := it["kind"].(*types.AttributeValueMemberS); k == nil || (k.Value != "delivery" && k.Value != "delivery-idempotency") {
			continue
		}
		if _, ok := it["receivedAt"]; !ok {
			continue
		}
		it["receivedAt"] = &types.AttributeValueMemberS{Value: "10000-01-01T00:00:00Z"}
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(a.env.TableName), Item: it}); err != nil {
			t.Fatal(err)
		}
		changed++
	}
	if changed != 2 {
		t.Fatalf("changed %d items, want the delivery and its idempotency record", changed)
	}
	if r := a.keyDo(key, "GET", "/v1/hooks/events", ""); r.status != 500 {
		t.Errorf("list = %d %s, want 500", r.status, r.shown())
	}
	if r := a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`, "idempotency-key", "k1"); r.status != 500 {
		t.Errorf("repeat = %d %s, want 500", r.status, r.shown())
	}
}

// A list by source is served from a key: every page but the last holds limit deliveries, for one
// user and for the whole environment, however the sources are interleaved.
func TestHookEventsBySourcePages(t *testing.T) {
	a := newAPI(t, 50)
	annKey := a.create(ann, `{"name":"ann's zap"}`).str("key")
	carlKey := a.create(carl, `{"name":"carl's zap"}`).str("key")
	adminKey := a.create(adam, `{"name":"office","type":"admin"}`).str("key")
	// ann: 7 zapier among 14 make; carl: 4 zapier among 4 n8n.
	for i := range 21 {
		source := "make"
		if i%3 == 0 {
			source = "zapier"
		}
		if r := a.keyDo(annKey, "POST", "/v1/hooks/"+source, `{"n":1}`); r.status != 202 {
			t.Fatalf("post = %d %s", r.status, r.shown())
		}
		a.advance(time.Second)
	}
	for i := range 8 {
		source := []string{"zapier", "n8n"}[i%2]
		if r := a.keyDo(carlKey, "POST", "/v1/hooks/"+source, `{"n":2}`); r.status != 202 {
			t.Fatalf("post = %d %s", r.status, r.shown())
		}
		a.advance(time.Second)
	}
	cases := []struct {
		name, key, query string
		pages            []int
	}{
		{"one user's zapier", annKey, "source=zapier", []int{3, 3, 1}},
		{"one user's make", annKey, "source=make", []int{3, 3, 3, 3, 2}},
		{"admin, one user's zapier", adminKey, "userId=carl&source=zapier", []int{3, 1}},
		{"environment's zapier", adminKey, "source=zapier", []int{3, 3, 3, 2}},
		{"environment's n8n", adminKey, "source=n8n", []int{3, 1}},
		{"no such source", adminKey, "source=pipedream", []int{0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := strings.Split(c.query, "source=")[1]
			var got []int
			seen := map[string]bool{}
			last := "~"
			target := "/v1/hooks/events?limit=3&" + c.query
			for range 10 {
				r := a.keyDo(c.key, "GET", target, "")
				if r.status != 200 {
					t.Fatalf("list %s = %d %s", target, r.status, r.shown())
				}
				items := r.body["items"].([]any)
				got = append(got, len(items))
				for _, it := range items {
					m := it.(map[string]any)
					id := m["id"].(string)
					if m["source"] != want || seen[id] || id >= last {
						t.Errorf("item %s of source %v: want %s, each once, newest first", id, m["source"], want)
					}
					seen[id], last = true, id
				}
				next, _ := r.body["nextCursor"].(string)
				if next == "" {
					break
				}
				target = "/v1/hooks/events?limit=3&" + c.query + "&cursor=" + next
			}
			if !slices.Equal(got, c.pages) {
				t.Errorf("got pages of %v, want %v", got, c.pages)
			}
		})
	}
}

// An empty query parameter is an absent one, on every route that reads one: `cursor=` is the
// first page, `limit=` the default size, and an empty filter no filter.
func TestEmptyQueryParameterIsAbsent(t *testing.T) {
	a := newAPI(t, 50)
	created := a.create(ann, `{"name":"zap"}`)
	key, id := created.str("key"), created.str("id")
	if r := a.keyDo(key, "POST", "/v1/hooks/zapier?userId=", `{"a":1}`); r.status != 202 {
		t.Fatalf("POST /v1/hooks/zapier?userId= = %d %s, want 202", r.status, r.shown())
	}
	cases := []struct {
		name, target string
		items        int
		session      bool
	}{
		{"tokens", "/v1/tokens?cursor=&limit=&status=&owner=", 1, true},
		{"audit", "/v1/tokens/" + id + "/audit?cursor=&limit=", 1, true},
		{"hook events", "/v1/hooks/events?cursor=&limit=&source=&userId=", 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r reply
			if c.session {
				r = a.do(ann, "GET", c.target, "")
			} else {
				r = a.keyDo(key, "GET", c.target, "")
			}
			if r.status != 200 {
				t.Fatalf("GET %s = %d %s, want 200", c.target, r.status, r.shown())
			}
			if got := len(r.body["items"].([]any)); got != c.items {
				t.Errorf("GET %s lists %d items, want %d", c.target, got, c.items)
			}
		})
	}
}

package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/keyring"
)

var allRoutes = []struct{ method, suffix, body string }{
	{"GET", "", ""},
	{"PATCH", "", `{"name":"x"}`},
	{"POST", "/reveal", ""},
	{"POST", "/deactivate", ""},
	{"POST", "/activate", ""},
	{"DELETE", "", ""},
	{"GET", "/audit", ""},
}

func (a *api) create(w who, body string) reply {
	a.t.Helper()
	r := a.do(w, "POST", "/v1/tokens", body)
	if r.status != 201 {
		a.t.Fatalf("create %s: %d %s", body, r.status, r.shown())
	}
	return r
}

func TestTokenLife(t *testing.T) {
	a := newAPI(t, 50)

	// 201: created, the key once, Location, no caching.
	c := a.create(ann, `{"name":"  Zapier Sync  "}`)
	id, key := c.str("id"), c.str("key")
	if c.headers["location"] != "/v1/tokens/"+id || c.headers["cache-control"] != "no-store" {
		t.Errorf("create headers = %v", c.headers)
	}
	if !regexp.MustCompile(`^` + a.deps.Format.Pattern() + `$`).MatchString(key) {
		t.Errorf("key %q does not match the documented pattern", "cbk_…")
	}
	want := map[string]any{"name": "Zapier Sync", "type": "user", "status": "active", "userId": "ann",
		"environmentId": "env-1", "hint": "cbk_…" + key[len(key)-4:], "createdAt": "2026-11-25T18:00:00Z",
		"lastUsedAt": nil, "expiresAt": nil}
	for k, v := range want {
		if c.body[k] != v {
			t.Errorf("create: %s = %v, want %v", k, c.body[k], v)
		}
	}
	// Exactly the token's fields and the key: no hash, ciphertext or key ring version.
	var fields []string
	for k := range c.body {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	if got, want := strings.Join(fields, ","), "allowedCidrs,createdAt,environmentId,expiresAt,hint,id,key,lastUsedAt,leak,name,permissions,policy,previousKey,quota,rateLimit,status,type,updatedAt,userId"; got != want {
		t.Errorf("create answer fields = %s, want %s", got, want)
	}

	// 200: listed, read.
	l := a.do(ann, "GET", "/v1/tokens", "")
	items, _ := l.body["items"].([]any)
	if l.status != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != id || l.body["nextCursor"] != nil {
		t.Fatalf("list = %d %s", l.status, l.shown())
	}
	if strings.Contains(l.raw, key) {
		t.Error("list shows the key")
	}
	if g := a.do(ann, "GET", "/v1/tokens/"+id, ""); g.status != 200 || g.str("name") != "Zapier Sync" || g.body["key"] != nil {
		t.Errorf("get = %d %s", g.status, g.shown())
	}

	// Rename, reveal.
	a.advance(time.Minute)
	if r := a.do(ann, "PATCH", "/v1/tokens/"+id, `{"name":"Zapier Sync (prod)"}`); r.status != 200 || r.str("name") != "Zapier Sync (prod)" || r.str("updatedAt") != "2026-11-25T18:01:00Z" {
		t.Errorf("rename = %d %s", r.status, r.shown())
	}
	a.advance(time.Minute)
	rv := a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", "")
	if rv.status != 200 || rv.str("key") != key || rv.str("id") != id || rv.headers["cache-control"] != "no-store" {
		t.Errorf("reveal = %d, same key %v, headers %v", rv.status, rv.str("key") == key, rv.headers)
	}

	// Deactivate and activate, each idempotent.
	for _, step := range []struct{ action, status string }{
		{"deactivate", "inactive"}, {"deactivate", "inactive"}, {"activate", "active"}, {"activate", "active"},
	} {
		a.advance(time.Minute)
		if r := a.do(ann, "POST", "/v1/tokens/"+id+"/"+step.action, ""); r.status != 200 || r.str("status") != step.status {
			t.Errorf("%s = %d %s, want 200 %s", step.action, r.status, r.shown(), step.status)
		}
	}

	// The history: one record per change that happened, newest first.
	au := a.do(ann, "GET", "/v1/tokens/"+id+"/audit", "")
	var actions []string
	for _, it := range au.body["items"].([]any) {
		rec := it.(map[string]any)
		actions = append(actions, rec["action"].(string))
		if rec["actorId"] != "ann" || rec["sourceIp"] != "203.0.113.24" {
			t.Errorf("audit record %v lacks its actor", rec)
		}
	}
	if got, want := strings.Join(actions, ","), "activate,deactivate,reveal,rename,create"; got != want {
		t.Errorf("audit = %s, want %s", got, want)
	}

	// 204, then 404 on every route but the history, which keeps the delete too.
	a.advance(time.Minute)
	if d := a.do(ann, "DELETE", "/v1/tokens/"+id, ""); d.status != 204 || d.raw != "" {
		t.Fatalf("delete = %d %s", d.status, d.shown())
	}
	for _, r := range allRoutes {
		if r.suffix == "/audit" {
			continue
		}
		if got := a.do(ann, r.method, "/v1/tokens/"+id+r.suffix, r.body); got.status != 404 || got.str("code") != "token_not_found" {
			t.Errorf("%s after delete = %d %s, want 404 token_not_found", r.method+r.suffix, got.status, got.shown())
		}
	}
	if got, want := auditActions(t, a.do(ann, "GET", "/v1/tokens/"+id+"/audit", "")), "delete,activate,deactivate,reveal,rename,create"; got != want {
		t.Errorf("audit after delete = %s, want %s", got, want)
	}
	if l := a.do(ann, "GET", "/v1/tokens", ""); len(l.body["items"].([]any)) != 0 {
		t.Errorf("list after delete = %s", l.shown())
	}
	if n, _ := a.deps.Store.Count(context.Background(), "env-1", "ann"); n != 0 {
		t.Errorf("count after delete = %d, want 0", n)
	}
	assertNoPlaintextKeys(t, a, key)
}

// auditActions returns the actions of an audit page, or fails the test when r is not one.
func auditActions(t *testing.T, r reply) string {
	t.Helper()
	items, ok := r.body["items"].([]any)
	if r.status != 200 || !ok {
		t.Fatalf("audit = %d %s, want 200 with items", r.status, r.shown())
	}
	var actions []string
	for _, it := range items {
		actions = append(actions, it.(map[string]any)["action"].(string))
	}
	return strings.Join(actions, ",")
}

// A deleted token's history stays listable, for 400 days, to those who could list it before:
// its owner and the admins of its environment.
func TestAuditAfterDelete(t *testing.T) {
	a := newAPI(t, 50)
	id := a.create(ann, `{"name":"Gone"}`).str("id")
	a.advance(time.Minute)
	if d := a.do(carl, "DELETE", "/v1/tokens/"+id, ""); d.status != 404 {
		t.Fatalf("a colleague's delete = %d, want 404", d.status)
	}
	if d := a.do(adam, "DELETE", "/v1/tokens/"+id, ""); d.status != 204 {
		t.Fatalf("the admin's delete = %d %s", d.status, d.shown())
	}
	for _, c := range []struct {
		who  who
		want string
	}{{ann, "delete,create"}, {adam, "delete,create"}, {carl, ""}, {eve, ""}} {
		r := a.do(c.who, "GET", "/v1/tokens/"+id+"/audit", "")
		if c.want == "" {
			if r.status != 404 || r.str("code") != "token_not_found" {
				t.Errorf("%s: audit of a deleted token = %d %s, want 404 token_not_found", c.who.user, r.status, r.shown())
			}
			continue
		}
		if got := auditActions(t, r); got != c.want {
			t.Errorf("%s: audit of a deleted token = %s, want %s", c.who.user, got, c.want)
		}
	}
	// Paged: the cursor of the first page opens the second.
	first := a.do(ann, "GET", "/v1/tokens/"+id+"/audit?limit=1", "")
	next := first.str("nextCursor")
	if auditActions(t, first) != "delete" || next == "" {
		t.Fatalf("first page = %s, want the delete and a cursor", first.shown())
	}
	if got := auditActions(t, a.do(ann, "GET", "/v1/tokens/"+id+"/audit?limit=1&cursor="+next, "")); got != "create" {
		t.Errorf("second page = %s, want the create", got)
	}
	// A token id that never was: still 404.
	if r := a.do(adam, "GET", "/v1/tokens/tok_01KAZ3J3W8M1Y4S0ZQ6X7P2B9C/audit", ""); r.status != 404 {
		t.Errorf("audit of a token that never was = %d %s, want 404", r.status, r.shown())
	}
}

func TestAccess(t *testing.T) {
	a := newAPI(t, 50)
	mine := a.create(ann, `{"name":"ann's"}`).str("id")

	// 403: an agent may not create an Admin token; nothing is stored.
	if r := a.do(ann, "POST", "/v1/tokens", `{"name":"x","type":"admin"}`); r.status != 403 || r.str("code") != "admin_required" {
		t.Errorf("agent creating an admin token = %d %s", r.status, r.shown())
	}
	if n, _ := a.deps.Store.Count(context.Background(), "env-1", "ann"); n != 1 {
		t.Errorf("count after a refused create = %d, want 1", n)
	}
	if r := a.do(adam, "POST", "/v1/tokens", `{"name":"sync all","type":"admin"}`); r.status != 201 || r.str("type") != "admin" {
		t.Errorf("admin creating an admin token = %d %s", r.status, r.shown())
	}

	// 404: a colleague (agent) and another environment's admin see nothing, on every route.
	for _, w := range []who{carl, eve} {
		for _, r := range allRoutes {
			if got := a.do(w, r.method, "/v1/tokens/"+mine+r.suffix, r.body); got.status != 404 || got.str("code") != "token_not_found" {
				t.Errorf("%s %s%s = %d, want 404", w.user, r.method, r.suffix, got.status)
			}
		}
	}

	// An admin of the environment manages the agent's token but may not view its key.
	if r := a.do(adam, "POST", "/v1/tokens/"+mine+"/reveal", ""); r.status != 403 || r.str("code") != "owner_only" || r.body["key"] != nil {
		t.Errorf("admin reveal = %d %s, want 403 owner_only", r.status, r.shown())
	}
	for _, step := range []struct{ method, suffix, body string }{
		{"GET", "", ""}, {"PATCH", "", `{"name":"renamed by admin"}`}, {"POST", "/deactivate", ""},
		{"POST", "/activate", ""}, {"GET", "/audit", ""},
	} {
		if r := a.do(adam, step.method, "/v1/tokens/"+mine+step.suffix, step.body); r.status != 200 {
			t.Errorf("admin %s%s = %d %s, want 200", step.method, step.suffix, r.status, r.shown())
		}
	}
	au := a.do(ann, "GET", "/v1/tokens/"+mine+"/audit", "")
	if first := au.body["items"].([]any)[0].(map[string]any); first["actorId"] != "adam" || first["action"] != "activate" {
		t.Errorf("newest audit record = %v, want adam's activate", first)
	}

	// Lists: agents see their own; owner=all and owner=<user> are admin-only.
	if r := a.do(ann, "GET", "/v1/tokens?owner=all", ""); r.status != 403 || r.str("code") != "admin_required" {
		t.Errorf("agent owner=all = %d", r.status)
	}
	if r := a.do(ann, "GET", "/v1/tokens?owner=adam", ""); r.status != 403 {
		t.Errorf("agent owner=adam = %d", r.status)
	}
	if r := a.do(adam, "GET", "/v1/tokens?owner=all", ""); len(r.body["items"].([]any)) != 2 {
		t.Errorf("admin owner=all = %s, want 2 items", r.shown())
	}
	if r := a.do(adam, "GET", "/v1/tokens?owner=ann", ""); len(r.body["items"].([]any)) != 1 {
		t.Errorf("admin owner=ann = %s, want 1 item", r.shown())
	}
	if r := a.do(eve, "GET", "/v1/tokens?owner=all", ""); len(r.body["items"].([]any)) != 0 {
		t.Errorf("another environment's admin sees %s", r.shown())
	}

	if r := a.do(adam, "DELETE", "/v1/tokens/"+mine, ""); r.status != 204 {
		t.Errorf("admin delete = %d", r.status)
	}
}

func TestConcurrentCreatesAgainstLimit(t *testing.T) {
	a := newAPI(t, 5)
	var wg sync.WaitGroup
	statuses := make(chan reply, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- a.do(ann, "POST", "/v1/tokens", fmt.Sprintf(`{"name":"t%d"}`, i))
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for r := range statuses {
		count[r.status]++
		if r.status == 409 && r.str("code") != "token_limit_reached" {
			t.Errorf("409 with code %q", r.str("code"))
		}
	}
	if count[201] != 5 || count[409] != 15 {
		t.Errorf("statuses = %v, want 5×201 and 15×409", count)
	}
	if l := a.do(ann, "GET", "/v1/tokens?limit=100", ""); len(l.body["items"].([]any)) != 5 {
		t.Errorf("stored %d tokens, want 5", len(l.body["items"].([]any)))
	}
}

func TestConcurrentDeletes(t *testing.T) {
	a := newAPI(t, 50)
	id := a.create(ann, `{"name":"x"}`).str("id")
	var wg sync.WaitGroup
	out := make(chan int, 2)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); out <- a.do(ann, "DELETE", "/v1/tokens/"+id, "").status }()
	}
	wg.Wait()
	close(out)
	got := map[int]int{}
	for s := range out {
		got[s]++
	}
	if got[204] != 1 || got[404] != 1 {
		t.Errorf("two concurrent deletes = %v, want one 204 and one 404", got)
	}
}

func TestCiphertextBoundToItsToken(t *testing.T) {
	a := newAPI(t, 50)
	first := a.create(ann, `{"name":"first"}`)
	second := a.create(ann, `{"name":"second"}`)
	ctx := context.Background()
	key := func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "ENV#env-1"}, "sk": &types.AttributeValueMemberS{Value: "TOKEN#" + id},
		}
	}
	got, err := a.env.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(a.env.TableName), Key: key(first.str("id"))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.env.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.env.TableName), Key: key(second.str("id")),
		UpdateExpression:          aws.String("SET keyCiphertext = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": got.Item["keyCiphertext"]},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := a.do(ann, "POST", "/v1/tokens/"+second.str("id")+"/reveal", "")
	if r.status != 500 || strings.Contains(r.raw, first.str("key")) || r.body["key"] != nil {
		t.Errorf("reveal of a moved ciphertext = %d %s, want 500 and no key", r.status, r.shown())
	}
	if strings.Contains(r.raw, "ciphertext") || strings.Contains(r.raw, "open") {
		t.Errorf("500 answer carries internal text: %s", r.shown())
	}
	if rv := a.do(ann, "POST", "/v1/tokens/"+first.str("id")+"/reveal", ""); rv.str("key") != first.str("key") {
		t.Error("the untouched token no longer reveals")
	}
}

func TestKeyRingRotation(t *testing.T) {
	a := newAPI(t, 50)
	ctx := context.Background()
	old := a.create(ann, `{"name":"made under k1"}`)

	var ring map[string]string
	if err := json.Unmarshal([]byte(a.env.KeyRing), &ring); err != nil {
		t.Fatal(err)
	}
	ring["k2"] = strings.Repeat("rotated-material-", 4)
	ring["current"] = "k2"
	rotated, _ := json.Marshal(ring)
	if _, err := a.env.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(a.env.SecretARN), SecretString: aws.String(string(rotated)),
	}); err != nil {
		t.Fatal(err)
	}
	a.advance(keyring.DefaultTTL + time.Second) // the cached ring goes stale

	fresh := a.create(ann, `{"name":"made under k2"}`)
	for _, c := range []reply{old, fresh} {
		if rv := a.do(ann, "POST", "/v1/tokens/"+c.str("id")+"/reveal", ""); rv.status != 200 || rv.str("key") != c.str("key") {
			t.Errorf("reveal %q after rotation = %d", c.str("name"), rv.status)
		}
	}
	// Both keys are still found by their hash, and the stored MAC matches the key under its
	// version.
	r, err := a.deps.Keys.Ring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Current().ID() != "k2" {
		t.Fatalf("current = %s, want k2", r.Current().ID())
	}
	for _, c := range []struct {
		reply
		version string
	}{{old, "k1"}, {fresh, "k2"}} {
		v, _ := r.Version(c.version)
		hash := apikey.Hash(c.str("key"))
		rec, err := a.deps.Store.LookupKey(ctx, hash[:])
		if err != nil || rec.TokenID != c.str("id") || rec.KeyVersion != c.version || !bytes.Equal(rec.KeyMAC, v.MAC(c.str("key"))) {
			t.Errorf("lookup of the %s key = %+v, %v", c.version, rec, err)
		}
	}
	assertNoPlaintextKeys(t, a, old.str("key"), fresh.str("key"))
}

// A copy of the routes that still holds the ring from before a rotation reveals keys of both
// versions at once: meeting the new version, it reads the ring again, once.
func TestRevealAcrossARotationUnseenByThisCopy(t *testing.T) {
	a := newAPI(t, 50)
	old := a.create(ann, `{"name":"made under k1"}`)
	holdsOld := a.deps.Keys
	putRing(t, a, 2, "k2")
	a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN, a.clock) // a copy started since
	fresh := a.create(ann, `{"name":"made under k2"}`)

	a.deps.Keys = holdsOld
	for i, c := range []reply{old, fresh, fresh, old} {
		a.calls.Reset()
		if rv := a.do(ann, "POST", "/v1/tokens/"+c.str("id")+"/reveal", ""); rv.status != 200 || rv.str("key") != c.str("key") {
			t.Errorf("reveal %q by the copy holding the old ring = %d, want 200 and its key", c.str("name"), rv.status)
		}
		want := 0
		if i == 1 {
			want = 1
		}
		if n := a.calls.Count("SecretsManager.GetSecretValue"); n != want {
			t.Errorf("reveal %d of %q read the key ring %d times, want %d", i+1, c.str("name"), n, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	a := newAPI(t, 50)
	id := a.create(ann, `{"name":"keep"}`).str("id")
	past := a.clock().Add(-time.Hour).Format(time.RFC3339)
	cases := []struct {
		name, method, target, body string
		status                     int
		code                       string
	}{
		{"unknown field", "POST", "/v1/tokens", `{"name":"x","owner":"carl"}`, 400, "unknown_field"},
		{"name wrong type", "POST", "/v1/tokens", `{"name":7}`, 400, "invalid_field_type"},
		{"name missing", "POST", "/v1/tokens", `{}`, 400, "invalid_name"},
		{"name blank", "POST", "/v1/tokens", `{"name":"   "}`, 400, "invalid_name"},
		{"name too long", "POST", "/v1/tokens", `{"name":"` + strings.Repeat("é", 101) + `"}`, 400, "invalid_name"},
		{"name control", "POST", "/v1/tokens", `{"name":"a\u0000b"}`, 400, "invalid_name"},
		{"name newline", "POST", "/v1/tokens", `{"name":"a\nb"}`, 400, "invalid_name"},
		{"type unknown", "POST", "/v1/tokens", `{"name":"x","type":"root"}`, 400, "invalid_type"},
		{"expiry past", "POST", "/v1/tokens", `{"name":"x","expiresAt":"` + past + `"}`, 400, "invalid_expiry"},
		{"expiry garbled", "POST", "/v1/tokens", `{"name":"x","expiresAt":"tomorrow"}`, 400, "invalid_expiry"},
		{"expiry within this second", "POST", "/v1/tokens", `{"name":"x","expiresAt":"2026-11-25T18:00:00.5Z"}`, 400, "invalid_expiry"},
		{"expiry with a comma fraction", "POST", "/v1/tokens", `{"name":"x","expiresAt":"2027-01-01T00:00:00,5Z"}`, 400, "invalid_expiry"},
		{"expiry with a one-digit hour", "POST", "/v1/tokens", `{"name":"x","expiresAt":"2027-01-01T1:00:00Z"}`, 400, "invalid_expiry"},
		{"expiry with an offset of 24 hours", "POST", "/v1/tokens", `{"name":"x","expiresAt":"2027-01-01T00:00:00+24:00"}`, 400, "invalid_expiry"},
		{"expiry with an offset of 60 minutes", "POST", "/v1/tokens", `{"name":"x","expiresAt":"2027-01-01T00:00:00-05:60"}`, 400, "invalid_expiry"},
		{"expiry past the year 9999 in UTC", "POST", "/v1/tokens", `{"name":"x","expiresAt":"9999-12-31T23:59:59-00:01"}`, 400, "invalid_expiry"},
		{"body too large", "POST", "/v1/tokens", `{"name":"` + strings.Repeat("a", 17<<10) + `"}`, 413, "body_too_large"},
		{"not json", "POST", "/v1/tokens", `name=x`, 400, "invalid_json"},
		{"rename unknown field", "PATCH", "/v1/tokens/" + id, `{"name":"x","status":"active"}`, 400, "unknown_field"},
		{"rename blank", "PATCH", "/v1/tokens/" + id, `{"name":""}`, 400, "invalid_name"},
		{"malformed id", "GET", "/v1/tokens/abc", "", 400, "invalid_token_id"},
		{"malformed id delete", "DELETE", "/v1/tokens/tok_..%2F..", "", 400, "invalid_token_id"},
		{"unknown id", "GET", "/v1/tokens/tok_0000000000000000000000000Z", "", 404, "token_not_found"},
		{"bad status", "GET", "/v1/tokens?status=deleted", "", 400, "invalid_status"},
		{"bad owner", "GET", "/v1/tokens?owner=a%23b", "", 400, "invalid_owner"},
		{"bad limit", "GET", "/v1/tokens?limit=0", "", 400, "invalid_limit"},
		{"huge limit", "GET", "/v1/tokens?limit=1000", "", 400, "invalid_limit"},
		{"garbled cursor", "GET", "/v1/tokens?cursor=not-a-cursor", "", 400, "invalid_cursor"},
		{"audit bad limit", "GET", "/v1/tokens/" + id + "/audit?limit=x", "", 400, "invalid_limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.do(ann, c.method, c.target, c.body)
			if r.status != c.status || r.str("code") != c.code {
				t.Errorf("got %d %s, want %d %s", r.status, r.str("code"), c.status, c.code)
			}
		})
	}
	// Nothing was written: one token, one audit record, unchanged.
	if g := a.do(ann, "GET", "/v1/tokens/"+id, ""); g.str("name") != "keep" || g.str("updatedAt") != "2026-11-25T18:00:00Z" {
		t.Errorf("token changed: %s", g.shown())
	}
	if n, _ := a.deps.Store.Count(context.Background(), "env-1", "ann"); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
	if au := a.do(ann, "GET", "/v1/tokens/"+id+"/audit", ""); len(au.body["items"].([]any)) != 1 {
		t.Errorf("audit = %s, want only the create", au.shown())
	}
}

func TestCursors(t *testing.T) {
	a := newAPI(t, 50)
	for i := range 5 {
		a.advance(time.Second)
		a.create(ann, fmt.Sprintf(`{"name":"ann %d"}`, i))
		a.create(carl, fmt.Sprintf(`{"name":"carl %d"}`, i))
	}
	var names []string
	target := "/v1/tokens?limit=2"
	for pages := 0; ; pages++ {
		r := a.do(ann, "GET", target, "")
		for _, it := range r.body["items"].([]any) {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		next, _ := r.body["nextCursor"].(string)
		if next == "" || pages > 5 {
			break
		}
		target = "/v1/tokens?limit=2&cursor=" + next
	}
	if got := strings.Join(names, ","); got != "ann 4,ann 3,ann 2,ann 1,ann 0" {
		t.Errorf("pages = %s", got)
	}

	first := a.do(ann, "GET", "/v1/tokens?limit=2", "")
	c := first.body["nextCursor"].(string)
	for name, attempt := range map[string]struct {
		w      who
		target string
	}{
		"another user":        {carl, "/v1/tokens?limit=2&cursor=" + c},
		"another environment": {eve, "/v1/tokens?owner=all&limit=2&cursor=" + c},
		"widened to all":      {adam, "/v1/tokens?owner=all&limit=2&cursor=" + c},
		"another filter":      {ann, "/v1/tokens?status=active&limit=2&cursor=" + c},
		"edited":              {ann, "/v1/tokens?limit=2&cursor=" + c[:len(c)-2] + "AA"},
	} {
		if r := a.do(attempt.w, "GET", attempt.target, ""); r.status != 400 || r.str("code") != "invalid_cursor" {
			t.Errorf("%s: %d %s, want 400 invalid_cursor", name, r.status, r.shown())
		}
	}
}

func TestExpiry(t *testing.T) {
	a := newAPI(t, 50)
	exp := a.clock().Add(time.Hour).Format(time.RFC3339)
	c := a.create(ann, `{"name":"short-lived","expiresAt":"`+exp+`"}`)
	if c.str("expiresAt") != exp || c.str("status") != "active" {
		t.Errorf("created %s", c.shown())
	}
	id := c.str("id")
	a.do(ann, "POST", "/v1/tokens/"+id+"/deactivate", "")
	a.advance(2 * time.Hour)
	if r := a.do(ann, "POST", "/v1/tokens/"+id+"/activate", ""); r.status != 409 || r.str("code") != "token_expired" {
		t.Errorf("activate expired = %d %s", r.status, r.shown())
	}
	other := a.create(ann, `{"name":"expires soon","expiresAt":"`+a.clock().Add(time.Minute).Format(time.RFC3339)+`"}`).str("id")
	a.advance(2 * time.Minute)
	if g := a.do(ann, "GET", "/v1/tokens/"+other, ""); g.str("status") != "expired" {
		t.Errorf("status past expiry = %q, want expired", g.str("status"))
	}
	// Never deactivated, it is stored active; activate still cannot make it active.
	if r := a.do(ann, "POST", "/v1/tokens/"+other+"/activate", ""); r.status != 409 || r.str("code") != "token_expired" {
		t.Errorf("activate an expired token never deactivated = %d %s, want 409 token_expired", r.status, r.shown())
	}
	if g := a.do(ann, "GET", "/v1/tokens/"+other, ""); g.str("status") != "expired" {
		t.Errorf("status after a refused activate = %q, want expired", g.str("status"))
	}
	if l := a.do(ann, "GET", "/v1/tokens?status=expired", ""); len(l.body["items"].([]any)) != 1 {
		t.Errorf("status=expired lists %s", l.shown())
	}
}

// assertNoPlaintextKeys reads every item of the table back and looks for any API key.
func assertNoPlaintextKeys(t *testing.T, a *api, keys ...string) {
	t.Helper()
	out, err := a.env.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(a.env.TableName)})
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(a.deps.Format.Pattern())
	for _, it := range out.Items {
		var m map[string]any
		if err := attributevalue.UnmarshalMap(it, &m); err != nil {
			t.Fatal(err)
		}
		text := fmt.Sprintf("%v", m)
		if pattern.MatchString(text) {
			t.Errorf("an item holds something shaped like a key: kind %v", m["kind"])
		}
		for _, k := range keys {
			if strings.Contains(text, k) || strings.Contains(text, k[4:]) {
				t.Errorf("an item of kind %v holds a plaintext key", m["kind"])
			}
		}
	}
	if len(out.Items) == 0 {
		t.Error("the table is empty; nothing was checked")
	}
	if pattern.MatchString(a.logs.String()) {
		t.Error("the function logs hold a key")
	}
}

package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"gopkg.in/yaml.v3"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/ids"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// The fuzz targets of this file send what a caller controls (query parameters, path ids,
// headers, bodies) through the real handlers, against the emulator, and check each answer
// against the contract written out here on its own: which requests are accepted, which code a
// refusal carries, that a refused request writes nothing, and what an accepted one answers.

// The patterns openapi.yaml gives the values a caller sends.
var (
	userIDRule  = regexp.MustCompile(`^[^#\x00-\x1F\x7F]{1,128}$`)
	sourceRule  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	idemKeyRule = regexp.MustCompile(`^[\x20-\x7E]{1,255}$`)
	// expiryRule is the document's pattern for expiresAt; time.Parse judges the values in it.
	expiryRule = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)
	// nameRule is the document's pattern for a token name, an ECMAScript expression (its \u
	// escapes are not Go's syntax), matched a character (rune) at a time.
	nameRule = regexp2.MustCompile(`^[\x09-\x0D\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFFFD]([^\x00-\x1F\x7F-\x9F\u2028\u2029\uFFFD]{0,98}[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFFFD])?[\x09-\x0D\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$`, regexp2.ECMAScript)
)

// TestRulesAreTheDocuments checks that each rule above is, character for character, a pattern
// openapi.yaml gives, so that the fuzz targets hold the handlers to the published contract.
func TestRulesAreTheDocuments(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(root + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	patterns := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "pattern" {
					patterns[s] = true
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	if len(patterns) == 0 {
		t.Fatal("openapi.yaml gives no patterns")
	}
	for name, rule := range map[string]*regexp.Regexp{
		"userIDRule": userIDRule, "sourceRule": sourceRule, "idemKeyRule": idemKeyRule, "expiryRule": expiryRule,
	} {
		if !patterns[rule.String()] {
			t.Errorf("%s is %s, which openapi.yaml does not give", name, rule)
		}
	}
	if !patterns[nameRule.String()] {
		t.Errorf("nameRule is %s, which openapi.yaml does not give", nameRule)
	}
}

// Which optional query parameters a fuzz input sends, as bits.
const (
	sendFirst  = 1 << iota // owner (tokens) or source (hooks)
	sendSecond             // status (tokens) or userId (hooks)
	sendLimit
	sendCursor
)

// answer is one handler answer, with its body decoded and the DynamoDB calls it made.
type answer struct {
	status  int
	headers map[string]string
	body    map[string]any
	code    string
	reads   int
	writes  int
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

// serve runs the handler of route on req and checks what holds for any request: no Go error,
// no 5xx, and every refusal a problem document with its code.
func serve(t *testing.T, a *api, route string, req httpapi.Request) answer {
	t.Helper()
	a.calls.Reset()
	resp, err := a.routes[route](context.Background(), req)
	if err != nil {
		t.Fatalf("%s: got a Go error %v, want an HTTP answer", route, err)
	}
	out := answer{status: resp.StatusCode, headers: resp.Headers}
	for _, op := range []string{"GetItem", "Query", "BatchGetItem", "TransactGetItems"} {
		out.reads += a.calls.Count("DynamoDB." + op)
	}
	for _, op := range []string{"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"} {
		out.writes += a.calls.Count("DynamoDB." + op)
	}
	if resp.Body != "" {
		// Numbers as written: a delivery may hold one no float64 holds, such as 1e400.
		dec := json.NewDecoder(strings.NewReader(resp.Body))
		dec.UseNumber()
		if err := dec.Decode(&out.body); err != nil {
			t.Fatalf("%s: got body %q, want a JSON object", route, resp.Body)
		}
		if st, ok := out.body["status"].(json.Number); ok {
			out.body["status"], _ = st.Float64()
		}
	}
	if out.status >= 500 {
		t.Fatalf("%s: got %d %s, want no 5xx for any request", route, out.status, resp.Body)
	}
	if out.status >= 400 {
		out.code = out.str("code")
		if ct := resp.Headers["content-type"]; ct != "application/problem+json" || out.code == "" || out.body["status"] != float64(out.status) {
			t.Fatalf("%s: got %d %s %s, want a problem document with a code", route, out.status, ct, resp.Body)
		}
	}
	return out
}

// refused checks that a refusal carries one of the codes of the checks the request fails, and
// that it wrote nothing.
func refused(t *testing.T, got answer, want map[string]int) {
	t.Helper()
	if len(want) == 0 {
		return
	}
	status, ok := want[got.code]
	if !ok || got.status != status {
		t.Fatalf("got %d (code %q), want one of %v", got.status, got.code, want)
	}
	if got.writes != 0 {
		t.Fatalf("refused with %s after %d DynamoDB writes, want none", got.code, got.writes)
	}
}

// userIDOK is userIDRule for UTF-8 text; a JSON Schema pattern never sees anything else.
func userIDOK(s string) bool { return utf8.ValidString(s) && userIDRule.MatchString(s) }

// sessionRequest is a request of the dashboard session w to route.
func sessionRequest(t testing.TB, w who, route string) httpapi.Request {
	t.Helper()
	req := fixture(t)
	method, path, _ := strings.Cut(route, " ")
	req.RouteKey, req.RequestContext.RouteKey = route, route
	req.RawPath, req.RequestContext.HTTP.Path, req.RequestContext.HTTP.Method = path, path, method
	req.PathParameters, req.QueryStringParameters, req.RawQueryString, req.Body = nil, nil, "", ""
	delete(req.Headers, "content-type")
	w.sign(&req)
	return req
}

// keyRequest is a request to route by an API key, with the context the key authorizer gave it.
func keyRequest(t testing.TB, keyFixture []byte, authorized map[string]any, route string) httpapi.Request {
	t.Helper()
	req := fixture(t)
	if err := json.Unmarshal(keyFixture, &req); err != nil {
		t.Fatal(err)
	}
	method, path, _ := strings.Cut(route, " ")
	req.RouteKey, req.RequestContext.RouteKey = route, route
	req.RawPath, req.RequestContext.HTTP.Path, req.RequestContext.HTTP.Method = path, path, method
	req.RequestContext.Authorizer.JWT = nil
	req.RequestContext.Authorizer.Lambda = authorized
	req.PathParameters, req.QueryStringParameters, req.RawQueryString, req.Body = nil, map[string]string{}, "", ""
	delete(req.Headers, "content-type")
	return req
}

// authorized returns the context the key authorizer hands the routes for key.
func authorized(f *testing.F, a *api, key string) map[string]any {
	f.Helper()
	d, err := a.auth.Check(asAuthorizer(context.Background()), "Bearer "+key)
	if err != nil || !d.Allowed {
		f.Fatalf("authorizer: got %+v, %v, want the key allowed", d, err)
	}
	return d.Context
}

// pageLimit applies docs/api.md's rule for ?limit=: absent is 20, else a whole number from 1 to
// 100.
func pageLimit(q map[string]string, want map[string]int) int {
	s := q["limit"] // empty is absent, as for every query parameter
	if s == "" {
		return 20
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > 100 {
		want["invalid_limit"] = 400
		return 0
	}
	return int(n)
}

// validName applies the document's pattern for names: 1 to 100 characters after trimming white
// space, none of them a control character, U+2028, U+2029 or U+FFFD (which stands for bytes
// that are not UTF-8).
func validName(s string) bool {
	ok, err := nameRule.MatchString(s)
	return err == nil && ok
}

// itemIDs returns the ids of the items of a list answer.
func itemIDs(t *testing.T, got answer) []string {
	t.Helper()
	items, ok := got.body["items"].([]any)
	if !ok {
		t.Fatalf("got %v, want an items array", got.body)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		id, _ := m["id"].(string)
		out = append(out, id)
	}
	return out
}

// checkPage checks a page of a list: at most limit items, each one of want in want's order
// (newest first), and exactly want's first items when nothing filters the page.
func checkPage(t *testing.T, got []string, want []string, limit int, filtered bool) {
	t.Helper()
	if len(got) > limit {
		t.Fatalf("got %d items, want at most %d", len(got), limit)
	}
	if !filtered {
		if n := min(limit, len(want)); !slices.Equal(got, want[:n]) {
			t.Fatalf("got items %v, want %v", got, want[:n])
		}
		return
	}
	i := 0
	for _, id := range got {
		for i < len(want) && want[i] != id {
			i++
		}
		if i == len(want) {
			t.Fatalf("got items %v, want a part of %v in its order", got, want)
		}
		i++
	}
}

// FuzzCreateToken sends any name, type and expiresAt to POST /v1/tokens: it answers 201 exactly
// when all three are valid, with the trimmed name, the type, the expiry and a well-formed key,
// and otherwise a 400 with the code of a field at fault, having written nothing.
func FuzzCreateToken(f *testing.F) {
	a := newAPI(f, 1<<30)
	now := a.clock()
	format, err := apikey.NewFormat(apikey.DefaultPrefix)
	if err != nil {
		f.Fatal(err)
	}
	const hasName, hasType, hasExpiry = 1, 2, 4
	f.Add("Zapier Sync", "", "", uint8(hasName))
	f.Add("  Office  ", "admin", "2027-01-01T00:00:00Z", uint8(hasName|hasType|hasExpiry))
	f.Add("x", "user", "2026-11-25T18:00:00Z", uint8(hasName|hasType|hasExpiry))
	f.Add("x", "User", "2026-11-25T19:00:00+01:00", uint8(hasName|hasType|hasExpiry))
	f.Add("", "", "", uint8(0))
	f.Fuzz(func(t *testing.T, name, typ, expiresAt string, fields uint8) {
		in := map[string]string{}
		if fields&hasName != 0 {
			in["name"] = name
		}
		if fields&hasType != 0 {
			in["type"] = typ
		}
		if fields&hasExpiry != 0 {
			in["expiresAt"] = expiresAt
		}
		body, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		req := sessionRequest(t, adam, "POST /v1/tokens")
		req.Headers["content-type"], req.Body = "application/json", string(body)
		got := serve(t, a, "POST /v1/tokens", req)

		// What the handler reads: JSON has turned invalid UTF-8 into U+FFFD.
		var sent map[string]string
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{}
		if n, ok := sent["name"]; !ok || !validName(n) {
			want["invalid_name"] = 400
		}
		wantType := "user"
		if s, ok := sent["type"]; ok {
			if wantType = s; s != "user" && s != "admin" {
				want["invalid_type"] = 400
			}
		}
		var wantExpiry any
		if s, ok := sent["expiresAt"]; ok {
			// Kept to the second: the second itself must lie ahead.
			at, err := time.Parse(time.RFC3339, s)
			// The table holds four-digit years, so the year in UTC must be at most 9999.
			if err != nil || !expiryRule.MatchString(s) || !at.UTC().Truncate(time.Second).After(now) || at.UTC().Year() > 9999 {
				want["invalid_expiry"] = 400
			}
			wantExpiry = at.UTC().Truncate(time.Second).Format(time.RFC3339)
		}
		if len(body) > httpapi.MaxBody {
			want = map[string]int{"body_too_large": 413}
		}
		refused(t, got, want)
		if len(want) > 0 {
			if got.reads != 0 {
				t.Fatalf("refused with %s after %d DynamoDB reads, want none", got.code, got.reads)
			}
			return
		}

		if got.status != 201 {
			t.Fatalf("got %d (code %q), want 201", got.status, got.code)
		}
		key, id := got.str("key"), got.str("id")
		if got.str("name") != strings.TrimSpace(sent["name"]) || got.str("type") != wantType || got.body["expiresAt"] != wantExpiry {
			t.Fatalf("got name %q type %q expiresAt %v, want %q %q %v", got.str("name"), got.str("type"), got.body["expiresAt"],
				strings.TrimSpace(sent["name"]), wantType, wantExpiry)
		}
		if format.Parse(key) != nil || got.str("hint") != format.Hint(key) || !ids.Valid(ids.Token, id) {
			t.Fatalf("got a malformed key, hint %q or id %q", got.str("hint"), id)
		}
		if got.headers["location"] != "/v1/tokens/"+id || got.str("userId") != adam.user || got.str("environmentId") != adam.env {
			t.Fatalf("got location %q, owner %s/%s, want /v1/tokens/%s of adam/env-1", got.headers["location"], got.str("userId"), got.str("environmentId"), id)
		}
		if got.writes != 1 || got.reads != 1 {
			t.Fatalf("got %d writes and %d reads, want one transaction after reading the policy", got.writes, got.reads)
		}
	})
}

// FuzzTokenPath sends any {id} to every route of one token, as an agent who owns no token: a
// malformed id is a 400 invalid_token_id before any read, a well-formed one (even the id of a
// colleague's token) a 404 token_not_found after one read.
func FuzzTokenPath(f *testing.F) {
	a := newAPI(f, 50)
	f.Add(a.create(carl, `{"name":"carl's"}`).str("id"), uint8(0))
	f.Add("tok_00000000000000000000000000", uint8(5))
	f.Add("tok_../../v1/tokens", uint8(1))
	f.Fuzz(func(t *testing.T, id string, n uint8) {
		r := allRoutes[int(n)%len(allRoutes)]
		route := r.method + " /v1/tokens/{id}" + r.suffix
		req := sessionRequest(t, ann, route)
		req.PathParameters = map[string]string{"id": id}
		if r.body != "" {
			req.Headers["content-type"], req.Body = "application/json", r.body
		}
		got := serve(t, a, route, req)
		if !ids.Valid(ids.Token, id) {
			if got.status != 400 || got.code != "invalid_token_id" || got.reads+got.writes != 0 {
				t.Fatalf("%s %q: got %d %s after %d calls, want 400 invalid_token_id before any", route, id, got.status, got.code, got.reads+got.writes)
			}
			return
		}
		reads := 1 // the token
		if strings.HasSuffix(route, "/audit") {
			reads = 2 // and the history a deleted token leaves
		}
		if got.status != 404 || got.code != "token_not_found" || got.reads != reads || got.writes != 0 {
			t.Fatalf("%s %q: got %d %s after %d reads and %d writes, want 404 token_not_found after %d", route, id, got.status, got.code, got.reads, got.writes, reads)
		}
	})
}

// FuzzListTokens sends any owner, status, limit and cursor to GET /v1/tokens, as an agent or an
// admin: a page is answered exactly when every parameter is valid and the caller may read that
// owner, and it holds only the tokens the filters select, newest first; a refusal reads nothing.
func FuzzListTokens(f *testing.F) {
	a := newAPI(f, 50)
	type token struct{ id, user, status string }
	var made []token // oldest first
	for _, c := range []struct {
		w    who
		body string
	}{{ann, `{"name":"a1"}`}, {carl, `{"name":"c1"}`}, {ann, `{"name":"a2"}`}, {adam, `{"name":"office","type":"admin"}`}, {ann, `{"name":"a3"}`}} {
		made = append(made, token{a.create(c.w, c.body).str("id"), c.w.user, "active"})
	}
	if r := a.do(ann, "POST", "/v1/tokens/"+made[2].id+"/deactivate", ""); r.status != 200 {
		f.Fatalf("deactivate: got %d, want 200", r.status)
	}
	made[2].status = "inactive"
	first := a.do(ann, "GET", "/v1/tokens?limit=1", "")
	next, _ := first.body["nextCursor"].(string)
	if first.status != 200 || next == "" {
		f.Fatalf("first page: got %d %s, want 200 with a cursor", first.status, first.shown())
	}
	f.Add("", "", "1", next, uint8(sendLimit|sendCursor), false)
	f.Add("", "", "1", next[:3]+"\n"+next[3:], uint8(sendLimit|sendCursor), false) // a line break slipped in
	f.Add("me", "active", "2", "", uint8(sendFirst|sendSecond|sendLimit), false)
	f.Add("all", "inactive", "100", "", uint8(sendFirst|sendSecond|sendLimit), true)
	f.Add("carl", "", "", "", uint8(sendFirst), true)
	f.Add("carl", "", "", "", uint8(sendFirst), false)
	f.Add("eve", "expired", "0", "", uint8(sendFirst|sendSecond|sendLimit), true)
	f.Fuzz(func(t *testing.T, owner, status, limit, cursor string, send uint8, admin bool) {
		w := ann
		if admin {
			w = adam
		}
		q := map[string]string{}
		for bit, kv := range map[uint8][2]string{sendFirst: {"owner", owner}, sendSecond: {"status", status}, sendLimit: {"limit", limit}, sendCursor: {"cursor", cursor}} {
			if send&bit != 0 {
				q[kv[0]] = kv[1]
			}
		}
		req := sessionRequest(t, w, "GET /v1/tokens")
		req.QueryStringParameters = q
		got := serve(t, a, "GET /v1/tokens", req)

		want := map[string]int{}
		reads := w.user // whose tokens; "" is the whole environment
		switch o := q["owner"]; {
		case o == "" || o == "me" || o == w.user:
		case o != "all" && !userIDOK(o):
			want["invalid_owner"] = 400
		case !w.admin:
			want["admin_required"] = 403
		case o == "all":
			reads = ""
		default:
			reads = o
		}
		state := q["status"]
		if state != "" && state != "active" && state != "inactive" && state != "expired" {
			want["invalid_status"] = 400
		}
		n := pageLimit(q, want)
		var expect []string
		for _, tok := range slices.Backward(made) {
			if (reads == "" || tok.user == reads) && (state == "" || tok.status == state) {
				expect = append(expect, tok.id)
			}
		}
		if c := q["cursor"]; c != "" { // empty is absent
			// Only the cursor of ann's first page opens, and only for ann's own unfiltered list.
			if c != next || w != ann || reads != ann.user || state != "" {
				want["invalid_cursor"] = 400
			} else {
				expect = expect[1:]
			}
		}
		refused(t, got, want)
		if len(want) > 0 {
			if got.reads != 0 {
				t.Fatalf("refused with %s after %d reads, want none", got.code, got.reads)
			}
			return
		}
		if got.status != 200 {
			t.Fatalf("got %d (code %q), want 200", got.status, got.code)
		}
		checkPage(t, itemIDs(t, got), expect, n, state != "")
	})
}

// hookCallers are the keys FuzzReceiveHook and FuzzListHookEvents call with: ann's User key and
// adam's Admin key of env-1.
func hookCallers(f *testing.F, a *api) (user, admin map[string]any, keyFixture []byte) {
	f.Helper()
	keyFixture, err := os.ReadFile("testdata/key-request.json")
	if err != nil {
		f.Fatal(err)
	}
	user = authorized(f, a, a.create(ann, `{"name":"ann's zap"}`).str("key"))
	admin = authorized(f, a, a.create(adam, `{"name":"office","type":"admin"}`).str("key"))
	return user, admin, keyFixture
}

// FuzzReceiveHook sends any source, ?userId=, Idempotency-Key, Content-Type and body (raw or
// base64) to POST /v1/hooks/{source} with a User or an Admin key. A delivery is accepted exactly
// when each of them is valid; it is then stored as sent, for the right user, once per
// Idempotency-Key; anything else is refused with the code of a part at fault and stores nothing.
func FuzzReceiveHook(f *testing.F) {
	a := newAPI(f, 50)
	user, admin, keyFixture := hookCallers(f, a)
	known := map[string]bool{ann.user: true, adam.user: true} // users who hold a token in env-1
	type first struct{ payload, id string }
	delivered := map[[3]string]first{} // by user, source and Idempotency-Key
	f.Add("zapier", "", "", "application/json", `{"event":"listing.updated","listingId":"L-1"}`, false, false)
	f.Add("zapier", "", "zap-123", "application/json; charset=utf-8", ` {"event":"x"} `, false, false)
	f.Add("zapier", "ann", "zap-123", "", `{"event":"y"}`, false, true)
	f.Add("mail.chimp-2", "carl", "", "application/vnd.api+json", base64.StdEncoding.EncodeToString([]byte(`{"a":[1,2]}`)), true, true)
	f.Add("events", "", "", "", `{}`, false, false)
	f.Add("Zap", "", "a\x01b", "text/plain", `["x"]`, false, false)
	f.Add("zapier", "", "", "", `{"n":1e400}`, false, false)
	f.Add("zapier", "", "", "", strings.Repeat(`{"a":`, 99)+`{}`+strings.Repeat(`}`, 99), false, false)   // 100 deep
	f.Add("zapier", "", "", "", strings.Repeat(`{"a":`, 100)+`{}`+strings.Repeat(`}`, 100), false, false) // 101 deep
	f.Add("zapier", "", "", "", `{"a":"`+strings.Repeat(`[`, 200)+`"}`, false, false)                     // brackets in a string
	f.Fuzz(func(t *testing.T, source, userID, idemKey, contentType, body string, b64, asAdmin bool) {
		caller, by := ann.user, user
		if asAdmin {
			caller, by = adam.user, admin
		}
		req := keyRequest(t, keyFixture, by, "POST /v1/hooks/{source}")
		req.PathParameters = map[string]string{"source": source}
		if userID != "" {
			req.QueryStringParameters["userId"] = userID
		}
		if idemKey != "" {
			req.Headers["idempotency-key"] = idemKey
		}
		if contentType != "" {
			req.Headers["content-type"] = contentType
		}
		req.Body, req.IsBase64Encoded = body, b64
		got := serve(t, a, "POST /v1/hooks/{source}", req)

		want := map[string]int{}
		if !sourceRule.MatchString(source) || source == "events" {
			want["invalid_source"] = 400
		}
		target := caller
		switch {
		case userID == "" || userID == caller:
		case !asAdmin:
			want["user_scope"] = 403
		case !userIDOK(userID):
			want["invalid_user_id"] = 400
		case !known[userID]:
			want["user_not_found"] = 404
		default:
			target = userID
		}
		if idemKey != "" && !idemKeyRule.MatchString(idemKey) {
			want["invalid_idempotency_key"] = 400
		}
		raw := []byte(body)
		if b64 {
			var err error
			if raw, err = base64.StdEncoding.DecodeString(body); err != nil {
				want["invalid_body"] = 400
			}
		}
		if len(raw) > handlers.MaxDelivery || b64 && len(body) > base64.StdEncoding.EncodedLen(handlers.MaxDelivery) {
			want["body_too_large"] = 413
		}
		if contentType != "" {
			mt, _, err := mime.ParseMediaType(contentType)
			if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
				want["unsupported_media_type"] = 415
			}
		}
		payload := bytes.Trim(raw, " \t\r\n") // JSON's whitespace only (RFC 8259)
		if _, bad := want["invalid_body"]; !bad && (len(payload) == 0 || payload[0] != '{' || !json.Valid(payload) || nesting(payload) > 100) {
			want["invalid_json"] = 400
		}
		refused(t, got, want)
		if len(want) > 0 {
			return
		}

		k := [3]string{target, source, idemKey}
		if prev, seen := delivered[k]; seen && idemKey != "" {
			if prev.payload != string(payload) {
				if got.status != 409 || got.code != "idempotency_key_reused" {
					t.Fatalf("Idempotency-Key %q again with another body: got %d (code %q), want 409 idempotency_key_reused", idemKey, got.status, got.code)
				}
				return
			}
			if got.status != 202 || got.str("id") != prev.id || got.headers["idempotent-replayed"] != "true" {
				t.Fatalf("Idempotency-Key %q again: got %d id %s replayed %q, want 202 id %s replayed true",
					idemKey, got.status, got.str("id"), got.headers["idempotent-replayed"], prev.id)
			}
			return
		}
		id := got.str("id")
		if got.status != 202 || !ids.Valid(ids.Delivery, id) || got.str("receivedAt") != a.clock().Format(time.RFC3339) || got.headers["idempotent-replayed"] != "" {
			t.Fatalf("got %d %v %v, want 202 with a new delivery", got.status, got.body, got.headers)
		}
		delivered[k] = first{string(payload), id}

		// The newest delivery of the target user is this one, as sent.
		list := keyRequest(t, keyFixture, by, "GET /v1/hooks/events")
		list.QueryStringParameters = map[string]string{"userId": target, "limit": "1"}
		page := serve(t, a, "GET /v1/hooks/events", list)
		items, _ := page.body["items"].([]any)
		if page.status != 200 || len(items) != 1 {
			t.Fatalf("list: got %d %v, want the delivery", page.status, page.body)
		}
		stored, _ := items[0].(map[string]any)
		storedJSON, _ := json.Marshal(stored["payload"])
		sentValue, err1 := decodeNumbers(payload)
		storedValue, err2 := decodeNumbers(storedJSON)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(sentValue, storedValue) {
			t.Fatalf("stored payload %s, want %s", storedJSON, payload)
		}
		if stored["id"] != id || stored["source"] != source || stored["userId"] != target || stored["tokenId"] != by["tokenId"] {
			t.Fatalf("stored %v, want id %s, source %s, user %s, token %v", stored, id, source, target, by["tokenId"])
		}
	})
}

// nesting returns how deep the arrays and objects of the JSON text b go ({} is 1), read token by
// token.
func nesting(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func decodeNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// FuzzListHookEvents sends any source, userId, limit and cursor to GET /v1/hooks/events with a
// User or an Admin key: a page is answered exactly when each is valid and within the key's
// reach, and holds only the deliveries they select, newest first.
func FuzzListHookEvents(f *testing.F) {
	a := newAPI(f, 50)
	user, admin, keyFixture := hookCallers(f, a)
	type delivery struct{ id, user, source string }
	var made []delivery // oldest first
	for _, d := range []struct {
		by     map[string]any
		query  string
		source string
	}{{user, "", "zapier"}, {admin, "", "zapier"}, {user, "", "mailchimp"}, {admin, "ann", "zapier"}, {user, "", "zapier"}} {
		req := keyRequest(f, keyFixture, d.by, "POST /v1/hooks/{source}")
		req.PathParameters = map[string]string{"source": d.source}
		req.Headers["content-type"], req.Body = "application/json", `{"n":1}`
		owner, _ := d.by["userId"].(string)
		if d.query != "" {
			req.QueryStringParameters["userId"], owner = d.query, d.query
		}
		resp, err := a.routes["POST /v1/hooks/{source}"](context.Background(), req)
		var got struct{ ID string }
		if err != nil || resp.StatusCode != 202 || json.Unmarshal([]byte(resp.Body), &got) != nil {
			f.Fatalf("deliver: got %d %s, %v, want 202", resp.StatusCode, resp.Body, err)
		}
		made = append(made, delivery{got.ID, owner, d.source})
	}
	firstPage := keyRequest(f, keyFixture, user, "GET /v1/hooks/events")
	firstPage.QueryStringParameters = map[string]string{"limit": "1"}
	resp, err := a.routes["GET /v1/hooks/events"](context.Background(), firstPage)
	var page struct{ NextCursor string }
	if err != nil || resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &page) != nil || page.NextCursor == "" {
		f.Fatalf("first page: got %d %s, %v, want 200 with a cursor", resp.StatusCode, resp.Body, err)
	}
	next := page.NextCursor
	f.Add("", "", "1", next, uint8(sendLimit|sendCursor), false)
	f.Add("", "", "1", next[:3]+"\n"+next[3:], uint8(sendLimit|sendCursor), false) // a line break slipped in
	f.Add("zapier", "", "2", "", uint8(sendFirst|sendLimit), false)
	f.Add("", "ann", "", "", uint8(sendSecond), true)
	f.Add("events", "carl", "100", "", uint8(sendFirst|sendSecond|sendLimit), true)
	f.Add("Zap", "a#b", "0", "x", uint8(sendFirst|sendSecond|sendLimit|sendCursor), true)
	f.Fuzz(func(t *testing.T, source, userID, limit, cursor string, send uint8, asAdmin bool) {
		caller, by := ann.user, user
		if asAdmin {
			caller, by = adam.user, admin
		}
		q := map[string]string{}
		for bit, kv := range map[uint8][2]string{sendFirst: {"source", source}, sendSecond: {"userId", userID}, sendLimit: {"limit", limit}, sendCursor: {"cursor", cursor}} {
			if send&bit != 0 {
				q[kv[0]] = kv[1]
			}
		}
		req := keyRequest(t, keyFixture, by, "GET /v1/hooks/events")
		req.QueryStringParameters = q
		got := serve(t, a, "GET /v1/hooks/events", req)

		want := map[string]int{}
		reads := caller // whose deliveries; "" is the whole environment
		switch u := q["userId"]; {
		case u == "" && asAdmin:
			reads = ""
		case u == "" || u == caller:
		case !asAdmin:
			want["user_scope"] = 403
		case !userIDOK(u):
			want["invalid_user_id"] = 400
		case u != ann.user && u != adam.user:
			want["user_not_found"] = 404
		default:
			reads = u
		}
		src := q["source"]
		if src != "" && !sourceRule.MatchString(src) {
			want["invalid_source"] = 400
		}
		n := pageLimit(q, want)
		var expect []string
		for _, d := range slices.Backward(made) {
			if (reads == "" || d.user == reads) && (src == "" || d.source == src) {
				expect = append(expect, d.id)
			}
		}
		if c := q["cursor"]; c != "" { // empty is absent
			// Only the cursor of ann's first page opens, and only for that same list.
			if c != next || asAdmin || reads != ann.user || src != "" {
				want["invalid_cursor"] = 400
			} else {
				expect = expect[1:]
			}
		}
		refused(t, got, want)
		if len(want) > 0 {
			return
		}
		if got.status != 200 {
			t.Fatalf("got %d (code %q), want 200", got.status, got.code)
		}
		checkPage(t, itemIDs(t, got), expect, n, src != "")
	})
}

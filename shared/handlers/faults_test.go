package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/rs/zerolog"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/keyring"
)

// faultProxy is a TCP proxy between the functions' AWS clients and the emulator. A test injects
// one fault (a toxiproxy toxic) into the attempts of one AWS operation; every other call goes
// through clean, so a case hits exactly the call under test and not the reads around it.
type faultProxy struct {
	t     testing.TB
	proxy *toxiproxy.Proxy

	mu       sync.Mutex
	op       string // the operation hit, e.g. "TransactWriteItems"; "" hits none
	toxic    string // the fault, as toxiproxy's JSON
	attempts int    // hit only the first attempts of op; 0 hits every one
	seen     int    // attempts of op since inject
	hits     int    // attempts that went out with the fault
	on       bool
}

// newFaultProxy returns a proxy and the option that puts it in front of the emulator: the
// option starts the proxy towards the configuration's endpoint (the emulator), points the
// configuration at the proxy, and makes every attempt of every call (the SDK's retries too)
// ask the proxy whether the fault applies to it.
func newFaultProxy(t testing.TB) (*faultProxy, func(*aws.Config)) {
	f := &faultProxy{t: t}
	return f, func(c *aws.Config) {
		upstream := strings.TrimPrefix(aws.ToString(c.BaseEndpoint), "http://")
		server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
		f.proxy = toxiproxy.NewProxy(server, "emulator", "127.0.0.1:0", upstream)
		if err := f.proxy.Start(); err != nil {
			t.Fatalf("start proxy: %v", err)
		}
		t.Cleanup(f.proxy.Stop)
		c.BaseEndpoint = aws.String("http://" + f.proxy.Listen)
		c.APIOptions = append(c.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("injectFault",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					f.attempt(awsmiddleware.GetOperationName(ctx))
					return next.HandleFinalize(ctx, in)
				}), "Retry", middleware.After)
		})
	}
}

// inject arms toxic for the first attempts of op (every attempt when attempts is 0). It takes
// effect at op's next attempt.
func (f *faultProxy) inject(op, toxic string, attempts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.op, f.toxic, f.attempts, f.seen, f.hits = op, toxic, attempts, 0, 0
}

// lift disarms the fault and removes it from the proxy; it returns how many attempts it hit.
func (f *faultProxy) lift() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.op = ""
	f.set(false)
	return f.hits
}

func (f *faultProxy) attempt(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hit := false
	if f.op != "" && op == f.op {
		f.seen++
		hit = f.attempts == 0 || f.seen <= f.attempts
	}
	if hit {
		f.hits++
	}
	f.set(hit)
}

func (f *faultProxy) set(on bool) {
	switch {
	case on && !f.on:
		if _, err := f.proxy.Toxics.AddToxicJson(strings.NewReader(f.toxic)); err != nil {
			f.t.Errorf("add toxic %s: %v", f.toxic, err)
			return
		}
	case !on && f.on:
		if err := f.proxy.Toxics.RemoveToxic(context.Background(), "fault"); err != nil {
			f.t.Errorf("remove toxic: %v", err)
			return
		}
	}
	f.on = on
}

// toxic is a toxiproxy toxic named "fault" on one direction: "upstream" is the request on its
// way to the emulator, "downstream" the emulator's answer.
func toxic(kind, stream, attributes string) string {
	return fmt.Sprintf(`{"name":"fault","type":%q,"stream":%q,"attributes":%s}`, kind, stream, attributes)
}

// withDeadline gives every route a time limit, as a Lambda function's timeout does.
func withDeadline(a *api, d time.Duration) {
	for route, h := range a.routes {
		a.routes[route] = func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return h(ctx, req)
		}
	}
}

// directDB is a client that reaches the emulator without the proxy (and without the call
// counter), to read what is really stored.
func directDB(a *api) *dynamodb.Client {
	cfg := a.env.Config.Copy()
	cfg.APIOptions = nil
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(a.env.Endpoint) })
}

// storedItem is any item of the table, with the attributes the checks read.
type storedItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	Kind          string `dynamodbav:"kind"`
	ID            string `dynamodbav:"id"`
	TokenID       string `dynamodbav:"tokenId"`
	Name          string `dynamodbav:"name"`
	Status        string `dynamodbav:"status"`
	UserID        string `dynamodbav:"userId"`
	EnvironmentID string `dynamodbav:"environmentId"`
	Action        string `dynamodbav:"action"`
	Count         int    `dynamodbav:"count"`
	KeyMAC        []byte `dynamodbav:"keyMac"`
	PrevKeyMAC    []byte `dynamodbav:"prevKeyMac"`
}

// tableState is what the table holds about tokens.
type tableState struct {
	tokens map[string]storedItem     // token id → token item
	keys   map[string]storedItem     // token id → lookup item
	prevs  map[string]storedItem     // token id → its previous key's lookup item
	counts map[string]int            // "env/user" → count item
	audit  map[string]map[string]int // token id → action → records
}

// readTable reads every item of the test's table, past any proxy.
func readTable(t *testing.T, a *api) tableState {
	t.Helper()
	s := tableState{tokens: map[string]storedItem{}, keys: map[string]storedItem{}, prevs: map[string]storedItem{}, counts: map[string]int{}, audit: map[string]map[string]int{}}
	db := directDB(a)
	in := &dynamodb.ScanInput{TableName: aws.String(a.env.TableName), ConsistentRead: aws.Bool(true)}
	for {
		out, err := db.Scan(context.Background(), in)
		if err != nil {
			t.Fatalf("read the table: %v", err)
		}
		var items []storedItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			switch it.Kind {
			case "token":
				s.tokens[it.ID] = it
			case "key":
				if _, dup := s.keys[it.TokenID]; dup {
					t.Errorf("token %s has two lookup items", it.TokenID)
				}
				s.keys[it.TokenID] = it
			case "previousKey":
				if _, dup := s.prevs[it.TokenID]; dup {
					t.Errorf("token %s has two previous keys", it.TokenID)
				}
				s.prevs[it.TokenID] = it
			case "count":
				s.counts[strings.TrimPrefix(it.PK, "ENV#")+"/"+strings.TrimPrefix(it.SK, "COUNT#")] = it.Count
			case "audit":
				if s.audit[it.TokenID] == nil {
					s.audit[it.TokenID] = map[string]int{}
				}
				s.audit[it.TokenID][it.Action]++
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return s
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// check asserts what must hold whatever happened: each token has its lookup item and each
// lookup item its token, with the same name and status; each user's count equals the tokens the
// user holds; each token has one create record, and one delete record exactly when it is gone.
func (s tableState) check(t *testing.T) {
	t.Helper()
	held := map[string]int{}
	for id, tok := range s.tokens {
		held[tok.EnvironmentID+"/"+tok.UserID]++
		key, ok := s.keys[id]
		switch {
		case !ok:
			t.Errorf("token %s has no lookup item", id)
		case key.Name != tok.Name || key.Status != tok.Status || key.UserID != tok.UserID:
			t.Errorf("lookup item of %s = %s/%s/%s, want the token's %s/%s/%s", id, key.Name, key.Status, key.UserID, tok.Name, tok.Status, tok.UserID)
		case !bytes.Equal(key.KeyMAC, tok.KeyMAC):
			t.Errorf("lookup item of %s is of another key than the token's", id)
		}
		// A previous key's item exists while the token names it (the table's TTL may remove one
		// past its grace; these tests run within it), of that key, as the token is.
		switch prev, ok := s.prevs[id]; {
		case ok != (tok.PrevKeyMAC != nil):
			t.Errorf("token %s names a previous key: %v; its item exists: %v", id, tok.PrevKeyMAC != nil, ok)
		case ok && (!bytes.Equal(prev.KeyMAC, tok.PrevKeyMAC) || prev.Name != tok.Name || prev.Status != tok.Status):
			t.Errorf("previous key item of %s = %s/%s, another key or not as the token %s/%s", id, prev.Name, prev.Status, tok.Name, tok.Status)
		}
	}
	for id := range s.prevs {
		if _, ok := s.tokens[id]; !ok {
			t.Errorf("previous key item of %s outlives its token", id)
		}
	}
	for id := range s.keys {
		if _, ok := s.tokens[id]; !ok {
			t.Errorf("lookup item of %s outlives its token", id)
		}
	}
	for user, n := range held {
		if s.counts[user] != n {
			t.Errorf("count of %s = %d, want %d (the tokens stored)", user, s.counts[user], n)
		}
	}
	for user, n := range s.counts {
		if held[user] == 0 && n != 0 {
			t.Errorf("count of %s = %d, want 0 (no token stored)", user, n)
		}
	}
	for id, acts := range s.audit {
		_, live := s.tokens[id]
		wantDelete := 0
		if !live {
			wantDelete = 1
		}
		if acts["create"] != 1 || acts["delete"] != wantDelete {
			t.Errorf("audit of %s (stored %v) = %v, want one create and %d delete", id, live, acts, wantDelete)
		}
	}
	for id := range s.tokens {
		if s.audit[id]["create"] != 1 {
			t.Errorf("token %s has %d create records, want 1", id, s.audit[id]["create"])
		}
	}
}

// faultCase is one fault and what it must produce: the request reaches the emulator or not
// (when it does, the change is stored, once), and the handler gets an answer in the end or not
// (when it does not, it answers 500 internal_error).
type faultCase struct {
	name     string
	toxic    string
	attempts int           // hit only the first attempts; 0 hits every one of the SDK's attempts
	deadline time.Duration // the function's time limit; 0 is none
	reaches  bool
	answered bool
}

var faultCases = []faultCase{
	{name: "answer reset on every attempt", toxic: toxic("reset_peer", "downstream", `{"timeout":0}`), reaches: true},
	{name: "answer reset on the first attempt", toxic: toxic("reset_peer", "downstream", `{"timeout":0}`), attempts: 1, reaches: true, answered: true},
	{name: "request reset on every attempt", toxic: toxic("reset_peer", "upstream", `{"timeout":0}`)},
	{name: "request reset on the first attempt", toxic: toxic("reset_peer", "upstream", `{"timeout":0}`), attempts: 1, reaches: true, answered: true},
	{name: "request held past the deadline", toxic: toxic("timeout", "upstream", `{"timeout":0}`), deadline: 400 * time.Millisecond},
	{name: "answer 1 s late, deadline 400 ms", toxic: toxic("latency", "downstream", `{"latency":1000}`), deadline: 400 * time.Millisecond, reaches: true},
	{name: "answer 100 ms late, deadline 3 s", toxic: toxic("latency", "downstream", `{"latency":100}`), deadline: 3 * time.Second, reaches: true, answered: true},
	{name: "answer cut after 20 bytes, every attempt", toxic: toxic("limit_data", "downstream", `{"bytes":20}`), reaches: true},
	{name: "request sliced into small packets", toxic: toxic("slicer", "upstream", `{"average_size":64,"size_variation":32,"delay":200}`), reaches: true, answered: true},
}

// faultAction is a token action whose write is faulted: its one TransactWriteItems.
type faultAction struct {
	name string
	// before makes the token to act on and returns its id ("" when none is needed).
	before func(a *api) string
	do     func(a *api, id string) reply
	ok     int
	// stored checks the table once the change happened (changed) or not.
	stored func(t *testing.T, s tableState, id string, changed bool)
}

func madeToken(a *api) string { return a.create(ann, `{"name":"before"}`).str("id") }

var faultActions = []faultAction{
	{"create", func(*api) string { return "" },
		func(a *api, _ string) reply { return a.do(ann, "POST", "/v1/tokens", `{"name":"faulted"}`) }, 201,
		func(t *testing.T, s tableState, _ string, changed bool) {
			want := 0
			if changed {
				want = 1
			}
			if len(s.tokens) != want {
				t.Errorf("tokens stored = %d, want %d", len(s.tokens), want)
			}
			for _, tok := range s.tokens {
				if tok.Name != "faulted" {
					t.Errorf("stored token %q, want %q", tok.Name, "faulted")
				}
			}
		}},
	{"rename", madeToken,
		func(a *api, id string) reply { return a.do(ann, "PATCH", "/v1/tokens/"+id, `{"name":"after"}`) }, 200,
		func(t *testing.T, s tableState, id string, changed bool) {
			want, records := "before", 0
			if changed {
				want, records = "after", 1
			}
			if s.tokens[id].Name != want || s.audit[id]["rename"] != records {
				t.Errorf("name %q with %d rename records, want %q with %d", s.tokens[id].Name, s.audit[id]["rename"], want, records)
			}
		}},
	{"deactivate", madeToken,
		func(a *api, id string) reply { return a.do(ann, "POST", "/v1/tokens/"+id+"/deactivate", "") }, 200,
		func(t *testing.T, s tableState, id string, changed bool) {
			want, records := "active", 0
			if changed {
				want, records = "inactive", 1
			}
			if s.tokens[id].Status != want || s.audit[id]["deactivate"] != records {
				t.Errorf("status %q with %d deactivate records, want %q with %d", s.tokens[id].Status, s.audit[id]["deactivate"], want, records)
			}
		}},
	{"delete", madeToken,
		func(a *api, id string) reply { return a.do(ann, "DELETE", "/v1/tokens/"+id, "") }, 204,
		func(t *testing.T, s tableState, id string, changed bool) {
			if _, live := s.tokens[id]; live == changed {
				t.Errorf("token stored = %v after a delete that happened = %v", live, changed)
			}
		}},
}

// internalText is what a 500 answer must never show of its cause.
var internalText = regexp.MustCompile(`(?i)127\.0\.0\.1|connection|reset|deadline|context|EOF|TransactWriteItems|dynamodb|operation error`)

// TestFaultsDuringTokenActions faults the one write of each token action between the SDK and the
// emulator. Whatever the fault, the answer is the action's own success or a 500 internal_error
// problem that says nothing of the cause, and the table is whole: the change is stored once with
// its lookup item, count and audit record, or not at all.
func TestFaultsDuringTokenActions(t *testing.T) {
	for _, action := range faultActions {
		t.Run(action.name, func(t *testing.T) {
			t.Parallel() // the actions' cases mostly wait on the faults: overlap them
			for _, fc := range faultCases {
				t.Run(fc.name, func(t *testing.T) {
					faults, option := newFaultProxy(t)
					a := newAPI(t, 50, option)
					id := action.before(a)
					if fc.deadline > 0 { // the faulted action's limit only, not that of what came before
						withDeadline(a, fc.deadline)
					}

					faults.inject("TransactWriteItems", fc.toxic, fc.attempts)
					start := time.Now()
					r := action.do(a, id)
					took := time.Since(start)
					hits := faults.lift()

					if hits == 0 {
						t.Fatalf("the fault hit no attempt (%d %s)", r.status, r.shown())
					}
					if fc.answered {
						if r.status != action.ok {
							t.Errorf("got %d %s, want %d", r.status, r.shown(), action.ok)
						}
					} else if r.status != 500 || r.str("code") != "internal_error" || internalText.MatchString(r.raw) {
						t.Errorf("got %d %s, want 500 internal_error without internal text", r.status, r.shown())
					}
					if action.name == "create" && r.status == 201 {
						id = r.str("id")
					}
					s := readTable(t, a)
					s.check(t)
					action.stored(t, s, id, fc.reaches)
					if action.name == "create" && r.status == 201 {
						if _, ok := s.tokens[id]; !ok {
							t.Errorf("answered 201 for %s, which is not stored", id)
						}
					}
					t.Logf("%s: %d %s in %v; the fault hit %d attempt(s); stored: %v", fc.name, r.status, r.str("code"), took.Round(time.Millisecond), hits, fc.reaches)
				})
			}
		})
	}
}

// TestFaultRetriedCreate is the client's side of a failed create: it sends POST /v1/tokens
// again after the 500. A retry never makes a second token when the first request stored
// nothing. When the first one was stored and only its answer lost, a retry without an
// Idempotency-Key makes a second token, and the table stays whole: two tokens, count 2, both
// listed, so the user sees and can delete the one whose key never reached them. A retry with
// the first request's Idempotency-Key makes none: it answers 201 with the stored token and its
// key, marked Idempotent-Replayed.
func TestFaultRetriedCreate(t *testing.T) {
	cases := []struct {
		name     string
		toxic    string
		idemKey  string // sent with both requests; "" sends none
		wantNow  int    // tokens stored after the retry
		replayed bool   // the retry answers the first request's token
	}{
		{"first request never reached the table", toxic("reset_peer", "upstream", `{"timeout":0}`), "", 1, false},
		{"first request stored, every answer lost", toxic("reset_peer", "downstream", `{"timeout":0}`), "", 2, false},
		{"first request never reached the table, retried with its Idempotency-Key", toxic("reset_peer", "upstream", `{"timeout":0}`), "zap-1", 1, false},
		{"first request stored, every answer lost, retried with its Idempotency-Key", toxic("reset_peer", "downstream", `{"timeout":0}`), "zap-1", 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			faults, option := newFaultProxy(t)
			a := newAPI(t, 50, option)
			var headers []string
			if c.idemKey != "" {
				headers = []string{"idempotency-key", c.idemKey}
			}
			faults.inject("TransactWriteItems", c.toxic, 0)
			first := a.doWith(ann, "POST", "/v1/tokens", `{"name":"zapier"}`, headers...)
			faults.lift()
			if first.status != 500 || first.str("code") != "internal_error" {
				t.Fatalf("first create = %d %s, want 500 internal_error", first.status, first.shown())
			}
			stored := readTable(t, a).tokens // what the first request left
			retry := a.doWith(ann, "POST", "/v1/tokens", `{"name":"zapier"}`, headers...)
			if retry.status != 201 {
				t.Fatalf("retried create = %d %s, want 201", retry.status, retry.shown())
			}
			s := readTable(t, a)
			s.check(t)
			if _, ok := s.tokens[retry.str("id")]; !ok || len(s.tokens) != c.wantNow {
				t.Errorf("tokens stored = %d (the retried one: %v), want %d", len(s.tokens), ok, c.wantNow)
			}
			if l := a.do(ann, "GET", "/v1/tokens", ""); len(l.body["items"].([]any)) != c.wantNow {
				t.Errorf("listed %d tokens, want %d", len(l.body["items"].([]any)), c.wantNow)
			}
			if got := retry.headers["idempotent-replayed"] == "true"; got != c.replayed {
				t.Errorf("retry replayed = %v, want %v", got, c.replayed)
			}
			if _, firstStored := stored[retry.str("id")]; firstStored != c.replayed {
				t.Errorf("retry answered the first request's token = %v, want %v", firstStored, c.replayed)
			}
			if rv := a.do(ann, "POST", "/v1/tokens/"+retry.str("id")+"/reveal", ""); rv.str("key") != retry.str("key") {
				t.Error("the token the retry answered does not hold the key the answer gave")
			}
		})
	}

	// The SDK's own retry of a committed transaction whose answer was lost: DynamoDB answers
	// it as a success through its ClientRequestToken; an emulator that ignores the token
	// refuses it on the conditions the first attempt made true. Either way the caller gets
	// 201 and one token, also when that token took the last slot of the limit. With an
	// Idempotency-Key the idempotency record the first attempt stored names this very token:
	// the answer is this request's own, not a replay, and a later repeat replays it.
	for _, v := range []struct{ name, idemKey string }{{"without an Idempotency-Key", ""}, {"with an Idempotency-Key", "zap-1"}} {
		idemKey := v.idemKey
		t.Run("answer of the first attempt lost, at the last slot, "+v.name, func(t *testing.T) {
			faults, option := newFaultProxy(t)
			a := newAPI(t, 1, option)
			var headers []string
			if idemKey != "" {
				headers = []string{"idempotency-key", idemKey}
			}
			faults.inject("TransactWriteItems", toxic("reset_peer", "downstream", `{"timeout":0}`), 1)
			r := a.doWith(ann, "POST", "/v1/tokens", `{"name":"zapier"}`, headers...)
			faults.lift()
			if r.status != 201 || r.headers["idempotent-replayed"] != "" {
				t.Fatalf("create = %d %s (replayed %q), want 201, not replayed", r.status, r.shown(), r.headers["idempotent-replayed"])
			}
			s := readTable(t, a)
			s.check(t)
			if _, ok := s.tokens[r.str("id")]; !ok || len(s.tokens) != 1 {
				t.Errorf("tokens stored = %d (the answered one: %v), want 1", len(s.tokens), ok)
			}
			if rv := a.do(ann, "POST", "/v1/tokens/"+r.str("id")+"/reveal", ""); rv.str("key") != r.str("key") {
				t.Error("the stored token does not hold the key the answer gave")
			}
			if idemKey == "" {
				return
			}
			again := a.doWith(ann, "POST", "/v1/tokens", `{"name":"zapier"}`, headers...)
			if again.status != 201 || again.str("id") != r.str("id") || again.headers["idempotent-replayed"] != "true" {
				t.Errorf("repeat = %d %s (replayed %q), want 201 %s replayed", again.status, again.str("id"), again.headers["idempotent-replayed"], r.str("id"))
			}
		})
	}
}

// TestFaultsDuringAuthorize faults the key authorizer's reads. It fails closed: an error (the
// gateway answers 500), no allow, and nothing cached, so the first call after the fault reads
// the table again. A fault on the lastUsedAt write never refuses.
func TestFaultsDuringAuthorize(t *testing.T) {
	cases := []struct {
		name     string
		op       string
		toxic    string
		attempts int
		deadline time.Duration
		cold     bool // no key ring in memory yet: Secrets Manager is read first
		allowed  bool
	}{
		{name: "lookup answer reset on every attempt", op: "GetItem", toxic: toxic("reset_peer", "downstream", `{"timeout":0}`)},
		{name: "lookup request reset on every attempt", op: "GetItem", toxic: toxic("reset_peer", "upstream", `{"timeout":0}`)},
		{name: "lookup request held past the deadline", op: "GetItem", toxic: toxic("timeout", "upstream", `{"timeout":0}`), deadline: 250 * time.Millisecond},
		{name: "lookup answer 1 s late, deadline 250 ms", op: "GetItem", toxic: toxic("latency", "downstream", `{"latency":1000}`), deadline: 250 * time.Millisecond},
		{name: "lookup answer cut after 20 bytes", op: "GetItem", toxic: toxic("limit_data", "downstream", `{"bytes":20}`)},
		{name: "lookup answer reset on the first attempt", op: "GetItem", toxic: toxic("reset_peer", "downstream", `{"timeout":0}`), attempts: 1, allowed: true},
		{name: "key ring fetch reset on every attempt", op: "GetSecretValue", toxic: toxic("reset_peer", "downstream", `{"timeout":0}`), cold: true},
		{name: "lastUsedAt write reset on every attempt", op: "UpdateItem", toxic: toxic("reset_peer", "downstream", `{"timeout":0}`), allowed: true},
		{name: "lastUsedAt write held past its own time limit", op: "UpdateItem", toxic: toxic("timeout", "upstream", `{"timeout":0}`), allowed: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			faults, option := newFaultProxy(t)
			a := newAPI(t, 50, option)
			key := a.create(ann, `{"name":"zapier"}`).str("key")
			keys := a.deps.Keys
			if c.cold {
				keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN, a.clock)
			}
			auth := authorizer.New(a.deps.Format, keys, a.deps.Store, 5*time.Second, a.clock)
			ctx := asAuthorizer(context.Background())
			if c.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.deadline)
				defer cancel()
			}

			faults.inject(c.op, c.toxic, c.attempts)
			resp, err := auth.Handler(a.deps.Log)(ctx, events.APIGatewayV2CustomAuthorizerV2Request{IdentitySource: []string{"Bearer " + key}})
			hits := faults.lift()
			if hits == 0 {
				t.Fatalf("the fault hit no attempt (authorized %v, err %v)", resp.IsAuthorized, err)
			}
			if regexp.MustCompile(a.deps.Format.Pattern()).MatchString(a.logs.String() + fmt.Sprint(err)) {
				t.Error("the logs or the error hold a key")
			}
			if c.allowed {
				if err != nil || !resp.IsAuthorized || resp.Context["tokenName"] != "zapier" {
					t.Errorf("got authorized %v, err %v; want allowed", resp.IsAuthorized, err)
				}
				if c.op == "UpdateItem" && !strings.Contains(a.logs.String(), `"lastUsedErr"`) {
					t.Error("the failed lastUsedAt write is not logged")
				}
				t.Logf("%s: allowed; the fault hit %d attempt(s)", c.name, hits)
				return
			}
			if err == nil || resp.IsAuthorized || resp.Context != nil {
				t.Errorf("got authorized %v, context %v, err %v; want an error and no allow", resp.IsAuthorized, resp.Context, err)
			}

			// Nothing was cached: the next call, fault lifted, reads the table and is allowed.
			a.calls.Reset()
			again, err := auth.Check(context.Background(), "Bearer "+key)
			// One GetItem of the key, and one of the environment's policy unless the policy was
			// read before the fault.
			if n := a.calls.Count("DynamoDB.GetItem"); err != nil || !again.Allowed || again.Cached || n < 1 || n > 2 {
				t.Errorf("after the fault: allowed %v, cached %v, err %v, calls %s; want allowed from one GetItem of the key (and the policy)", again.Allowed, again.Cached, err, a.calls)
			}
			t.Logf("%s: refused with an error; the fault hit %d attempt(s); nothing cached", c.name, hits)
		})
	}
}

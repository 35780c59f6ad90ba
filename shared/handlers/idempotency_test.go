package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// doWith is a.do with request headers, given in name, value pairs.
func (a *api) doWith(w who, method, target, body string, headers ...string) reply {
	a.t.Helper()
	req := fixture(a.t)
	a.aim(&req, method, target, body)
	if req.Headers == nil {
		req.Headers = map[string]string{}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Headers[headers[i]] = headers[i+1]
	}
	w.sign(&req)
	return a.send(req)
}

// createWithKey is POST /v1/tokens as w with an Idempotency-Key.
func (a *api) createWithKey(w who, idemKey, body string) reply {
	a.t.Helper()
	return a.doWith(w, "POST", "/v1/tokens", body, "idempotency-key", idemKey)
}

// idemStored is an idempotency record as the table holds it.
type idemStored struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	TokenID     string `dynamodbav:"tokenId"`
	RequestHash string `dynamodbav:"requestHash"`
	TTL         int64  `dynamodbav:"ttl"`
	raw         map[string]types.AttributeValue
}

// idemRecords reads every idempotency record of the test's table, past any proxy.
func idemRecords(t *testing.T, a *api) []idemStored {
	t.Helper()
	out, err := directDB(a).Scan(context.Background(), &dynamodb.ScanInput{
		TableName: aws.String(a.env.TableName), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("read the table: %v", err)
	}
	if len(out.LastEvaluatedKey) != 0 {
		t.Fatal("the table is larger than one page")
	}
	var recs []idemStored
	for _, item := range out.Items {
		if k, _ := item["kind"].(*types.AttributeValueMemberS); k == nil || k.Value != "idempotency" {
			continue
		}
		var r idemStored
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			t.Fatal(err)
		}
		r.raw = item
		recs = append(recs, r)
	}
	return recs
}

// assertReplay checks that r answers the create first answered, as an idempotent repeat.
func assertReplay(t *testing.T, r, first reply) {
	t.Helper()
	if r.status != 201 {
		t.Fatalf("repeat: got %d %s, want 201", r.status, r.shown())
	}
	if r.str("id") != first.str("id") || r.str("key") != first.str("key") || r.str("name") != first.str("name") {
		t.Errorf("repeat: got token %s (same key %v, name %q), want %s with its key and name %q",
			r.str("id"), r.str("key") == first.str("key"), r.str("name"), first.str("id"), first.str("name"))
	}
	if got, want := r.headers["location"], "/v1/tokens/"+first.str("id"); got != want {
		t.Errorf("repeat: got Location %q, want %q", got, want)
	}
	if got := r.headers["cache-control"]; got != "no-store" {
		t.Errorf("repeat: got Cache-Control %q, want no-store", got)
	}
	if got := r.headers["idempotent-replayed"]; got != "true" {
		t.Errorf("repeat: got Idempotent-Replayed %q, want true", got)
	}
}

// TestCreateIdempotent201 repeats a create with its Idempotency-Key: the answer is the first
// token with its key, and nothing is stored but the record that the key was viewed again.
func TestCreateIdempotent201(t *testing.T) {
	a := newAPI(t, 50)
	first := a.createWithKey(ann, "zap-1", `{"name":"Zapier Sync"}`)
	if first.status != 201 || first.headers["idempotent-replayed"] != "" {
		t.Fatalf("first create: got %d (replayed %q) %s, want 201 without Idempotent-Replayed", first.status, first.headers["idempotent-replayed"], first.shown())
	}

	cases := []struct{ name, body string }{
		{"the same body", `{"name":"Zapier Sync"}`},
		{"the same request written otherwise", `{ "type": "user", "name": "  Zapier Sync " }`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.calls.Reset()
			assertReplay(t, a.createWithKey(ann, "zap-1", c.body), first)
			if put, update := a.calls.Count("DynamoDB.PutItem"), a.calls.Count("DynamoDB.UpdateItem"); put != 1 || update != 0 {
				t.Errorf("the repeat made %d puts and %d updates (%s), want the view's audit record only", put, update, a.calls)
			}
		})
	}

	// Renamed meanwhile: the repeat answers the token as it is now, with the same key.
	if r := a.do(ann, "PATCH", "/v1/tokens/"+first.str("id"), `{"name":"Renamed"}`); r.status != 200 {
		t.Fatalf("rename: got %d %s, want 200", r.status, r.shown())
	}
	r := a.createWithKey(ann, "zap-1", `{"name":"Zapier Sync"}`)
	if r.status != 201 || r.str("id") != first.str("id") || r.str("key") != first.str("key") || r.str("name") != "Renamed" {
		t.Errorf("repeat after a rename: got %d %s name %q, want 201 %s name %q with the same key", r.status, r.str("id"), r.str("name"), first.str("id"), "Renamed")
	}
	// Suspended meanwhile: the repeat still answers it, suspended, and does not resume it.
	if r := a.do(ann, "POST", "/v1/tokens/"+first.str("id")+"/deactivate", ""); r.status != 200 {
		t.Fatalf("deactivate: got %d %s, want 200", r.status, r.shown())
	}
	r = a.createWithKey(ann, "zap-1", `{"name":"Zapier Sync"}`)
	if r.status != 201 || r.str("id") != first.str("id") || r.str("key") != first.str("key") || r.str("status") != "inactive" {
		t.Errorf("repeat after a deactivate: got %d %s status %q, want 201 %s status %q with the same key", r.status, r.str("id"), r.str("status"), first.str("id"), "inactive")
	}

	s := readTable(t, a)
	s.check(t)
	if len(s.tokens) != 1 || s.counts["env-1/ann"] != 1 {
		t.Errorf("got %d tokens stored, count %d; want 1 and 1", len(s.tokens), s.counts["env-1/ann"])
	}
	// Four repeats handed the key out again: each is in the history as a view.
	if got := s.audit[first.str("id")]; got["create"] != 1 || got["reveal"] != 4 || got["activate"] != 0 {
		t.Errorf("audit of %s: got %v, want one create, four reveals and no activate", first.str("id"), got)
	}
	if l := a.do(adam, "GET", "/v1/tokens?owner=all", ""); l.status != 200 || len(l.body["items"].([]any)) != 1 {
		t.Errorf("list: got %d %s, want 200 with 1 token", l.status, l.shown())
	}
}

// TestCreateIdempotentRecord checks what an Idempotency-Key leaves in the table: one record of
// the user and the key's SHA-256 (never the key itself), naming the token, for 24 hours; and
// that a create without the header leaves none and is not deduplicated.
func TestCreateIdempotentRecord(t *testing.T) {
	a := newAPI(t, 50)
	const idemKey = "listing-sync-7f3a"
	first := a.createWithKey(ann, idemKey, `{"name":"Zapier Sync"}`)
	if first.status != 201 {
		t.Fatalf("create: got %d %s, want 201", first.status, first.shown())
	}
	recs := idemRecords(t, a)
	if len(recs) != 1 {
		t.Fatalf("got %d idempotency records, want 1", len(recs))
	}
	rec := recs[0]
	sum := sha256.Sum256([]byte(idemKey))
	if want := "IDEM#ann#" + hex.EncodeToString(sum[:]); rec.PK != "ENV#env-1" || rec.SK != want {
		t.Errorf("record key: got %s / %s, want ENV#env-1 / %s", rec.PK, rec.SK, want)
	}
	if rec.TokenID != first.str("id") {
		t.Errorf("record names token %s, want %s", rec.TokenID, first.str("id"))
	}
	if want := a.clock().Add(24 * time.Hour).Unix(); rec.TTL != want {
		t.Errorf("record ttl: got %d, want %d (24 hours on)", rec.TTL, want)
	}
	if len(rec.RequestHash) != 64 {
		t.Errorf("record request hash: got %q, want a hex SHA-256", rec.RequestHash)
	}
	for name, v := range rec.raw {
		if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, idemKey) {
			t.Errorf("attribute %s holds the Idempotency-Key itself", name)
		}
	}

	// Without the header nothing changes: no record, no deduplication, no replay header.
	plain := [2]reply{a.create(ann, `{"name":"Plain"}`), a.create(ann, `{"name":"Plain"}`)}
	if plain[0].str("id") == plain[1].str("id") || plain[0].headers["idempotent-replayed"] != "" || plain[1].headers["idempotent-replayed"] != "" {
		t.Errorf("two creates without a key: got ids %s, %s (replayed %q, %q), want two tokens, neither replayed",
			plain[0].str("id"), plain[1].str("id"), plain[0].headers["idempotent-replayed"], plain[1].headers["idempotent-replayed"])
	}
	if got := len(idemRecords(t, a)); got != 1 {
		t.Errorf("got %d idempotency records after creates without a key, want 1", got)
	}
	readTable(t, a).check(t)
}

// TestCreateIdempotent400 refuses a malformed Idempotency-Key the way the hooks route does,
// before anything is stored.
func TestCreateIdempotent400(t *testing.T) {
	a := newAPI(t, 50)
	cases := []struct{ name, key string }{
		{"empty", ""},
		{"control character", "a\x01b"},
		{"over 255 characters", strings.Repeat("k", 256)},
		{"not ASCII", "clé"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.createWithKey(ann, c.key, `{"name":"Zapier Sync"}`)
			if r.status != 400 || r.str("code") != "invalid_idempotency_key" {
				t.Errorf("got %d %s, want 400 invalid_idempotency_key", r.status, r.shown())
			}
		})
	}
	if r := a.createWithKey(ann, strings.Repeat("k", 255), `{"name":"Zapier Sync"}`); r.status != 201 {
		t.Errorf("255 characters: got %d %s, want 201", r.status, r.shown())
	}
	if s := readTable(t, a); len(s.tokens) != 1 {
		t.Errorf("got %d tokens stored, want 1 (only the valid key's)", len(s.tokens))
	}
}

// TestCreateIdempotent409 repeats a key with another request, and after its token was deleted:
// both are 409 idempotency_key_reused, and nothing is stored.
func TestCreateIdempotent409(t *testing.T) {
	a := newAPI(t, 50)
	first := a.createWithKey(ann, "zap-1", `{"name":"Zapier Sync"}`)
	if first.status != 201 {
		t.Fatalf("create: got %d %s, want 201", first.status, first.shown())
	}
	cases := []struct{ name, body string }{
		{"another name", `{"name":"Other"}`},
		{"an expiry added", `{"name":"Zapier Sync","expiresAt":"2027-01-01T00:00:00Z"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.createWithKey(ann, "zap-1", c.body)
			if r.status != 409 || r.str("code") != "idempotency_key_reused" {
				t.Errorf("got %d %s, want 409 idempotency_key_reused", r.status, r.shown())
			}
		})
	}

	t.Run("token deleted since", func(t *testing.T) {
		made := a.createWithKey(ann, "zap-2", `{"name":"Short-lived"}`)
		if d := a.do(ann, "DELETE", "/v1/tokens/"+made.str("id"), ""); made.status != 201 || d.status != 204 {
			t.Fatalf("create then delete: got %d, %d, want 201, 204", made.status, d.status)
		}
		r := a.createWithKey(ann, "zap-2", `{"name":"Short-lived"}`)
		if r.status != 409 || r.str("code") != "idempotency_key_reused" || !strings.Contains(r.str("detail"), "deleted") {
			t.Errorf("got %d %s, want 409 idempotency_key_reused saying the token was deleted", r.status, r.shown())
		}
		if r := a.createWithKey(ann, "zap-3", `{"name":"Short-lived"}`); r.status != 201 || r.headers["idempotent-replayed"] != "" {
			t.Errorf("with a new key: got %d (replayed %q), want 201, not replayed", r.status, r.headers["idempotent-replayed"])
		}
	})

	s := readTable(t, a)
	s.check(t)
	if len(s.tokens) != 2 || s.counts["env-1/ann"] != 2 {
		t.Errorf("got %d tokens stored, count %d; want 2 and 2 (zap-1's and zap-3's)", len(s.tokens), s.counts["env-1/ann"])
	}
}

// TestCreateIdempotentConcurrent sends one create with one key from ten goroutines at once:
// one token is stored and every answer names it.
func TestCreateIdempotentConcurrent(t *testing.T) {
	a := newAPI(t, 50)
	const n = 10
	answers := make([]reply, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = a.createWithKey(ann, "zap-race", `{"name":"Zapier Sync"}`)
		}()
	}
	close(start)
	wg.Wait()

	replayed := 0
	for i, r := range answers {
		if r.status != 201 || r.str("id") != answers[0].str("id") || r.str("key") != answers[0].str("key") {
			t.Errorf("answer %d: got %d %s, want 201 %s with the same key", i, r.status, r.str("id"), answers[0].str("id"))
		}
		if r.headers["idempotent-replayed"] == "true" {
			replayed++
		}
	}
	if replayed != n-1 {
		t.Errorf("got %d answers replayed, want %d (all but the one that stored)", replayed, n-1)
	}
	s := readTable(t, a)
	s.check(t)
	if len(s.tokens) != 1 || s.counts["env-1/ann"] != 1 {
		t.Errorf("got %d tokens stored, count %d; want 1 and 1", len(s.tokens), s.counts["env-1/ann"])
	}
}

// TestCreateIdempotentPerUser sends one Idempotency-Key as different users: a key is the
// user's own, so each gets a token of their own.
func TestCreateIdempotentPerUser(t *testing.T) {
	a := newAPI(t, 50)
	seen := map[string]string{}
	for _, w := range []who{ann, carl, adam, eve} {
		r := a.createWithKey(w, "zap-1", `{"name":"Zapier Sync"}`)
		if r.status != 201 || r.headers["idempotent-replayed"] != "" || r.str("userId") != w.user {
			t.Fatalf("%s: got %d %s (replayed %q), want 201, their own token, not replayed", w.user, r.status, r.shown(), r.headers["idempotent-replayed"])
		}
		if prev, dup := seen[r.str("id")]; dup {
			t.Errorf("%s got %s's token %s", w.user, prev, r.str("id"))
		}
		seen[r.str("id")] = w.user
	}
	s := readTable(t, a)
	s.check(t)
	if len(s.tokens) != 4 {
		t.Errorf("got %d tokens stored, want 4", len(s.tokens))
	}
}

// TestCreateIdempotentRetention repeats a key at the edge of its 24 hours. Before, the repeat
// is answered from the first create; after, the key is new again, whether or not the table's
// TTL (which runs some time after expiry) has removed the record yet.
func TestCreateIdempotentRetention(t *testing.T) {
	cases := []struct {
		name     string
		after    time.Duration
		removed  bool // the TTL removed the record
		replayed bool
	}{
		{name: "one second before 24 hours", after: 24*time.Hour - time.Second, replayed: true},
		{name: "at 24 hours, record not yet removed", after: 24 * time.Hour},
		{name: "past 24 hours, record removed by the TTL", after: 24*time.Hour + time.Minute, removed: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAPI(t, 50)
			first := a.createWithKey(ann, "zap-1", `{"name":"Zapier Sync"}`)
			if first.status != 201 {
				t.Fatalf("create: got %d %s, want 201", first.status, first.shown())
			}
			a.advance(c.after)
			if c.removed {
				for _, rec := range idemRecords(t, a) {
					key := map[string]types.AttributeValue{"pk": rec.raw["pk"], "sk": rec.raw["sk"]}
					if _, err := directDB(a).DeleteItem(context.Background(), &dynamodb.DeleteItemInput{
						TableName: aws.String(a.env.TableName), Key: key,
					}); err != nil {
						t.Fatal(err)
					}
				}
			}
			r := a.createWithKey(ann, "zap-1", `{"name":"Zapier Sync"}`)
			want := 2
			if c.replayed {
				assertReplay(t, r, first)
				want = 1
			} else if r.status != 201 || r.str("id") == first.str("id") || r.headers["idempotent-replayed"] != "" {
				t.Errorf("got %d %s (replayed %q), want 201 with a new token", r.status, r.str("id"), r.headers["idempotent-replayed"])
			}
			s := readTable(t, a)
			s.check(t)
			if len(s.tokens) != want {
				t.Errorf("got %d tokens stored, want %d", len(s.tokens), want)
			}
			if c.replayed {
				return
			}
			// The key now stands for the new token, for 24 hours from now.
			assertReplay(t, a.createWithKey(ann, "zap-1", `{"name":"Zapier Sync"}`), r)
			if recs := idemRecords(t, a); len(recs) != 1 || recs[0].TokenID != r.str("id") || recs[0].TTL != a.clock().Add(24*time.Hour).Unix() {
				t.Errorf("got records %+v, want one naming %s until 24 hours from now", recs, r.str("id"))
			}
		})
	}
}

// TestCreateIdempotentAtLimit repeats the create that took the user's last slot: the repeat is
// answered from the first, not refused for the limit; a new key is.
func TestCreateIdempotentAtLimit(t *testing.T) {
	a := newAPI(t, 1)
	first := a.createWithKey(ann, "zap-1", `{"name":"Zapier Sync"}`)
	if first.status != 201 {
		t.Fatalf("create: got %d %s, want 201", first.status, first.shown())
	}
	assertReplay(t, a.createWithKey(ann, "zap-1", `{"name":"Zapier Sync"}`), first)
	if r := a.createWithKey(ann, "zap-2", `{"name":"Zapier Sync"}`); r.status != 409 || r.str("code") != "token_limit_reached" {
		t.Errorf("a new key past the limit: got %d %s, want 409 token_limit_reached", r.status, r.shown())
	}
	s := readTable(t, a)
	s.check(t)
	if len(s.tokens) != 1 || s.counts["env-1/ann"] != 1 {
		t.Errorf("got %d tokens stored, count %d; want 1 and 1", len(s.tokens), s.counts["env-1/ann"])
	}
}

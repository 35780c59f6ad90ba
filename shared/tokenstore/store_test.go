package tokenstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apitokens/apitokens/shared/ids"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/testkit/emulatortest"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.Main(m)) }

var t0 = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*tokenstore.Store, emulatortest.Env, *time.Time) {
	t.Helper()
	env := emulatortest.New(t)
	now := t0
	s := tokenstore.New(env.DB, env.TableName, func() time.Time { return now })
	return s, env, &now
}

func newToken(env, user, name string, at time.Time) tokenstore.Token {
	mac, hash := make([]byte, 32), make([]byte, 32)
	rand.Read(mac)
	rand.Read(hash)
	return tokenstore.Token{
		ID: ids.New(ids.Token, at), Name: name, Type: tokenstore.TypeUser, Status: tokenstore.StatusActive,
		UserID: user, EnvironmentID: env, Hint: "cbk_…abcd", CreatedBy: user,
		CreatedAt: at, UpdatedAt: at, KeyVersion: "k1", KeyHash: hash, KeyMAC: mac, KeyCiphertext: []byte("sealed"),
	}
}

var alice = tokenstore.Actor{UserID: "alice", SourceIP: "203.0.113.7", UserAgent: "test"}

func TestCreateGetLookup(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	tok := newToken("env1", "alice", "Zapier Sync", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "env1", tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Zapier Sync" || got.UserID != "alice" || got.Status != tokenstore.StatusActive || !got.CreatedAt.Equal(t0) {
		t.Errorf("Get = %+v, want the created token", got)
	}
	if _, err := s.Get(ctx, "env2", tok.ID); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("Get from another environment = %v, want ErrNotFound", err)
	}
	rec, err := s.LookupKey(ctx, tok.KeyHash)
	if err != nil {
		t.Fatal(err)
	}
	if rec.TokenID != tok.ID || rec.EnvironmentID != "env1" || !rec.Usable(t0) {
		t.Errorf("LookupKey = %+v, want the token's usable record", rec)
	}
	if _, err := s.LookupKey(ctx, make([]byte, 32)); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("LookupKey(unknown) = %v, want ErrNotFound", err)
	}
	if n, _ := s.Count(ctx, "env1", "alice"); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
}

func TestConcurrentCreatesRespectLimit(t *testing.T) {
	ctx := context.Background()
	s, env, _ := newStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Create(ctx, newToken("env1", "alice", fmt.Sprint("t", i), t0), 5, alice)
		}()
	}
	wg.Wait()
	close(errs)
	created, refused := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			created++
		case errors.Is(err, tokenstore.ErrLimitReached):
			refused++
		default:
			t.Errorf("Create = %v, want nil or ErrLimitReached", err)
		}
	}
	if created != 5 || refused != 15 {
		t.Errorf("created %d, refused %d; want 5 and 15", created, refused)
	}
	page, err := s.List(ctx, tokenstore.ListQuery{EnvironmentID: "env1", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tokens) != 5 {
		t.Errorf("stored %d tokens, want 5", len(page.Tokens))
	}
	if n, _ := s.Count(ctx, "env1", "alice"); n != 5 {
		t.Errorf("Count = %d, want 5", n)
	}
	if keys := countKind(t, env, "key"); keys != 5 {
		t.Errorf("stored %d key lookup items, want 5", keys)
	}
	if audits := countKind(t, env, "audit"); audits != 5 {
		t.Errorf("stored %d audit records, want 5 (none for refused creates)", audits)
	}
}

func TestConcurrentDeletes(t *testing.T) {
	ctx := context.Background()
	s, env, _ := newStore(t)
	tok := newToken("env1", "alice", "x", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 2)
	for range 2 {
		go func() { results <- s.Delete(ctx, tok, alice) }()
	}
	var ok, notFound int
	for range 2 {
		switch err := <-results; {
		case err == nil:
			ok++
		case errors.Is(err, tokenstore.ErrNotFound):
			notFound++
		default:
			t.Errorf("Delete = %v", err)
		}
	}
	if ok != 1 || notFound != 1 {
		t.Errorf("deletes: %d ok, %d not found; want 1 and 1", ok, notFound)
	}
	if n, _ := s.Count(ctx, "env1", "alice"); n != 0 {
		t.Errorf("Count after delete = %d, want 0", n)
	}
	if _, err := s.LookupKey(ctx, tok.KeyHash); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("LookupKey after delete = %v, want ErrNotFound", err)
	}
	if audits := countKind(t, env, "audit"); audits != 2 {
		t.Errorf("audit records = %d, want 2 (create, one delete)", audits)
	}
}

func TestChangesAfterDeleteDoNotResurrect(t *testing.T) {
	ctx := context.Background()
	s, env, _ := newStore(t)
	tok := newToken("env1", "alice", "x", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, tok, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rename(ctx, tok, "back", alice); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("Rename after delete = %v, want ErrNotFound", err)
	}
	if _, err := s.SetStatus(ctx, tok, tokenstore.StatusInactive, alice); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("Deactivate after delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "env1", tok.ID); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("Get after delete = %v, want ErrNotFound", err)
	}
	if _, err := s.LookupKey(ctx, tok.KeyHash); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("the key lookup item came back: %v", err)
	}
	if n := countKind(t, env, "token"); n != 0 {
		t.Errorf("token items = %d, want 0", n)
	}
}

func TestRenameAndStatus(t *testing.T) {
	ctx := context.Background()
	s, _, now := newStore(t)
	exp := t0.Add(time.Hour)
	tok := newToken("env1", "alice", "old", t0)
	tok.ExpiresAt = &exp
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	*now = t0.Add(time.Minute)
	tok, err := s.Rename(ctx, tok, "new", alice)
	if err != nil {
		t.Fatal(err)
	}
	if rec, _ := s.LookupKey(ctx, tok.KeyHash); rec.Name != "new" {
		t.Errorf("lookup item name = %q, want new", rec.Name)
	}
	*now = t0.Add(2 * time.Minute)
	tok, err = s.SetStatus(ctx, tok, tokenstore.StatusInactive, alice)
	if err != nil || tok.Status != tokenstore.StatusInactive {
		t.Fatalf("deactivate = %v, %v", tok.Status, err)
	}
	if rec, _ := s.LookupKey(ctx, tok.KeyHash); rec.Usable(*now) {
		t.Error("a deactivated token's key is usable")
	}
	// Idempotent: deactivating again changes nothing and records nothing.
	again, err := s.SetStatus(ctx, tok, tokenstore.StatusInactive, alice)
	if err != nil || again.Status != tokenstore.StatusInactive {
		t.Errorf("second deactivate = %v, %v", again.Status, err)
	}
	// A stale copy that still says active: the condition catches it and answers what is true.
	stale := tok
	stale.Status = tokenstore.StatusActive
	if got, err := s.SetStatus(ctx, stale, tokenstore.StatusInactive, alice); err != nil || got.Status != tokenstore.StatusInactive {
		t.Errorf("deactivate from a stale copy = %v, %v, want inactive, nil", got.Status, err)
	}
	*now = exp.Add(time.Second)
	if _, err := s.SetStatus(ctx, tok, tokenstore.StatusActive, alice); !errors.Is(err, tokenstore.ErrExpired) {
		t.Errorf("activate after expiry = %v, want ErrExpired", err)
	}
	page, err := s.ListAudit(ctx, "env1", tok.ID, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	var actions []tokenstore.Action
	for _, r := range page.Records {
		actions = append(actions, r.Action)
		if r.ActorID != "alice" || r.OwnerID != "alice" || r.SourceIP != "203.0.113.7" {
			t.Errorf("audit record %+v lacks the actor", r)
		}
	}
	if got, want := fmt.Sprint(actions), "[deactivate rename create]"; got != want {
		t.Errorf("audit actions = %s, want %s (newest first, one per change)", got, want)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	ctx := context.Background()
	s, _, now := newStore(t)
	var made []tokenstore.Token
	for i := range 7 {
		at := t0.Add(time.Duration(i) * time.Second)
		user := "alice"
		if i%2 == 1 {
			user = "bob"
		}
		tok := newToken("env1", user, fmt.Sprint("t", i), at)
		if i == 6 {
			exp := t0.Add(time.Minute)
			tok.ExpiresAt = &exp
		}
		if err := s.Create(ctx, tok, 50, alice); err != nil {
			t.Fatal(err)
		}
		made = append(made, tok)
	}
	if err := s.Create(ctx, newToken("env2", "alice", "elsewhere", t0), 50, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, made[0], tokenstore.StatusInactive, alice); err != nil {
		t.Fatal(err)
	}
	*now = t0.Add(2 * time.Minute) // made[6] has expired

	names := func(q tokenstore.ListQuery) []string {
		t.Helper()
		var out []string
		for {
			page, err := s.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range page.Tokens {
				out = append(out, tok.Name)
			}
			if page.LastKey == nil {
				return out
			}
			q.StartKey = page.LastKey
		}
	}
	cases := []struct {
		name string
		q    tokenstore.ListQuery
		want string
	}{
		{"all, pages of 3", tokenstore.ListQuery{EnvironmentID: "env1", Limit: 3}, "[t6 t5 t4 t3 t2 t1 t0]"},
		{"alice", tokenstore.ListQuery{EnvironmentID: "env1", OwnerID: "alice", Limit: 2}, "[t6 t4 t2 t0]"},
		{"active", tokenstore.ListQuery{EnvironmentID: "env1", State: "active", Limit: 2}, "[t5 t4 t3 t2 t1]"},
		{"inactive", tokenstore.ListQuery{EnvironmentID: "env1", State: "inactive", Limit: 10}, "[t0]"},
		{"expired", tokenstore.ListQuery{EnvironmentID: "env1", State: "expired", Limit: 10}, "[t6]"},
		{"other env", tokenstore.ListQuery{EnvironmentID: "env2", Limit: 10}, "[elsewhere]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fmt.Sprint(names(c.q)); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}

	first, err := s.List(ctx, tokenstore.ListQuery{EnvironmentID: "env1", OwnerID: "alice", Limit: 1})
	if err != nil || first.LastKey == nil {
		t.Fatalf("first page: %v, %v", first, err)
	}
	widen := []tokenstore.ListQuery{
		{EnvironmentID: "env2", OwnerID: "alice", Limit: 1, StartKey: first.LastKey},
		{EnvironmentID: "env1", OwnerID: "bob", Limit: 1, StartKey: first.LastKey},
		{EnvironmentID: "env1", Limit: 1, StartKey: first.LastKey},
		{EnvironmentID: "env1", OwnerID: "alice", Limit: 1, StartKey: map[string]string{"gsi1pk": "OWNER#env1#alice"}},
	}
	for i, q := range widen {
		if _, err := s.List(ctx, q); !errors.Is(err, tokenstore.ErrBadCursor) {
			t.Errorf("case %d: List with a key from another query = %v, want ErrBadCursor", i, err)
		}
	}
}

func TestTouchLastUsed(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t)
	tok := newToken("env1", "alice", "x", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at    time.Duration
		wrote bool
	}{{0, true}, {time.Minute, false}, {4*time.Minute + 59*time.Second, false}, {5 * time.Minute, true}, {6 * time.Minute, false}}
	for _, st := range steps {
		wrote, err := s.TouchLastUsed(ctx, "env1", tok.ID, t0.Add(st.at), 5*time.Minute)
		if err != nil || wrote != st.wrote {
			t.Errorf("at +%v: wrote %v, %v; want %v", st.at, wrote, err, st.wrote)
		}
	}
	got, _ := s.Get(ctx, "env1", tok.ID)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("lastUsedAt = %v, want +5m", got.LastUsedAt)
	}
	if err := s.Delete(ctx, got, alice); err != nil {
		t.Fatal(err)
	}
	if wrote, err := s.TouchLastUsed(ctx, "env1", tok.ID, t0.Add(time.Hour), 5*time.Minute); wrote || err != nil {
		t.Errorf("touch after delete = %v, %v; want no write and no error", wrote, err)
	}
	if _, err := s.Get(ctx, "env1", tok.ID); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Error("touch brought a deleted token back")
	}
}

func countKind(t *testing.T, env emulatortest.Env, kind string) int {
	t.Helper()
	n := 0
	for _, it := range scanAll(t, env) {
		if it["kind"] == kind {
			n++
		}
	}
	return n
}

// scanAll reads every item of the test's table. Only tests scan: the product never does.
func scanAll(t *testing.T, env emulatortest.Env) []map[string]any {
	t.Helper()
	out, err := env.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(env.TableName)})
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	for _, it := range out.Items {
		var m map[string]any
		if err := attributevalue.UnmarshalMap(it, &m); err != nil {
			t.Fatal(err)
		}
		items = append(items, m)
	}
	return items
}

// A time is stored as a four-digit-year string. One that cannot be, or a stored one that cannot
// be read back, is an error: read as "no expiry", it would let a key live forever.
func TestTimesOutsideFourDigitYears(t *testing.T) {
	ctx := context.Background()
	s, env, _ := newStore(t)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := newToken("env1", "alice", "x", t0)
	tok.ExpiresAt = &far
	if err := s.Create(ctx, tok, 50, alice); err == nil {
		t.Error("Create with an expiry in year 10000 succeeded, want an error")
	}
	if n := len(scanAll(t, env)); n != 0 {
		t.Errorf("the refused create stored %d items, want none", n)
	}

	tok = newToken("env1", "alice", "y", t0)
	if err := s.Create(ctx, tok, 50, alice); err != nil {
		t.Fatal(err)
	}
	for _, it := range scanAll(t, env) {
		if it["kind"] != "token" && it["kind"] != "key" {
			continue
		}
		it["expiresAt"] = "10000-01-01T00:00:00Z"
		av, err := attributevalue.MarshalMap(it)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(env.TableName), Item: av}); err != nil {
			t.Fatal(err)
		}
	}
	if rec, err := s.LookupKey(ctx, tok.KeyHash); err == nil || errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("LookupKey of a key with an unreadable expiry = %+v, %v; want an error other than not found", rec, err)
	}
	if got, err := s.Get(ctx, "env1", tok.ID); err == nil || errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("Get of a token with an unreadable expiry = %+v, %v; want an error other than not found", got, err)
	}
	if page, err := s.List(ctx, tokenstore.ListQuery{EnvironmentID: "env1", Limit: 10}); err == nil {
		t.Errorf("List over a token with an unreadable expiry = %+v, want an error", page.Tokens)
	}
}

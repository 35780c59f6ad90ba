package leakreport_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/apitokens/apitokens/shared/leakreport"
)

// publisher serves a keys document that a test can change or break, and counts fetches.
type publisher struct {
	mu      sync.Mutex
	doc     []byte
	fail    bool
	fetches int
}

func (p *publisher) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetches++
	if p.fail {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	w.Write(p.doc)
}

func (p *publisher) set(doc []byte, fail bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doc, p.fail = doc, fail
}

func (p *publisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches
}

func newKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := leakreport.KeyIdentifier(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, id
}

func document(t *testing.T, keys ...*ecdsa.PrivateKey) []byte {
	t.Helper()
	m := map[string]*ecdsa.PublicKey{}
	first := ""
	for _, k := range keys {
		id, _ := leakreport.KeyIdentifier(&k.PublicKey)
		if first == "" {
			first = id
		}
		m[id] = &k.PublicKey
	}
	doc, err := leakreport.KeysDocument(m, first)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	old, oldID := newKey(t)
	next, nextID := newKey(t)
	pub := &publisher{doc: document(t, old)}
	srv := httptest.NewServer(pub)
	defer srv.Close()
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	keys := leakreport.NewKeys(srv.URL, srv.Client())
	keys.SetClock(func() time.Time { return now })
	body := []byte(`[{"token":"x","type":"t","url":"u","source":"content"}]`)
	sign := func(k *ecdsa.PrivateKey, b []byte) string {
		s, err := leakreport.Sign(k, b)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	if err := keys.Verify(ctx, oldID, sign(old, body), body); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	changed := append([]byte{}, body...)
	changed[3] ^= 1
	if err := keys.Verify(ctx, oldID, sign(old, body), changed); !errors.Is(err, leakreport.ErrBadSignature) {
		t.Errorf("one byte changed: %v, want ErrBadSignature", err)
	}
	if err := keys.Verify(ctx, oldID, sign(next, body), body); !errors.Is(err, leakreport.ErrBadSignature) {
		t.Errorf("another key's signature: %v, want ErrBadSignature", err)
	}
	if err := keys.Verify(ctx, "", "", body); !errors.Is(err, leakreport.ErrNoSignature) {
		t.Errorf("no headers: %v, want ErrNoSignature", err)
	}

	// An unknown identifier fetches again once (at most once per RefetchEvery); GitHub
	// published the next key meanwhile.
	pub.set(document(t, old, next), false)
	now = now.Add(leakreport.RefetchEvery)
	before := pub.count()
	if err := keys.Verify(ctx, nextID, sign(next, body), body); err != nil {
		t.Fatalf("a key published since the last fetch: %v", err)
	}
	if got := pub.count() - before; got != 1 {
		t.Errorf("fetches for an unknown identifier = %d, want 1", got)
	}
	// Made-up identifiers cost at most one fetch per RefetchEvery.
	before = pub.count()
	for range 5 {
		if err := keys.Verify(ctx, "made-up", sign(next, body), body); !errors.Is(err, leakreport.ErrUnknownKey) {
			t.Fatalf("a made-up identifier: %v, want ErrUnknownKey", err)
		}
	}
	if got := pub.count() - before; got != 0 {
		t.Errorf("fetches for made-up identifiers within RefetchEvery = %d, want 0", got)
	}

	// Past KeysTTL with the URL down: the last good keys still verify.
	pub.set(nil, true)
	now = now.Add(leakreport.KeysTTL + time.Second)
	if err := keys.Verify(ctx, oldID, sign(old, body), body); err != nil {
		t.Errorf("with the URL down, the last good keys: %v", err)
	}
	// A source that never had keys fails, and not as a signature refusal.
	empty := leakreport.NewKeys(srv.URL, srv.Client())
	err := empty.Verify(ctx, oldID, sign(old, body), body)
	if err == nil || errors.Is(err, leakreport.ErrBadSignature) || errors.Is(err, leakreport.ErrUnknownKey) {
		t.Errorf("no keys ever fetched: %v, want an error of its own", err)
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, body string
		items      int
		err        error
	}{
		{"one item", `[{"token":"cbk_x","type":"t","url":"https://github.com/o/r","source":"content"}]`, 1, nil},
		{"empty", `[]`, 0, nil},
		{"a field added later", `[{"token":"a","type":"t","url":"u","source":"s","extra":{"x":1}}]`, 1, nil},
		{"an object", `{"token":"a"}`, 0, leakreport.ErrMalformed},
		{"no token", `[{"type":"t"}]`, 0, leakreport.ErrMalformed},
		{"token not a string", `[{"token":1}]`, 0, leakreport.ErrMalformed},
		{"url null", `[{"token":"a","url":null}]`, 0, leakreport.ErrMalformed},
		{"an item not an object", `["a"]`, 0, leakreport.ErrMalformed},
		{"trailing data", `[] []`, 0, leakreport.ErrMalformed},
		{"unterminated", `[{"token":"a"}`, 0, leakreport.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			items, err := leakreport.Parse([]byte(c.body))
			if !errors.Is(err, c.err) || len(items) != c.items {
				t.Errorf("got %d items, %v; want %d, %v", len(items), err, c.items, c.err)
			}
		})
	}
}

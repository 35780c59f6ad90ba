package authorizer_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// BenchmarkCheckWarm is the check of a key whose answer is in memory: the cost of every call
// after the first within the TTL (target ≤ 2 µs and ≤ 10 allocations).
func BenchmarkCheckWarm(b *testing.B) {
	f := newFixture(b)
	_, key := f.mint(tokenstore.TypeUser, "ann", nil)
	header := "Bearer " + key
	ctx := context.Background()
	if d, err := f.auth.Check(ctx, header); err != nil || !d.Allowed {
		b.Fatalf("first check: %v, %v", d.Allowed, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := f.auth.Check(ctx, header); !d.Allowed {
			b.Fatal("refused")
		}
	}
}

// BenchmarkHandlerWarm is the whole Lambda handler on a warm key, with its log line.
func BenchmarkHandlerWarm(b *testing.B) {
	f := newFixture(b)
	_, key := f.mint(tokenstore.TypeUser, "ann", nil)
	h := f.auth.Handler(service.Logger(io.Discard))
	req := events.APIGatewayV2CustomAuthorizerV2Request{
		IdentitySource: []string{"Bearer " + key}, RouteKey: "GET /v1/me",
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "bench"},
	}
	ctx := context.Background()
	h(ctx, req)
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := h(ctx, req); !resp.IsAuthorized {
			b.Fatal("refused")
		}
	}
}

// BenchmarkCheckMalformed is the refusal of a malformed key: no lookup.
func BenchmarkCheckMalformed(b *testing.B) {
	f := newFixture(b)
	_, key := f.mint(tokenstore.TypeUser, "ann", nil)
	// The last character is part of the checksum: change it to another.
	last := "0"
	if strings.HasSuffix(key, last) {
		last = "1"
	}
	header := "Bearer " + key[:len(key)-1] + last
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := f.auth.Check(ctx, header); d.Allowed {
			b.Fatal("allowed")
		}
	}
}

// BenchmarkCheckUncached is a check with nothing in memory: one GetItem against the emulator
// (over loopback HTTP; DynamoDB in a region adds its own latency).
func BenchmarkCheckUncached(b *testing.B) {
	f := newFixture(b)
	_, key := f.mint(tokenstore.TypeUser, "ann", nil)
	auth := authorizer.New(f.format, f.keys, f.store, 0, f.clock)
	header := "Bearer " + key
	ctx := context.Background()
	auth.Check(ctx, header) // fetch the ring, write lastUsedAt
	b.ReportAllocs()
	for b.Loop() {
		if d, err := auth.Check(ctx, header); err != nil || !d.Allowed {
			b.Fatalf("%v, %v", d.Allowed, err)
		}
	}
}

// BenchmarkAuthorizeWarmRestricted is the warm check of a key with permissions and allowed
// CIDRs, on a route it may call from an address it may call from: the permission and address
// checks that every call of such a key pays (target ≤ 2 µs and ≤ 10 allocations).
func BenchmarkAuthorizeWarmRestricted(b *testing.B) {
	f := newFixture(b)
	tok, key := f.mint(tokenstore.TypeUser, "ann", nil)
	f.restrict(tok, []string{"hooks:write"}, []string{"203.0.113.0/24", "10.0.0.0/8", "2001:db8::/32"})
	call := authorizer.Call{Header: "Bearer " + key, Route: "GET /v1/hooks/events", SourceIP: "10.1.2.3"}
	ctx := context.Background()
	if d, err := f.auth.Authorize(ctx, call); err != nil || !d.Allowed {
		b.Fatalf("first check: %v, %v", d.Allowed, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := f.auth.Authorize(ctx, call); !d.Allowed {
			b.Fatal("refused")
		}
	}
}

package authorizer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/ids"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/testkit/emulatortest"
	"github.com/apitokens/apitokens/testkit/secretscan"
)

func TestMain(m *testing.M) {
	code := emulatortest.Main(m)
	fmt.Println(secretscan.Shared().Summary())
	os.Exit(code)
}

type fixture struct {
	t      testing.TB
	env    emulatortest.Env
	calls  *emulatortest.Calls
	store  *tokenstore.Store
	keys   *keyring.Source
	format apikey.Format
	auth   *authorizer.Authorizer
	mu     sync.Mutex
	now    time.Time
	logs   bytes.Buffer
	// reads counts GetItem calls by the kind of item read: "KEY" (a key's lookup item) or
	// "POLICY" (an environment's policy).
	reads *itemReads
}

// itemReads counts GetItem calls by the kind of item they read.
type itemReads struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *itemReads) option() func(*aws.Config) {
	return func(cfg *aws.Config) {
		cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countReads",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if get, ok := in.Parameters.(*dynamodb.GetItemInput); ok {
						kind := "other"
						if pk, ok := get.Key["pk"].(*ddbtypes.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "KEY#") {
							kind = "KEY"
						} else if sk, ok := get.Key["sk"].(*ddbtypes.AttributeValueMemberS); ok && sk.Value == "POLICY" {
							kind = "POLICY"
						}
						r.mu.Lock()
						if r.n == nil {
							r.n = map[string]int{}
						}
						r.n[kind]++
						r.mu.Unlock()
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	}
}

func (r *itemReads) count(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[kind]
}

func (r *itemReads) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n = nil
}

const memoryTTL = 5 * time.Second

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, calls: &emulatortest.Calls{}, reads: &itemReads{}, now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	f.env = emulatortest.New(t, f.calls.Option(), f.reads.option())
	f.format, _ = apikey.NewFormat(apikey.DefaultPrefix)
	f.store = tokenstore.New(f.env.DB, f.env.TableName, f.clock)
	f.keys = keyring.NewSource(f.env.Secrets, f.env.SecretARN, f.clock)
	f.auth = authorizer.New(f.format, f.keys, f.store, memoryTTL, f.clock)
	secretscan.Shared().AddKeyRing(f.env.KeyRing)
	t.Cleanup(func() {
		for _, finding := range secretscan.Shared().Log(t.Name()+" authorizer logs", f.logs.String()) {
			t.Error(finding)
		}
	})
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// mint stores a token the way the create action does and returns it with its key.
func (f *fixture) mint(typ tokenstore.Type, user string, expires *time.Time) (tokenstore.Token, string) {
	f.t.Helper()
	ctx := context.Background()
	ring, err := f.keys.Ring(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	key, _ := f.format.Generate()
	now, hash := f.clock(), apikey.Hash(key)
	tok := tokenstore.Token{
		ID: ids.New(ids.Token, now), Name: "Zapier Sync", Type: typ, Status: tokenstore.StatusActive,
		UserID: user, EnvironmentID: "env-1", Hint: f.format.Hint(key), CreatedBy: user,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: expires,
		KeyVersion: ring.Current().ID(), KeyHash: hash[:], KeyMAC: ring.Current().MAC(key), KeyCiphertext: []byte("x"),
	}
	if err := f.store.Create(ctx, tok, 50, tokenstore.Actor{UserID: user}); err != nil {
		f.t.Fatal(err)
	}
	f.calls.Reset()
	f.reads.reset()
	return tok, key
}

// call runs the Lambda handler on a real-shaped payload 2.0 request with the given header.
func (f *fixture) call(header string) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	f.t.Helper()
	raw, err := os.ReadFile("testdata/authorizer-request.json")
	if err != nil {
		f.t.Fatal(err)
	}
	var req events.APIGatewayV2CustomAuthorizerV2Request
	if err := json.Unmarshal(raw, &req); err != nil {
		f.t.Fatal(err)
	}
	req.IdentitySource = []string{header}
	req.Headers["authorization"] = header
	return f.auth.Handler(service.Logger(&f.logs))(context.Background(), req)
}

func (f *fixture) expect(header string, allowed bool, getItems int) events.APIGatewayV2CustomAuthorizerSimpleResponse {
	f.t.Helper()
	f.calls.Reset()
	f.reads.reset()
	resp, err := f.call(header)
	if err != nil {
		f.t.Fatalf("authorizer failed: %v", err)
	}
	if resp.IsAuthorized != allowed {
		f.t.Errorf("isAuthorized = %v, want %v", resp.IsAuthorized, allowed)
	}
	// One GetItem of the key's lookup item per uncached key; the environment's policy, read at
	// most once per PolicyTTL, is counted apart (TestPolicyReads).
	if got := f.calls.Count("DynamoDB.GetItem") - f.reads.count("POLICY"); got != getItems || f.reads.count("KEY") != getItems {
		f.t.Errorf("GetItem calls of keys = %d (%d of lookup items), want %d (%s)", got, f.reads.count("KEY"), getItems, f.calls)
	}
	return resp
}

func TestRefusesMalformedWithoutLookup(t *testing.T) {
	f := newFixture(t)
	_, key := f.mint(tokenstore.TypeUser, "ann", nil)
	flip := func(i int) string {
		b := []byte(key)
		b[i] ^= 0x01
		if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", rune(b[i])) {
			b[i] = 'x'
		}
		return string(b)
	}
	cases := map[string]string{
		"no header":    "",
		"blank":        "   ",
		"garbled":      "Bearer ???",
		"scheme only":  "Bearer",
		"no scheme":    key,
		"basic":        "Basic " + key,
		"wrong prefix": "Bearer ghp_" + key[4:],
		"bad checksum": "Bearer " + flip(len(key)-1),
		"one short":    "Bearer " + key[:len(key)-1],
		"one long":     "Bearer " + key + "a",
		"session jwt":  "Bearer eyJraWQiOiJkZXYiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl",
		"two keys":     "Bearer " + key + " " + key,
	}
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			f.t = t
			resp := f.expect(header, false, 0)
			if resp.Context != nil {
				t.Errorf("a refusal carries context %v", resp.Context)
			}
		})
	}
	if f.calls.Total() != 0 {
		t.Errorf("malformed keys cost AWS calls: %s", f.calls)
	}
}

func TestAllowsAndCaches(t *testing.T) {
	f := newFixture(t)
	tok, key := f.mint(tokenstore.TypeUser, "ann", nil)
	resp := f.expect("Bearer "+key, true, 1)
	want := map[string]any{"tokenId": tok.ID, "tokenName": "Zapier Sync", "type": "user", "userId": "ann", "environmentId": "env-1", "scope": "user",
		"permissions": "null", "allowedCidrs": "null", "rateLimit": "null", "quota": "null"}
	for k, v := range want {
		if resp.Context[k] != v {
			t.Errorf("context %s = %v, want %v", k, resp.Context[k], v)
		}
	}
	if len(resp.Context) != len(want) {
		t.Errorf("context has %d entries, want %d: %v", len(resp.Context), len(want), resp.Context)
	}
	// Cached: no call at all; the scheme in another case is the same key.
	f.expect("Bearer "+key, true, 0)
	f.expect("bearer "+key, true, 0)
	if f.calls.Total() != 0 {
		t.Errorf("a cached check made calls: %s", f.calls)
	}

	admin, adminKey := f.mint(tokenstore.TypeAdmin, "adam", nil)
	resp = f.expect("Bearer "+adminKey, true, 1)
	if resp.Context["scope"] != "environment" || resp.Context["type"] != "admin" || resp.Context["tokenId"] != admin.ID {
		t.Errorf("admin key context = %v", resp.Context)
	}

	// An unknown but well-formed key: one lookup, refused, and the refusal is cached too.
	unknown, _ := f.format.Generate()
	f.expect("Bearer "+unknown, false, 1)
	f.expect("Bearer "+unknown, false, 0)
}

func TestStatusChangesReachTheAuthorizer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, key := f.mint(tokenstore.TypeUser, "ann", nil)
	f.expect("Bearer "+key, true, 1)

	tok, err := f.store.SetStatus(ctx, tok, tokenstore.StatusInactive, tokenstore.Actor{UserID: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	f.advance(memoryTTL - time.Millisecond)
	f.expect("Bearer "+key, true, 0) // still inside the memory TTL
	f.advance(time.Millisecond)
	f.expect("Bearer "+key, false, 1) // deactivated: refused once the TTL has passed

	if tok, err = f.store.SetStatus(ctx, tok, tokenstore.StatusActive, tokenstore.Actor{UserID: "ann"}); err != nil {
		t.Fatal(err)
	}
	f.advance(memoryTTL)
	f.expect("Bearer "+key, true, 1) // activated: allowed again

	if err := f.store.Delete(ctx, tok, tokenstore.Actor{UserID: "ann"}); err != nil {
		t.Fatal(err)
	}
	f.advance(memoryTTL)
	f.expect("Bearer "+key, false, 1) // deleted
}

func TestExpiry(t *testing.T) {
	f := newFixture(t)
	exp := f.clock().Add(2 * time.Second)
	_, key := f.mint(tokenstore.TypeUser, "ann", &exp)
	f.expect("Bearer "+key, true, 1)
	// The cached allow does not outlive the token's expiry, even inside the memory TTL.
	f.advance(2 * time.Second)
	f.expect("Bearer "+key, false, 1)
}

// An expiry stored in a form that does not read back is a failure, never "no expiry": read as
// none, it would let the key in forever.
func TestUnreadableExpiryFailsClosed(t *testing.T) {
	f := newFixture(t)
	tok, key := f.mint(tokenstore.TypeUser, "ann", nil)
	// The key's lookup item (pk KEY#<SHA-256 of the key>, sk KEY) with an expiry past the
	// four-digit years.
	if _, err := f.env.DB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: &f.env.TableName,
		Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "KEY#" + base64.RawURLEncoding.EncodeToString(tok.KeyHash)},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "KEY"},
		},
		UpdateExpression:          aws.String("SET expiresAt = :e"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":e": &ddbtypes.AttributeValueMemberS{Value: "10000-01-01T00:00:00Z"}},
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		f.calls.Reset()
		resp, err := f.call("Bearer " + key)
		if err == nil || resp.IsAuthorized || resp.Context != nil {
			t.Fatalf("unreadable stored expiry: allowed=%v err=%v, want an error and no allow", resp.IsAuthorized, err)
		}
		if n := f.calls.Count("DynamoDB.GetItem"); n != 1 {
			t.Errorf("GetItem calls = %d, want 1: nothing cached from the failure", n)
		}
	}
}

func TestLastUsedAt(t *testing.T) {
	f := newFixture(t)
	tok, key := f.mint(tokenstore.TypeUser, "ann", nil)
	updates := 0
	for step := range 12 { // a call every 30 s for 6 minutes
		f.calls.Reset()
		if resp, err := f.call("Bearer " + key); err != nil || !resp.IsAuthorized {
			t.Fatalf("step %d: %v, %v", step, resp.IsAuthorized, err)
		}
		updates += f.calls.Count("DynamoDB.UpdateItem")
		f.advance(30 * time.Second)
	}
	if updates != 2 {
		t.Errorf("lastUsedAt written %d times over 6 minutes, want 2 (at 0 and 5 min)", updates)
	}
	got, err := f.store.Get(context.Background(), "env-1", tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := tok.CreatedAt.Add(5 * time.Minute); got.LastUsedAt == nil || !got.LastUsedAt.Equal(want) {
		t.Errorf("lastUsedAt = %v, want %v", got.LastUsedAt, want)
	}
}

type failingTouch struct{ authorizer.Store }

func (failingTouch) TouchLastUsed(context.Context, string, string, time.Time, time.Duration) (bool, error) {
	return false, errors.New("throttled")
}

func TestLastUsedFailureDoesNotRefuse(t *testing.T) {
	f := newFixture(t)
	_, key := f.mint(tokenstore.TypeUser, "ann", nil)
	f.auth = authorizer.New(f.format, f.keys, failingTouch{f.store}, memoryTTL, f.clock)
	f.expect("Bearer "+key, true, 1)
	if !strings.Contains(f.logs.String(), `"lastUsedErr":"throttled"`) {
		t.Errorf("the failed write was not logged: %s", f.logs.String())
	}
}

func TestFailsClosed(t *testing.T) {
	f := newFixture(t)
	_, key := f.mint(tokenstore.TypeUser, "ann", nil)
	if _, err := f.keys.Ring(context.Background()); err != nil { // the ring is cached; DynamoDB fails
		t.Fatal(err)
	}
	dead := tokenstore.New(dynamodb.NewFromConfig(f.env.Config, func(o *dynamodb.Options) {
		o.BaseEndpoint, o.RetryMaxAttempts = aws.String("http://127.0.0.1:1"), 1
	}), f.env.TableName, time.Now)
	f.auth = authorizer.New(f.format, f.keys, dead, memoryTTL, f.clock)
	for range 2 {
		resp, err := f.call("Bearer " + key)
		if err == nil || resp.IsAuthorized || resp.Context != nil {
			t.Fatalf("DynamoDB unreachable: allowed=%v err=%v, want an error and no allow", resp.IsAuthorized, err)
		}
	}
	if !strings.Contains(f.logs.String(), `"level":"ERROR"`) {
		t.Error("the failure was not logged")
	}
	// Nothing was cached from the failure: the same authorizer allows once DynamoDB answers.
	f.auth = authorizer.New(f.format, f.keys, f.store, memoryTTL, f.clock)
	f.expect("Bearer "+key, true, 1)

	// Secrets Manager unreachable and no ring yet: an error too.
	noRing := keyring.NewSource(secretsmanager.NewFromConfig(f.env.Config, func(o *secretsmanager.Options) {
		o.BaseEndpoint, o.RetryMaxAttempts = aws.String("http://127.0.0.1:1"), 1
	}), f.env.SecretARN, time.Now)
	f.auth = authorizer.New(f.format, noRing, f.store, memoryTTL, f.clock)
	if resp, err := f.call("Bearer " + key); err == nil || resp.IsAuthorized {
		t.Errorf("Secrets Manager unreachable: allowed=%v err=%v, want an error", resp.IsAuthorized, err)
	}
	if strings.Contains(f.logs.String(), key) {
		t.Error("the logs hold the key")
	}
}

// rotate adds version id to the secret and makes it current, as a finished rotation leaves it.
func (f *fixture) rotate(id string) {
	f.t.Helper()
	ctx := context.Background()
	out, err := f.env.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &f.env.SecretARN})
	if err != nil {
		f.t.Fatal(err)
	}
	var ring map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &ring); err != nil {
		f.t.Fatal(err)
	}
	ring[id], ring["current"] = strings.Repeat(id+"-material-", 6), id
	b, _ := json.Marshal(ring)
	if _, err := f.env.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &f.env.SecretARN, SecretString: aws.String(string(b))}); err != nil {
		f.t.Fatal(err)
	}
	secretscan.Shared().AddKeyRing(string(b))
}

func TestRotation(t *testing.T) {
	f := newFixture(t)
	old, oldKey := f.mint(tokenstore.TypeUser, "ann", nil)
	f.rotate("k2")
	f.rotate("k3")
	f.advance(keyring.DefaultTTL + time.Second)
	_, newKey := f.mint(tokenstore.TypeUser, "ann", nil)
	f.expect("Bearer "+newKey, true, 1) // current version: one lookup
	resp := f.expect("Bearer "+oldKey, true, 1)
	if resp.Context["tokenId"] != old.ID {
		t.Errorf("k1 key resolved to %v", resp.Context["tokenId"])
	}
	// A well-formed key nobody made costs one GetItem whatever the ring holds, and no key ring
	// read: the lookup needs no key material.
	unknown, _ := f.format.Generate()
	f.auth = authorizer.New(f.format, keyring.NewSource(f.env.Secrets, f.env.SecretARN, time.Now), f.store, memoryTTL, time.Now)
	f.expect("Bearer "+unknown, false, 1)
	if n := f.calls.Count("SecretsManager.GetSecretValue"); n != 0 {
		t.Errorf("an unknown key read the key ring %d times, want 0", n)
	}
}

// A copy of the authorizer that still holds the ring from before a rotation accepts a key made
// under the new version at once, with one more key ring read, and no more after it.
func TestRotationReachesACopyHoldingTheOldRing(t *testing.T) {
	f := newFixture(t)
	_, oldKey := f.mint(tokenstore.TypeUser, "ann", nil)
	f.expect("Bearer "+oldKey, true, 1) // this copy now holds the ring of k1 alone
	f.rotate("k2")
	// Another copy, started after the rotation, makes a key under k2.
	newer := &fixture{t: t, env: f.env, calls: &emulatortest.Calls{}, reads: &itemReads{}, store: f.store, format: f.format, now: f.clock()}
	newer.keys = keyring.NewSource(f.env.Secrets, f.env.SecretARN, f.clock)
	_, newKey := newer.mint(tokenstore.TypeUser, "ann", nil)

	f.expect("Bearer "+newKey, true, 1)
	if n := f.calls.Count("SecretsManager.GetSecretValue"); n != 1 {
		t.Errorf("key ring reads for a key of the new version = %d, want 1", n)
	}
	f.advance(memoryTTL + time.Second)
	for _, key := range []string{newKey, oldKey} {
		f.expect("Bearer "+key, true, 1)
		if n := f.calls.Count("SecretsManager.GetSecretValue"); n != 0 {
			t.Errorf("key ring reads after the copy caught up = %d, want 0", n)
		}
	}
}

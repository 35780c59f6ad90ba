package authorizer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/cidr"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/permission"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// LastUsedEvery is how often, at most, a token's lastUsedAt is written.
const LastUsedEvery = 5 * time.Minute

// maxCached bounds the answers kept in memory; past it, expired answers are dropped, and if
// that is not enough, all of them.
const maxCached = 10_000

// touchTimeout bounds the lastUsedAt write, which must never hold up or refuse a call.
const touchTimeout = 300 * time.Millisecond

// DefaultPolicyTTL is how long an environment's policy is kept in memory: with the gateway's
// result cache (5 s by default) a tightened policy refuses the keys outside it within 60 s, at
// one read per environment per 55 s at most.
const DefaultPolicyTTL = 55 * time.Second

// Store is the part of the table model the authorizer uses.
type Store interface {
	LookupKey(ctx context.Context, hash []byte) (tokenstore.KeyRecord, error)
	TouchLastUsed(ctx context.Context, env, tokenID string, at time.Time, every time.Duration) (bool, error)
	Policy(ctx context.Context, env string) (policy.Policy, error)
}

// UsageCounter adds up calls by token and outcome in memory and writes them now and then
// (meter.Tally).
type UsageCounter interface {
	Add(env, tokenID string, at time.Time, c tokenstore.UsageCounts)
	FlushDue(ctx context.Context) error
}

// Keys hands out key ring versions, fetching the ring again when it meets a version it does not
// hold yet (keyring.Source).
type Keys interface {
	Version(ctx context.Context, id string) (*keyring.Version, error)
}

// Reason says why a check ended as it did. It is logged, never returned to the caller.
type Reason string

// Reasons.
const (
	ReasonAllowed   Reason = "allowed"
	ReasonNoKey     Reason = "no_key"
	ReasonMalformed Reason = "malformed"
	ReasonUnknown   Reason = "unknown"
	ReasonInactive  Reason = "inactive"
	ReasonExpired   Reason = "expired"
	// ReasonPermission: the key lacks the permission the route needs.
	ReasonPermission Reason = "permission"
	// ReasonAddress: the call comes from outside the key's allowed CIDRs.
	ReasonAddress Reason = "address"
	// ReasonPolicy: the token is outside its environment's policy.
	ReasonPolicy Reason = "policy"
)

// Call is what the authorizer decides on: the Authorization header, the route key ("GET
// /v1/me") and the caller's source address, as API Gateway gives them.
type Call struct {
	Header   string
	Route    string
	SourceIP string
}

// Decision is the outcome of a check.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Context is handed to the route when allowed: tokenId, tokenName, type, userId,
	// environmentId, scope. It is shared between calls and must not be changed.
	Context map[string]any
	TokenID string
	// EnvironmentID is the token's environment, set whenever TokenID is: a refusal of a key
	// it identified is counted in the token's usage.
	EnvironmentID string
	Cached        bool
	// TouchErr is a failed lastUsedAt write: logged, never a reason to refuse.
	TouchErr error
}

// entry is what a key's lookup decided, kept for the next calls with the key: the decision on
// the key alone, and what each call's route and address are checked against.
type entry struct {
	decision    Decision
	permissions []string
	addresses   cidr.Set
	outside     bool // outside its environment's policy
	until       time.Time
}

type policyEntry struct {
	policy policy.Policy
	until  time.Time
}

// Authorizer checks keys. It is safe for concurrent use.
type Authorizer struct {
	format apikey.Format
	keys   Keys
	store  Store
	ttl    time.Duration
	now    func() time.Time

	// PolicyTTL is how long an environment's policy is kept (DefaultPolicyTTL); set it before
	// the first check.
	PolicyTTL time.Duration
	// Usage, when set before the first check, counts the refusals of keys the authorizer
	// identified in their tokens' usage (Handler); nil counts nothing.
	Usage UsageCounter

	mu       sync.RWMutex
	cache    map[[sha256.Size]byte]entry
	touched  map[string]time.Time // token id → last lastUsedAt write attempted here
	policies map[string]policyEntry
}

// New returns an Authorizer that keeps answers for ttl (0 keeps none), measured on now
// (time.Now in a function).
func New(format apikey.Format, keys Keys, store Store, ttl time.Duration, now func() time.Time) *Authorizer {
	return &Authorizer{
		format: format, keys: keys, store: store, ttl: ttl, now: now,
		cache: make(map[[sha256.Size]byte]entry), touched: make(map[string]time.Time),
		policies: make(map[string]policyEntry), PolicyTTL: DefaultPolicyTTL,
	}
}

// BearerKey takes the key out of an Authorization header value: "Bearer <key>", the scheme in
// any case. Anything else gives "".
func BearerKey(header string) string {
	scheme, key, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(key)
}

// Check decides on the Authorization header of a call that names no route and no address: a key
// with permissions or allowed CIDRs is refused. Authorize decides on a whole call.
func (a *Authorizer) Check(ctx context.Context, header string) (Decision, error) {
	return a.Authorize(ctx, Call{Header: header})
}

// Authorize decides on one call: the key (read with one GetItem, or from memory), then the
// route's permission, the source address and the environment's policy, all from what that
// one read gave. A cached answer costs no read at all.
func (a *Authorizer) Authorize(ctx context.Context, c Call) (Decision, error) {
	key := BearerKey(c.Header)
	if key == "" {
		return Decision{Reason: ReasonNoKey}, nil
	}
	if a.format.Parse(key) != nil {
		return Decision{Reason: ReasonMalformed}, nil
	}
	now := a.now()
	id := apikey.Hash(key)
	a.mu.RLock()
	e, ok := a.cache[id]
	a.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		var err error
		if e, err = a.lookup(ctx, key, id[:], now); err != nil {
			return Decision{}, err
		}
		a.remember(id, e, now)
	} else {
		e.decision.Cached = true
	}
	d := e.decide(c)
	if d.Allowed {
		d.TouchErr = a.touch(ctx, d, now)
	}
	return d, nil
}

// decide applies what e holds to one call's route and address.
func (e entry) decide(c Call) Decision {
	d := e.decision
	if !d.Allowed {
		return d
	}
	refuse := func(r Reason) Decision {
		d.Allowed, d.Reason, d.Context = false, r, nil
		return d
	}
	if e.outside {
		return refuse(ReasonPolicy)
	}
	if e.permissions != nil {
		need, known := permission.Required(c.Route)
		if !known || !permission.Grants(e.permissions, need) {
			return refuse(ReasonPermission)
		}
	}
	if !e.addresses.Allows(c.SourceIP) {
		return refuse(ReasonAddress)
	}
	return d
}

// lookup decides on a well-formed key that is not cached: one GetItem by the key's hash, then
// the HMAC under the ring version the token was made with, compared in constant time. A key
// that passes is held to its environment's policy, read at most once per PolicyTTL.
func (a *Authorizer) lookup(ctx context.Context, key string, hash []byte, now time.Time) (entry, error) {
	e := entry{until: now.Add(a.ttl)}
	rec, err := a.store.LookupKey(ctx, hash)
	if errors.Is(err, tokenstore.ErrNotFound) {
		e.decision.Reason = ReasonUnknown
		return e, nil
	}
	if err != nil {
		return entry{}, fmt.Errorf("check key: %w", err)
	}
	v, err := a.keys.Version(ctx, rec.KeyVersion)
	if err != nil {
		return entry{}, fmt.Errorf("check key of token %s: %w", rec.TokenID, err)
	}
	if !hmac.Equal(rec.KeyMAC, v.MAC(key)) {
		e.decision.Reason = ReasonUnknown
		return e, nil
	}
	e.decision.TokenID, e.decision.EnvironmentID = rec.TokenID, rec.EnvironmentID
	switch {
	case rec.Status != tokenstore.StatusActive:
		e.decision.Reason = ReasonInactive
		return e, nil
	case !rec.Usable(now):
		e.decision.Reason = ReasonExpired
		return e, nil
	}
	pol, polUntil, err := a.policy(ctx, rec.EnvironmentID, now)
	if err != nil {
		return entry{}, fmt.Errorf("check key of token %s: %w", rec.TokenID, err)
	}
	e.decision.Allowed, e.decision.Reason = true, ReasonAllowed
	e.decision.Context = contextOf(rec)
	e.permissions, e.addresses = rec.Permissions, cidr.Compile(rec.AllowedCIDRs)
	e.outside = !pol.Assess(policy.Token{Agent: rec.Agent(), Permissions: rec.Permissions,
		AllowedCIDRs: rec.AllowedCIDRs, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt, RateLimit: rec.RateLimit}).Compliant
	// An answer is never kept past the policy it was decided under, so a cached answer needs
	// no read of the policy.
	for _, end := range []*time.Time{rec.ExpiresAt, rec.GraceEndsAt, &polUntil} {
		// A rolled token's previous key is never remembered past its grace.
		if end != nil && end.Before(e.until) {
			e.until = *end
		}
	}
	return e, nil
}

// policy returns an environment's policy from memory, or reads it when it is older than
// PolicyTTL, and until when it may be used.
func (a *Authorizer) policy(ctx context.Context, env string, now time.Time) (policy.Policy, time.Time, error) {
	a.mu.RLock()
	p, ok := a.policies[env]
	a.mu.RUnlock()
	if ok && now.Before(p.until) {
		return p.policy, p.until, nil
	}
	pol, err := a.store.Policy(ctx, env)
	if err != nil {
		return policy.Policy{}, time.Time{}, err
	}
	p = policyEntry{policy: pol, until: now.Add(a.PolicyTTL)}
	a.mu.Lock()
	if len(a.policies) >= maxCached {
		clear(a.policies)
	}
	a.policies[env] = p
	a.mu.Unlock()
	return p.policy, p.until, nil
}

func contextOf(rec tokenstore.KeyRecord) map[string]any {
	scope := "user"
	if rec.Type == tokenstore.TypeAdmin {
		scope = "environment"
	}
	return map[string]any{
		"tokenId": rec.TokenID, "tokenName": rec.Name, "type": string(rec.Type),
		"userId": rec.UserID, "environmentId": rec.EnvironmentID, "scope": scope,
		// JSON text ("null" or a list): a simple response's context holds plain values.
		"permissions": jsonText(rec.Permissions), "allowedCidrs": jsonText(rec.AllowedCIDRs),
		// The limits the metered routes enforce (shared/meter), from this same item: "null"
		// for none.
		"rateLimit": jsonText(rec.RateLimit), "quota": jsonText(rec.Quota),
	}
}

func (a *Authorizer) remember(id [sha256.Size]byte, e entry, now time.Time) {
	if a.ttl <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxCached {
		for k, e := range a.cache {
			if !now.Before(e.until) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= maxCached {
			clear(a.cache)
		}
	}
	a.cache[id] = e
}

// touch writes the token's lastUsedAt when this copy of the authorizer has not tried within
// LastUsedEvery; the conditional write keeps it to once per LastUsedEvery across all copies. Its
// failure is returned to be logged, and never refuses the call.
func (a *Authorizer) touch(ctx context.Context, d Decision, now time.Time) error {
	a.mu.RLock()
	last, ok := a.touched[d.TokenID]
	a.mu.RUnlock()
	if ok && now.Sub(last) < LastUsedEvery {
		return nil
	}
	a.mu.Lock()
	if len(a.touched) >= maxCached {
		clear(a.touched)
	}
	a.touched[d.TokenID] = now
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, touchTimeout)
	defer cancel()
	env, _ := d.Context["environmentId"].(string)
	_, err := a.store.TouchLastUsed(ctx, env, d.TokenID, now, LastUsedEvery)
	return err
}

// jsonText is v as JSON text, "null" for nil.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

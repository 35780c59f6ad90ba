package authorizer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// LastUsedEvery is how often, at most, a token's lastUsedAt is written.
const LastUsedEvery = 5 * time.Minute

// maxCached bounds the answers kept in memory; past it, expired answers are dropped, and if
// that is not enough, all of them.
const maxCached = 10_000

// touchTimeout bounds the lastUsedAt write, which must never hold up or refuse a call.
const touchTimeout = 300 * time.Millisecond

// Store is the part of the table model the authorizer uses.
type Store interface {
	LookupKey(ctx context.Context, hash []byte) (tokenstore.KeyRecord, error)
	TouchLastUsed(ctx context.Context, env, tokenID string, at time.Time, every time.Duration) (bool, error)
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
)

// Decision is the outcome of a check.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Context is handed to the route when allowed: tokenId, tokenName, type, userId,
	// environmentId, scope. It is shared between calls and must not be changed.
	Context map[string]any
	TokenID string
	Cached  bool
	// TouchErr is a failed lastUsedAt write: logged, never a reason to refuse.
	TouchErr error
}

type entry struct {
	decision Decision
	until    time.Time
}

// Authorizer checks keys. It is safe for concurrent use.
type Authorizer struct {
	format apikey.Format
	keys   Keys
	store  Store
	ttl    time.Duration
	now    func() time.Time

	mu      sync.RWMutex
	cache   map[[sha256.Size]byte]entry
	touched map[string]time.Time // token id → last lastUsedAt write attempted here
}

// New returns an Authorizer that keeps answers for ttl (0 keeps none), measured on now
// (time.Now in a function).
func New(format apikey.Format, keys Keys, store Store, ttl time.Duration, now func() time.Time) *Authorizer {
	return &Authorizer{
		format: format, keys: keys, store: store, ttl: ttl, now: now,
		cache: make(map[[sha256.Size]byte]entry), touched: make(map[string]time.Time),
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

// Check decides on the Authorization header of one call.
func (a *Authorizer) Check(ctx context.Context, header string) (Decision, error) {
	key := BearerKey(header)
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
	if ok && now.Before(e.until) {
		d := e.decision
		d.Cached = true
		if d.Allowed {
			d.TouchErr = a.touch(ctx, d, now)
		}
		return d, nil
	}

	d, until, err := a.lookup(ctx, key, id[:], now)
	if err != nil {
		return Decision{}, err
	}
	a.remember(id, d, until, now)
	if d.Allowed {
		d.TouchErr = a.touch(ctx, d, now)
	}
	return d, nil
}

// lookup decides on a well-formed key that is not cached: one GetItem by the key's hash, then
// the HMAC under the ring version the token was made with, compared in constant time.
func (a *Authorizer) lookup(ctx context.Context, key string, hash []byte, now time.Time) (Decision, time.Time, error) {
	until := now.Add(a.ttl)
	rec, err := a.store.LookupKey(ctx, hash)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return Decision{Reason: ReasonUnknown}, until, nil
	}
	if err != nil {
		return Decision{}, time.Time{}, fmt.Errorf("check key: %w", err)
	}
	v, err := a.keys.Version(ctx, rec.KeyVersion)
	if err != nil {
		return Decision{}, time.Time{}, fmt.Errorf("check key of token %s: %w", rec.TokenID, err)
	}
	if !hmac.Equal(rec.KeyMAC, v.MAC(key)) {
		return Decision{Reason: ReasonUnknown}, until, nil
	}
	d := Decision{TokenID: rec.TokenID}
	switch {
	case rec.Status != tokenstore.StatusActive:
		d.Reason = ReasonInactive
	case !rec.Usable(now):
		d.Reason = ReasonExpired
	default:
		d.Allowed, d.Reason = true, ReasonAllowed
		d.Context = contextOf(rec)
		if rec.ExpiresAt != nil && rec.ExpiresAt.Before(until) {
			until = *rec.ExpiresAt
		}
		// A rolled token's previous key is never remembered past its grace.
		if rec.GraceEndsAt != nil && rec.GraceEndsAt.Before(until) {
			until = *rec.GraceEndsAt
		}
	}
	return d, until, nil
}

func contextOf(rec tokenstore.KeyRecord) map[string]any {
	scope := "user"
	if rec.Type == tokenstore.TypeAdmin {
		scope = "environment"
	}
	return map[string]any{
		"tokenId": rec.TokenID, "tokenName": rec.Name, "type": string(rec.Type),
		"userId": rec.UserID, "environmentId": rec.EnvironmentID, "scope": scope,
	}
}

func (a *Authorizer) remember(id [sha256.Size]byte, d Decision, until, now time.Time) {
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
	a.cache[id] = entry{decision: d, until: until}
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

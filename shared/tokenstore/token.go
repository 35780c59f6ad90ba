package tokenstore

import (
	"net/http"
	"time"

	"github.com/apitokens/apitokens/shared/fault"
)

// Type is the reach of a token.
type Type string

// Token types.
const (
	TypeUser  Type = "user"  // acts as its owner, on the owner's data only
	TypeAdmin Type = "admin" // acts across every user of its environment
)

// Status is a token's stored state. Expiry is not stored as a status; see Token.State.
type Status string

// Stored statuses.
const (
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
)

// StateExpired is what Token.State reports for an active token past its expiry.
const StateExpired = "expired"

// Errors of the table model, each with its HTTP answer.
var (
	// ErrNotFound reports a token (or key) that is not stored.
	ErrNotFound = fault.Domain("token not found", http.StatusNotFound, "token_not_found", "No token with this id.")
	// ErrLimitReached refuses a create past the owner's token limit.
	ErrLimitReached = fault.Domain("token limit reached", http.StatusConflict, "token_limit_reached", "The token limit is reached; delete a token first.")
	// ErrExpired refuses to activate a token past its expiry.
	ErrExpired = fault.Domain("token expired", http.StatusConflict, "token_expired", "The token has expired and cannot be activated.")
	// ErrConflict reports a change that lost a race with another.
	ErrConflict = fault.Domain("concurrent change", http.StatusConflict, "conflict", "The token was changed at the same time; try again.")
	// ErrBadCursor reports a start key that is not the query's.
	ErrBadCursor = fault.Domain("cursor does not belong to this query", http.StatusBadRequest, "invalid_cursor", "The cursor is not valid for this request.")
	// ErrIdempotencyMismatch reports an Idempotency-Key repeated with another request.
	ErrIdempotencyMismatch = fault.Domain("idempotency key reused with another request", http.StatusConflict, "idempotency_key_reused", "This Idempotency-Key was used with another body.")
	// ErrIdempotentTokenDeleted reports an Idempotency-Key repeated after the token its first
	// request created was deleted: there is nothing left to answer with.
	ErrIdempotentTokenDeleted = fault.Domain("token of this idempotency key was deleted", http.StatusConflict, "idempotency_key_reused", "The token this Idempotency-Key created has been deleted since; send a new key to create another.")
)

// Token is an API token as the service knows it. KeyHash, KeyMAC, KeyCiphertext and KeyVersion
// are secret material: they are stored, never shown. KeyHash (apikey.Hash) keys the lookup item;
// KeyMAC is the key's HMAC under ring version KeyVersion, checked after the lookup.
type Token struct {
	ID            string
	Name          string
	Type          Type
	Status        Status
	UserID        string
	EnvironmentID string
	Hint          string
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastUsedAt    *time.Time
	ExpiresAt     *time.Time

	KeyVersion    string
	KeyHash       []byte
	KeyMAC        []byte
	KeyCiphertext []byte
}

// Expired reports whether the token's expiry has passed at now.
func (t Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// State is the status the API shows: "active", "inactive", or "expired" for an active token
// past its expiry.
func (t Token) State(now time.Time) string {
	if t.Status == StatusActive && t.Expired(now) {
		return StateExpired
	}
	return string(t.Status)
}

// KeyRecord is what the key authorizer reads: one lookup item.
type KeyRecord struct {
	TokenID       string
	Name          string
	Type          Type
	Status        Status
	UserID        string
	EnvironmentID string
	ExpiresAt     *time.Time
	KeyVersion    string
	KeyMAC        []byte
}

// Usable reports whether the key may be used at now: active and not expired.
func (k KeyRecord) Usable(now time.Time) bool {
	return k.Status == StatusActive && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Action names what an audit record records.
type Action string

// Audited actions.
const (
	ActionCreate     Action = "create"
	ActionRename     Action = "rename"
	ActionReveal     Action = "reveal"
	ActionDeactivate Action = "deactivate"
	ActionActivate   Action = "activate"
	ActionDelete     Action = "delete"
)

// Actor is who did something, and from where.
type Actor struct {
	UserID    string
	SourceIP  string
	UserAgent string
}

// AuditRecord is one entry of a token's history.
type AuditRecord struct {
	ID            string
	TokenID       string
	EnvironmentID string
	Action        Action
	ActorID       string
	OwnerID       string // the token's owner; "" in records written before it was kept
	SourceIP      string
	UserAgent     string
	At            time.Time
	Detail        map[string]string
}

// AuditRetention is how long audit records are kept before the table's TTL removes them.
const AuditRetention = 400 * 24 * time.Hour

// IdempotencyRetention is how long a create remembers its Idempotency-Key. The table's TTL
// removes the record some time after; until then a record past this age counts as gone.
const IdempotencyRetention = 24 * time.Hour

// Idempotency makes a create safe to repeat: the caller's Idempotency-Key and the request it
// came with, in a canonical form (requests that mean the same have the same bytes). Only
// SHA-256 sums of both are stored.
type Idempotency struct {
	Key     string
	Request []byte
}

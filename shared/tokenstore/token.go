package tokenstore

import (
	"net/http"
	"time"

	"github.com/apitokens/apitokens/shared/fault"
	"github.com/apitokens/apitokens/shared/policy"
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
	// ErrKeyLeaked refuses to activate a token whose key was reported leaked: only a roll, which
	// replaces the key, lets it be activated again.
	ErrKeyLeaked = fault.Domain("token key leaked", http.StatusConflict, "key_leaked", "The key was reported leaked; roll the key before activating the token.")
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

	// PreviousKey is the key a roll replaced, while its grace runs; nil when there is none.
	PreviousKey *PreviousKey
	// Leak is set when a secret scanner reported the key in public; nil otherwise.
	Leak *Leak

	// Permissions is nil for full access (all the token's type allows), or the permissions of
	// the catalogue it holds (shared/permission), sorted; an empty list holds none.
	Permissions []string
	// AllowedCIDRs is nil for calls from anywhere, or the prefixes calls must come from.
	AllowedCIDRs []string
	// OwnerRole is the owner's role when the token was made; "" on tokens stored before it was
	// kept, and after a transfer (see Token.Agent).
	OwnerRole Role
	// RateLimit is nil for no rate limit; Quota nil for no monthly quota. Both are copied onto
	// the lookup items, where the key authorizer hands them to the metered routes.
	RateLimit *policy.RateLimit
	Quota     *policy.Quota
	// Revision counts the changes of what the lookup items copy from the token besides its
	// status (name, permissions, allowed addresses, limits, owner); a change made from a stale
	// read fails on it.
	Revision int
}

// Role is what the owner of a token was when the policy last looked: an agent or an admin.
type Role string

// Roles.
const (
	RoleAgent Role = "agent"
	RoleAdmin Role = "admin"
)

// Agent reports whether the environment's policy treats the token as an agent's: its owner was
// an agent when it was made, or that is not known and it is a User token (an Admin token is
// only ever made by an admin).
func (t Token) Agent() bool { return agentToken(t.OwnerRole, t.Type) }

func agentToken(role Role, typ Type) bool {
	return role == RoleAgent || (role == "" && typ != TypeAdmin)
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
	// GraceEndsAt is set when the key is a rolled token's previous key: it works until then.
	GraceEndsAt *time.Time
	// Permissions, AllowedCIDRs and OwnerRole are the token's (Token); CreatedAt is zero on
	// lookup items stored before it was kept.
	Permissions  []string
	AllowedCIDRs []string
	OwnerRole    Role
	CreatedAt    time.Time
	// RateLimit and Quota are the token's; nil on lookup items stored before limits were kept.
	RateLimit *policy.RateLimit
	Quota     *policy.Quota
}

// Agent reports whether the environment's policy treats the key's token as an agent's.
func (k KeyRecord) Agent() bool { return agentToken(k.OwnerRole, k.Type) }

// Usable reports whether the key may be used at now: active, not expired, and, for a previous
// key, within its grace.
func (k KeyRecord) Usable(now time.Time) bool {
	return k.Status == StatusActive && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt)) &&
		(k.GraceEndsAt == nil || now.Before(*k.GraceEndsAt))
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
	// ActionRoll records a new key for the token, and the grace left to the previous one.
	ActionRoll Action = "roll"
	// ActionRevokePreviousKey records a grace ended early.
	ActionRevokePreviousKey Action = "revoke_previous_key"
	// ActionLeak records a key reported in public by a secret scanner, and where.
	ActionLeak Action = "leak"
	// ActionEdit records a change of permissions, allowed addresses, rate limit or quota (and
	// of the name with them); a change of the name alone is ActionRename.
	ActionEdit Action = "edit"
	// ActionTransfer records a token handed to another user of its environment.
	ActionTransfer Action = "transfer"
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

// PreviousKey is a rolled token's earlier key during its grace. Its MAC and version are secret
// material, stored to find its lookup item, never shown.
type PreviousKey struct {
	Hint       string
	ExpiresAt  time.Time
	KeyVersion string
	KeyHash    []byte
	KeyMAC     []byte
}

// Leak is what a secret scanner told about a token's key found in public.
type Leak struct {
	URL        string
	Source     string
	ReportedAt time.Time
}

// MaxGrace is the longest a previous key may keep working after a roll.
const MaxGrace = 7 * 24 * time.Hour

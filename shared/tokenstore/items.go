package tokenstore

import (
	"fmt"
	"time"

	"github.com/apitokens/apitokens/shared/policy"
)

// timeFormat is how times are stored: UTC, whole seconds, so that stored strings compare in time
// order.
const timeFormat = "2006-01-02T15:04:05Z"

func formatTime(t time.Time) string         { return t.UTC().Format(timeFormat) }
func parseTime(s string) (time.Time, error) { return time.Parse(timeFormat, s) }
func formatOptTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

// storable refuses a time that timeFormat cannot hold: a year past 9999 (or before 0000) is
// written with more digits, then neither sorts in time order nor reads back.
func storable(what string, t *time.Time) error {
	if t == nil {
		return nil
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%s in year %d: only years 0000-9999 can be stored", what, y)
	}
	return nil
}

// times reads stored times into their fields, optional ones ("" is none) and required ones. A
// stored time that does not read back is an error, never a zero or absent time: an expiry read
// as none would let a key live forever.
type times struct{ err error }

func (r *times) at(field, s string) time.Time {
	t, err := parseTime(s)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("stored %s %q: %w", field, s, err)
	}
	return t
}

func (r *times) opt(field, s string) *time.Time {
	if s == "" {
		return nil
	}
	t := r.at(field, s)
	return &t
}

type tokenItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	GSI1PK        string `dynamodbav:"gsi1pk"`
	GSI1SK        string `dynamodbav:"gsi1sk"`
	GSI2PK        string `dynamodbav:"gsi2pk"`
	GSI2SK        string `dynamodbav:"gsi2sk"`
	Kind          string `dynamodbav:"kind"`
	ID            string `dynamodbav:"id"`
	Name          string `dynamodbav:"name"`
	Type          string `dynamodbav:"type"`
	Status        string `dynamodbav:"status"`
	UserID        string `dynamodbav:"userId"`
	EnvironmentID string `dynamodbav:"environmentId"`
	Hint          string `dynamodbav:"hint"`
	CreatedBy     string `dynamodbav:"createdBy"`
	CreatedAt     string `dynamodbav:"createdAt"`
	UpdatedAt     string `dynamodbav:"updatedAt"`
	LastUsedAt    string `dynamodbav:"lastUsedAt,omitempty"`
	ExpiresAt     string `dynamodbav:"expiresAt,omitempty"`
	KeyVersion    string `dynamodbav:"keyVersion"`
	KeyHash       []byte `dynamodbav:"keyHash"`
	KeyMAC        []byte `dynamodbav:"keyMac"`
	KeyCiphertext []byte `dynamodbav:"keyCiphertext"`

	PrevKeyMAC       []byte `dynamodbav:"prevKeyMac,omitempty"`
	PrevKeyHash      []byte `dynamodbav:"prevKeyHash,omitempty"`
	PrevKeyVersion   string `dynamodbav:"prevKeyVersion,omitempty"`
	PrevHint         string `dynamodbav:"prevHint,omitempty"`
	PrevKeyExpiresAt string `dynamodbav:"prevKeyExpiresAt,omitempty"`
	LeakURL          string `dynamodbav:"leakUrl,omitempty"`
	LeakSource       string `dynamodbav:"leakSource,omitempty"`
	LeakReportedAt   string `dynamodbav:"leakReportedAt,omitempty"`

	// Permissions and AllowedCIDRs: absent for nil (full access, anywhere); an empty list is
	// stored as one.
	Permissions  []string `dynamodbav:"permissions,omitempty"`
	AllowedCIDRs []string `dynamodbav:"allowedCidrs,omitempty"`
	OwnerRole    string   `dynamodbav:"ownerRole,omitempty"`
	limitAttrs
	Revision int `dynamodbav:"rev,omitempty"`
}

// limitAttrs are a token's rate limit and quota as the token and its lookup items store them:
// flat numbers, absent for none, so that an edit sets or removes each one.
type limitAttrs struct {
	RateRequests      int `dynamodbav:"rateLimitRequests,omitempty"`
	RateWindowSeconds int `dynamodbav:"rateLimitWindowSeconds,omitempty"`
	QuotaPerMonth     int `dynamodbav:"quotaRequestsPerMonth,omitempty"`
}

// The attributes of limitAttrs.
const (
	attrRateRequests = "rateLimitRequests"
	attrRateWindow   = "rateLimitWindowSeconds"
	attrQuota        = "quotaRequestsPerMonth"
)

func limitAttrsOf(l *policy.RateLimit, q *policy.Quota) limitAttrs {
	var a limitAttrs
	if l != nil {
		a.RateRequests, a.RateWindowSeconds = l.Requests, l.WindowSeconds
	}
	if q != nil {
		a.QuotaPerMonth = q.RequestsPerMonth
	}
	return a
}

// limits reads the stored limits; an item stored before them has none.
func (a limitAttrs) limits() (*policy.RateLimit, *policy.Quota) {
	var l *policy.RateLimit
	var q *policy.Quota
	if a.RateRequests > 0 && a.RateWindowSeconds > 0 {
		l = &policy.RateLimit{Requests: a.RateRequests, WindowSeconds: a.RateWindowSeconds}
	}
	if a.QuotaPerMonth > 0 {
		q = &policy.Quota{RequestsPerMonth: a.QuotaPerMonth}
	}
	return l, q
}

func newTokenItem(t Token) tokenItem {
	return tokenItem{
		PK: envPK(t.EnvironmentID), SK: tokenSK(t.ID),
		GSI1PK: ownerPK(t.EnvironmentID, t.UserID), GSI1SK: tokenSK(t.ID),
		GSI2PK: statusPK(t.EnvironmentID, t.Status), GSI2SK: tokenSK(t.ID),
		Kind: kindToken, ID: t.ID, Name: t.Name, Type: string(t.Type), Status: string(t.Status),
		UserID: t.UserID, EnvironmentID: t.EnvironmentID, Hint: t.Hint, CreatedBy: t.CreatedBy,
		CreatedAt: formatTime(t.CreatedAt), UpdatedAt: formatTime(t.UpdatedAt),
		LastUsedAt: formatOptTime(t.LastUsedAt), ExpiresAt: formatOptTime(t.ExpiresAt),
		KeyVersion: t.KeyVersion, KeyHash: t.KeyHash, KeyMAC: t.KeyMAC, KeyCiphertext: t.KeyCiphertext,
		Permissions: t.Permissions, AllowedCIDRs: t.AllowedCIDRs, OwnerRole: string(t.OwnerRole), Revision: t.Revision,
		limitAttrs: limitAttrsOf(t.RateLimit, t.Quota),
	}
}

func (it tokenItem) token() (Token, error) {
	var r times
	t := Token{
		ID: it.ID, Name: it.Name, Type: Type(it.Type), Status: Status(it.Status),
		UserID: it.UserID, EnvironmentID: it.EnvironmentID, Hint: it.Hint, CreatedBy: it.CreatedBy,
		CreatedAt: r.at("createdAt", it.CreatedAt), UpdatedAt: r.at("updatedAt", it.UpdatedAt),
		LastUsedAt: r.opt("lastUsedAt", it.LastUsedAt), ExpiresAt: r.opt("expiresAt", it.ExpiresAt),
		KeyVersion: it.KeyVersion, KeyHash: it.KeyHash, KeyMAC: it.KeyMAC, KeyCiphertext: it.KeyCiphertext,
		Permissions: it.Permissions, AllowedCIDRs: it.AllowedCIDRs, OwnerRole: Role(it.OwnerRole), Revision: it.Revision,
	}
	t.RateLimit, t.Quota = it.limits()
	if it.PrevKeyExpiresAt != "" {
		t.PreviousKey = &PreviousKey{Hint: it.PrevHint, ExpiresAt: r.at("prevKeyExpiresAt", it.PrevKeyExpiresAt),
			KeyVersion: it.PrevKeyVersion, KeyHash: it.PrevKeyHash, KeyMAC: it.PrevKeyMAC}
	}
	if it.LeakReportedAt != "" {
		t.Leak = &Leak{URL: it.LeakURL, Source: it.LeakSource, ReportedAt: r.at("leakReportedAt", it.LeakReportedAt)}
	}
	if r.err != nil {
		return Token{}, fmt.Errorf("token %s: %w", it.ID, r.err)
	}
	return t, nil
}

type keyItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	Kind          string `dynamodbav:"kind"`
	TokenID       string `dynamodbav:"tokenId"`
	Name          string `dynamodbav:"name"`
	Type          string `dynamodbav:"type"`
	Status        string `dynamodbav:"status"`
	UserID        string `dynamodbav:"userId"`
	EnvironmentID string `dynamodbav:"environmentId"`
	ExpiresAt     string `dynamodbav:"expiresAt,omitempty"`
	KeyVersion    string `dynamodbav:"keyVersion"`
	KeyMAC        []byte `dynamodbav:"keyMac"`
	// GraceEndsAt is set on a previous key's lookup item only: the key stops at that time.
	GraceEndsAt string `dynamodbav:"graceEndsAt,omitempty"`
	TTL         int64  `dynamodbav:"ttl,omitempty"`
	// The token's permissions, allowlist, owner role and creation, kept in step with the token
	// item by every write, so that the authorizer decides from this one item.
	Permissions  []string `dynamodbav:"permissions,omitempty"`
	AllowedCIDRs []string `dynamodbav:"allowedCidrs,omitempty"`
	OwnerRole    string   `dynamodbav:"ownerRole,omitempty"`
	CreatedAt    string   `dynamodbav:"createdAt,omitempty"`
	limitAttrs
}

func newKeyItem(t Token) keyItem {
	return keyItem{
		PK: keyPK(t.KeyHash), SK: keySK, Kind: kindKey,
		TokenID: t.ID, Name: t.Name, Type: string(t.Type), Status: string(t.Status),
		UserID: t.UserID, EnvironmentID: t.EnvironmentID, ExpiresAt: formatOptTime(t.ExpiresAt),
		KeyVersion: t.KeyVersion, KeyMAC: t.KeyMAC,
		Permissions: t.Permissions, AllowedCIDRs: t.AllowedCIDRs, OwnerRole: string(t.OwnerRole),
		CreatedAt: formatTime(t.CreatedAt), limitAttrs: limitAttrsOf(t.RateLimit, t.Quota),
	}
}

func (it keyItem) record() (KeyRecord, error) {
	var r times
	rec := KeyRecord{
		TokenID: it.TokenID, Name: it.Name, Type: Type(it.Type), Status: Status(it.Status),
		UserID: it.UserID, EnvironmentID: it.EnvironmentID, ExpiresAt: r.opt("expiresAt", it.ExpiresAt),
		KeyVersion: it.KeyVersion, KeyMAC: it.KeyMAC, GraceEndsAt: r.opt("graceEndsAt", it.GraceEndsAt),
		Permissions: it.Permissions, AllowedCIDRs: it.AllowedCIDRs, OwnerRole: Role(it.OwnerRole),
	}
	rec.RateLimit, rec.Quota = it.limits()
	if created := r.opt("createdAt", it.CreatedAt); created != nil {
		rec.CreatedAt = *created
	}
	if r.err != nil {
		return KeyRecord{}, fmt.Errorf("key of token %s: %w", it.TokenID, r.err)
	}
	return rec, nil
}

type auditItem struct {
	PK            string            `dynamodbav:"pk"`
	SK            string            `dynamodbav:"sk"`
	Kind          string            `dynamodbav:"kind"`
	ID            string            `dynamodbav:"id"`
	TokenID       string            `dynamodbav:"tokenId"`
	EnvironmentID string            `dynamodbav:"environmentId"`
	Action        string            `dynamodbav:"action"`
	ActorID       string            `dynamodbav:"actorId"`
	OwnerID       string            `dynamodbav:"ownerId,omitempty"`
	SourceIP      string            `dynamodbav:"sourceIp,omitempty"`
	UserAgent     string            `dynamodbav:"userAgent,omitempty"`
	At            string            `dynamodbav:"at"`
	Detail        map[string]string `dynamodbav:"detail,omitempty"`
	TTL           int64             `dynamodbav:"ttl"`
}

func (it auditItem) record() (AuditRecord, error) {
	var r times
	rec := AuditRecord{
		ID: it.ID, TokenID: it.TokenID, EnvironmentID: it.EnvironmentID, Action: Action(it.Action),
		ActorID: it.ActorID, OwnerID: it.OwnerID, SourceIP: it.SourceIP, UserAgent: it.UserAgent,
		At: r.at("at", it.At), Detail: it.Detail,
	}
	if r.err != nil {
		return AuditRecord{}, fmt.Errorf("audit record %s: %w", it.ID, r.err)
	}
	return rec, nil
}

// idemItem remembers a create made with an Idempotency-Key: the token it made and what the
// request asked for. It lives beside the user's tokens (pk ENV#<env>); the SHA-256 of the key
// has a fixed length at the end of the sort key, so no user id can make two records collide.
type idemItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Kind        string `dynamodbav:"kind"`
	TokenID     string `dynamodbav:"tokenId"`
	RequestHash string `dynamodbav:"requestHash"`
	CreatedAt   string `dynamodbav:"createdAt"`
	TTL         int64  `dynamodbav:"ttl"`
}

// live reports whether the record still counts at now: the table's TTL removes an item some
// time after it expires, not at once.
func (it idemItem) live(now time.Time) bool { return it.TTL > now.Unix() }

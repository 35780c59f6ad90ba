package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/apitokens/apitokens/shared/access"
	"github.com/apitokens/apitokens/shared/cursor"
	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/ids"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

type createRequest struct {
	Name         *string         `json:"name"`
	Type         *string         `json:"type"`
	ExpiresAt    *string         `json:"expiresAt"`
	Permissions  json.RawMessage `json:"permissions"`
	AllowedCIDRs json.RawMessage `json:"allowedCidrs"`
	RateLimit    json.RawMessage `json:"rateLimit"`
	Quota        json.RawMessage `json:"quota"`
}

type createdView struct {
	tokenView
	Key string `json:"key"`
}

var (
	errInvalidType   = httpapi.Errorf(http.StatusBadRequest, "invalid_type", `type must be "user" or "admin".`)
	errInvalidExpiry = httpapi.Errorf(http.StatusBadRequest, "invalid_expiry", "expiresAt must be an RFC 3339 time in the future.")
)

// createCanonical is a create request in its canonical form, as an Idempotency-Key remembers
// it: the fields as they were understood (the name trimmed, the type defaulted, the expiry in
// UTC), so that requests which make the same token are the same request.
type createCanonical struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	ExpiresAt    string   `json:"expiresAt"`
	Permissions  []string `json:"permissions"`
	AllowedCIDRs []string `json:"allowedCidrs"`
	// RateLimit is the rate limit asked for; NoRateLimit says null was sent, which asks for
	// none, where leaving it out asks for the policy's default. Quota is nil for none. All
	// three are left out when unset, so requests without limits keep their canonical form.
	RateLimit   *policy.RateLimit `json:"rateLimit,omitempty"`
	NoRateLimit bool              `json:"noRateLimit,omitempty"`
	Quota       *policy.Quota     `json:"quota,omitempty"`

	expires *time.Time // ExpiresAt as a time, nil for none
}

// CreateToken is POST /v1/tokens: a new token for the caller, answered once with its key. With
// an Idempotency-Key, a repeat of the same request within 24 hours answers the token the first
// one made, with its key, and stores nothing.
func CreateToken(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("create", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, err := session(d, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		idemKey, err := httpapi.IdempotencyKey(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		now := d.Now().UTC().Truncate(time.Second)
		in, err := parseCreate(req, now)
		if err != nil {
			return httpapi.Response{}, err
		}
		if err := p.CheckCreate(in.Type == string(tokenstore.TypeAdmin)); err != nil {
			return httpapi.Response{}, err
		}
		t, key, err := newToken(ctx, d, p, in, now)
		if err != nil {
			return httpapi.Response{}, err
		}
		pol, err := d.Store.Policy(ctx, p.EnvironmentID)
		if err != nil {
			return httpapi.Response{}, err
		}
		if in.RateLimit == nil && !in.NoRateLimit {
			t.RateLimit = pol.RateLimitFor()
		}
		if err := enforce(pol, t, now, ruleLifetime, rulePermissions, ruleAddresses, ruleRateLimit); err != nil {
			return httpapi.Response{}, err
		}
		if idemKey == "" {
			if err := d.Store.Create(ctx, t, d.Config.TokenLimit, actor(req, p.UserID)); err != nil {
				return httpapi.Response{}, err
			}
			return created(t, key, pol, now), nil
		}
		return createIdempotent(ctx, d, actor(req, p.UserID), t, key, in, idemKey, pol, now)
	})
}

// parseCreate reads a create request's body into its canonical form: the name cleaned, the type
// defaulted to user, the expiry, if any, in UTC to the second and after now.
func parseCreate(req httpapi.Request, now time.Time) (createCanonical, error) {
	var in createRequest
	if err := httpapi.DecodeJSON(req, httpapi.MaxBody, &in); err != nil {
		return createCanonical{}, err
	}
	name, err := cleanName(in.Name)
	if err != nil {
		return createCanonical{}, err
	}
	typ := tokenstore.TypeUser
	if in.Type != nil {
		typ = tokenstore.Type(*in.Type)
		if typ != tokenstore.TypeUser && typ != tokenstore.TypeAdmin {
			return createCanonical{}, errInvalidType
		}
	}
	var expires *time.Time
	if in.ExpiresAt != nil {
		// Kept to the second, so it must still lie ahead once truncated.
		at, ok := parseRFC3339(*in.ExpiresAt)
		at = at.UTC().Truncate(time.Second)
		if !ok || !at.After(now) || at.After(lastExpiry) {
			return createCanonical{}, errInvalidExpiry
		}
		expires = &at
	}
	perms, err := parsePermissions(in.Permissions)
	if err != nil {
		return createCanonical{}, err
	}
	cidrs, err := parseCIDRs(in.AllowedCIDRs)
	if err != nil {
		return createCanonical{}, err
	}
	c := createCanonical{Name: name, Type: string(typ), ExpiresAt: timeOrEmpty(expires), expires: expires,
		Permissions: perms, AllowedCIDRs: cidrs}
	if in.RateLimit != nil {
		if c.RateLimit, err = policy.ParseRateLimit(in.RateLimit); err != nil {
			return createCanonical{}, err
		}
		c.NoRateLimit = c.RateLimit == nil
	}
	if in.Quota != nil {
		if c.Quota, err = policy.ParseQuota(in.Quota); err != nil {
			return createCanonical{}, err
		}
	}
	return c, nil
}

// newToken makes the token that in asks for, owned by p: a new key, sealed under the ring's
// current version. Nothing is stored yet.
func newToken(ctx context.Context, d *service.Deps, p access.Principal, in createCanonical, now time.Time) (tokenstore.Token, string, error) {
	t := tokenstore.Token{
		ID: ids.New(ids.Token, now), Name: in.Name, Type: tokenstore.Type(in.Type), Status: tokenstore.StatusActive,
		UserID: p.UserID, EnvironmentID: p.EnvironmentID, CreatedBy: p.UserID,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: in.expires,
		Permissions: in.Permissions, AllowedCIDRs: in.AllowedCIDRs, OwnerRole: tokenstore.RoleAgent,
		RateLimit: in.RateLimit, Quota: in.Quota,
	}
	if p.Admin {
		t.OwnerRole = tokenstore.RoleAdmin
	}
	k, key, err := newKey(ctx, d, t)
	if err != nil {
		return tokenstore.Token{}, "", err
	}
	t.Hint, t.KeyVersion, t.KeyHash, t.KeyMAC, t.KeyCiphertext = k.Hint, k.Version, k.Hash, k.MAC, k.Ciphertext
	return t, key, nil
}

// createIdempotent stores t under an Idempotency-Key, remembering the request in. A repeat of
// the same request answers the token the first one made instead.
func createIdempotent(ctx context.Context, d *service.Deps, by tokenstore.Actor, t tokenstore.Token, key string, in createCanonical, idemKey string, pol policy.Policy, now time.Time) (httpapi.Response, error) {
	canonical, err := json.Marshal(in)
	if err != nil {
		return httpapi.Response{}, fmt.Errorf("create token: %w", err)
	}
	got, replayed, err := d.Store.CreateIdempotent(ctx, t, d.Config.TokenLimit, by,
		tokenstore.Idempotency{Key: idemKey, Request: canonical})
	if err != nil {
		return httpapi.Response{}, err
	}
	if !replayed {
		return created(t, key, pol, now), nil
	}
	// The caller made this token with this request: like reveal, its owner gets the key back
	// from the stored ciphertext, and like reveal that leaves an audit record. The key made for
	// this request was never stored.
	if key, err = openKey(ctx, d.Keys, got); err != nil {
		return httpapi.Response{}, err
	}
	if err := d.Store.RecordAudit(ctx, got, tokenstore.ActionReveal, by); err != nil {
		return httpapi.Response{}, err
	}
	resp := created(got, key, pol, now)
	resp.Headers["idempotent-replayed"] = "true"
	return resp, nil
}

// created is the answer to a create: the token with its key, where it lives, and never cached.
func created(t tokenstore.Token, key string, pol policy.Policy, now time.Time) httpapi.Response {
	return httpapi.JSON(http.StatusCreated, createdView{tokenView: assessedViewOf(t, pol, now), Key: key},
		append([]string{"location", "/v1/tokens/" + t.ID}, noStore...)...)
}

// timeOrEmpty is an optional time as the API writes it, "" for none.
func timeOrEmpty(t *time.Time) string {
	if s := optTime(t); s != nil {
		return *s
	}
	return ""
}

// openKey recovers a token's key from its stored ciphertext with the key ring version it was
// sealed under, fetching the ring again if a rotation added that version since it was read.
// Only ever for the token's owner.
func openKey(ctx context.Context, keys *keyring.Source, t tokenstore.Token) (string, error) {
	v, err := keys.Version(ctx, t.KeyVersion)
	if err != nil {
		return "", fmt.Errorf("open key of token %s: %w", t.ID, err)
	}
	key, err := v.Open(t.KeyCiphertext, keyAAD(t))
	if err != nil {
		return "", fmt.Errorf("open key of token %s: %w", t.ID, err)
	}
	return string(key), nil
}

type listView struct {
	Items      []tokenView `json:"items"`
	NextCursor *string     `json:"nextCursor"`
}

var errInvalidOwner = httpapi.Errorf(http.StatusBadRequest, "invalid_owner", `owner must be "me", "all" or a user id.`)

var errInvalidStatus = httpapi.Errorf(http.StatusBadRequest, "invalid_status", `status must be "active", "inactive" or "expired".`)

// ListTokens is GET /v1/tokens: the caller's tokens, or (for an admin) any user's or everyone's
// in the environment, newest first, a page at a time.
func ListTokens(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("list", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, err := session(d, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		q := req.QueryStringParameters
		if o := q["owner"]; o != "" && o != "me" && o != "all" && !httpapi.ValidID(o) {
			return httpapi.Response{}, errInvalidOwner
		}
		owner, err := p.ListOwner(q["owner"])
		if err != nil {
			return httpapi.Response{}, err
		}
		state := q["status"]
		switch state {
		case "", string(tokenstore.StatusActive), string(tokenstore.StatusInactive), tokenstore.StateExpired:
		default:
			return httpapi.Response{}, errInvalidStatus
		}
		limit, err := pageSize(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		scope := cursor.Scope("tokens", p.EnvironmentID, p.UserID, owner, state)
		query := tokenstore.ListQuery{EnvironmentID: p.EnvironmentID, OwnerID: owner, State: state, Limit: limit}
		if query.StartKey, err = startKey(ctx, d, scope, req); err != nil {
			return httpapi.Response{}, err
		}
		page, err := d.Store.List(ctx, query)
		if err != nil {
			return httpapi.Response{}, err
		}
		pol, err := d.Store.Policy(ctx, p.EnvironmentID)
		if err != nil {
			return httpapi.Response{}, err
		}
		now := d.Now()
		calls, err := callsLast24h(ctx, d, p.EnvironmentID, page.Tokens, now)
		if err != nil {
			return httpapi.Response{}, err
		}
		out := listView{Items: make([]tokenView, 0, len(page.Tokens))}
		for _, t := range page.Tokens {
			v := assessedViewOf(t, pol, now)
			n := calls[t.ID].Total()
			v.CallsLast24h = &n
			out.Items = append(out.Items, v)
		}
		if out.NextCursor, err = nextCursor(ctx, d, scope, page.LastKey); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, out), nil
	})
}

// listPage is the paging a list route shares: req's page size and cursor (sealed to scope),
// the store's page from list, and the sealed cursor of the next page (nil after the last).
func listPage[T any](ctx context.Context, d *service.Deps, req httpapi.Request, scope []byte,
	list func(limit int, start map[string]string) ([]T, map[string]string, error)) ([]T, *string, error) {
	limit, err := pageSize(req)
	if err != nil {
		return nil, nil, err
	}
	start, err := startKey(ctx, d, scope, req)
	if err != nil {
		return nil, nil, err
	}
	items, last, err := list(limit, start)
	if err != nil {
		return nil, nil, err
	}
	next, err := nextCursor(ctx, d, scope, last)
	return items, next, err
}

// startKey opens the request's ?cursor= under scope; no cursor, or an empty one, is the first
// page (nil).
func startKey(ctx context.Context, d *service.Deps, scope []byte, req httpapi.Request) (map[string]string, error) {
	c := req.QueryStringParameters["cursor"]
	if c == "" {
		return nil, nil
	}
	ring, err := d.Keys.Ring(ctx)
	if err != nil {
		return nil, err
	}
	return cursor.Decode(ring, scope, c)
}

// nextCursor seals a page's last key under scope; no last key is the last page (nil).
func nextCursor(ctx context.Context, d *service.Deps, scope []byte, last map[string]string) (*string, error) {
	if last == nil {
		return nil, nil
	}
	ring, err := d.Keys.Ring(ctx)
	if err != nil {
		return nil, err
	}
	c, err := cursor.Encode(ring, scope, last)
	if err != nil {
		return nil, fmt.Errorf("seal cursor: %w", err)
	}
	return &c, nil
}

// load reads the token named by the path and checks that the caller may do a to it; a token
// the caller may not know about is not found.
func load(ctx context.Context, d *service.Deps, req httpapi.Request, a access.Action) (access.Principal, tokenstore.Token, error) {
	p, id, err := sessionAndID(d, req)
	if err != nil {
		return p, tokenstore.Token{}, err
	}
	t, err := d.Store.Get(ctx, p.EnvironmentID, id)
	if err != nil {
		return p, tokenstore.Token{}, err
	}
	if err := p.Check(a, access.Owner{UserID: t.UserID, EnvironmentID: t.EnvironmentID}); err != nil {
		return p, tokenstore.Token{}, err
	}
	return p, t, nil
}

// session is the signed-in user of a management route, as the access rules know them.
func session(d *service.Deps, req httpapi.Request) (access.Principal, error) {
	u, err := httpapi.Session(req, d.Config.Claims)
	return access.Principal(u), err
}

// sessionAndID reads the caller's session and the {id} path parameter.
func sessionAndID(d *service.Deps, req httpapi.Request) (access.Principal, string, error) {
	p, err := session(d, req)
	if err != nil {
		return p, "", err
	}
	id, err := tokenID(req)
	return p, id, err
}

// GetToken is GET /v1/tokens/{id}.
func GetToken(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("get", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, t, err := load(ctx, d, req, access.Read)
		if err != nil {
			return httpapi.Response{}, err
		}
		pol, err := d.Store.Policy(ctx, p.EnvironmentID)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, assessedViewOf(t, pol, d.Now())), nil
	})
}

type revealView struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// RevealToken is POST /v1/tokens/{id}/reveal: the key again, to its owner only, recorded in the
// token's history.
func RevealToken(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("reveal", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, t, err := load(ctx, d, req, access.Reveal)
		if err != nil {
			return httpapi.Response{}, err
		}
		key, err := openKey(ctx, d.Keys, t)
		if err != nil {
			return httpapi.Response{}, fmt.Errorf("reveal: %w", err)
		}
		if err := d.Store.RecordAudit(ctx, t, tokenstore.ActionReveal, actor(req, p.UserID)); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, revealView{ID: t.ID, Key: key}, noStore...), nil
	})
}

// DeactivateToken is POST /v1/tokens/{id}/deactivate: suspend; idempotent.
func DeactivateToken(d *service.Deps) httpapi.Handler {
	return setStatus(d, "deactivate", access.Deactivate, tokenstore.StatusInactive)
}

// ActivateToken is POST /v1/tokens/{id}/activate: resume; idempotent; an expired token stays
// expired.
func ActivateToken(d *service.Deps) httpapi.Handler {
	return setStatus(d, "activate", access.Activate, tokenstore.StatusActive)
}

func setStatus(d *service.Deps, name string, a access.Action, to tokenstore.Status) httpapi.Handler {
	return httpapi.Handle(name, d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, t, err := load(ctx, d, req, a)
		if err != nil {
			return httpapi.Response{}, err
		}
		before := t.Status
		if t, err = d.Store.SetStatus(ctx, t, to, actor(req, p.UserID)); err != nil {
			return httpapi.Response{}, err
		}
		if to == tokenstore.StatusInactive && before != to {
			_ = keyEvent(ctx, d, eventqueue.KeyDeactivated, "", t)
		}
		return httpapi.JSON(http.StatusOK, viewOf(t, d.Now())), nil
	})
}

// DeleteToken is DELETE /v1/tokens/{id}: revoke for good.
func DeleteToken(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("delete", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, t, err := load(ctx, d, req, access.Delete)
		if err != nil {
			return httpapi.Response{}, err
		}
		if err := d.Store.Delete(ctx, t, actor(req, p.UserID)); err != nil {
			return httpapi.Response{}, err
		}
		_ = keyEvent(ctx, d, eventqueue.KeyDeleted, "", t)
		return httpapi.NoContent(), nil
	})
}

type auditView struct {
	ID        string            `json:"id"`
	TokenID   string            `json:"tokenId"`
	Action    string            `json:"action"`
	ActorID   string            `json:"actorId"`
	At        string            `json:"at"`
	SourceIP  string            `json:"sourceIp"`
	UserAgent string            `json:"userAgent"`
	Detail    map[string]string `json:"detail,omitempty"`
}

type auditListView struct {
	Items      []auditView `json:"items"`
	NextCursor *string     `json:"nextCursor"`
}

// TokenAudit is GET /v1/tokens/{id}/audit: the token's history, newest first, for its owner and
// the environment's admins.
func TokenAudit(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("audit", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, id, err := sessionAndID(d, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		limit, err := pageSize(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		deleted, err := checkLiveAudit(ctx, d, p, id)
		if err != nil {
			return httpapi.Response{}, err
		}
		scope := cursor.Scope("audit", p.EnvironmentID, p.UserID, id)
		start, err := startKey(ctx, d, scope, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		page, err := d.Store.ListAudit(ctx, p.EnvironmentID, id, limit, start)
		if err != nil {
			return httpapi.Response{}, err
		}
		if deleted {
			if err := checkDeletedAudit(p, page.Records); err != nil {
				return httpapi.Response{}, err
			}
		}
		out := auditListView{Items: make([]auditView, 0, len(page.Records))}
		for _, r := range page.Records {
			out.Items = append(out.Items, auditViewOf(r))
		}
		if out.NextCursor, err = nextCursor(ctx, d, scope, page.LastKey); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, out), nil
	})
}

// checkLiveAudit checks that p may read the history of token id while it lives: a live token says
// whose it is. A deleted one's history outlives it (AuditRetention), and its records say whose it
// was: then deleted is true and checkDeletedAudit decides on the records.
func checkLiveAudit(ctx context.Context, d *service.Deps, p access.Principal, id string) (deleted bool, err error) {
	t, err := d.Store.Get(ctx, p.EnvironmentID, id)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, p.Check(access.Audit, access.Owner{UserID: t.UserID, EnvironmentID: t.EnvironmentID})
}

// checkDeletedAudit checks that p may read a deleted token's history from its records; a token
// that never was has none.
func checkDeletedAudit(p access.Principal, records []tokenstore.AuditRecord) error {
	if len(records) == 0 {
		return tokenstore.ErrNotFound
	}
	return p.Check(access.Audit, access.Owner{UserID: records[0].OwnerID, EnvironmentID: p.EnvironmentID})
}

// auditViewOf is an audit record as the API shows it.
func auditViewOf(r tokenstore.AuditRecord) auditView {
	return auditView{
		ID: r.ID, TokenID: r.TokenID, Action: string(r.Action), ActorID: r.ActorID, At: apiTime(r.At),
		SourceIP: r.SourceIP, UserAgent: r.UserAgent, Detail: r.Detail,
	}
}

// lastExpiry is the latest expiry a token can have: the last second of the year 9999 in UTC, the
// last that the table's four-digit years hold. An offset can put a date written in 9999 past it.
var lastExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// parseRFC3339 reads an RFC 3339 date-time as the document writes it: upper-case T and Z, a
// period before any fraction, hours below 24 and minutes below 60 in the time and the offset.
// time.Parse alone is looser: it also takes a one-digit hour, a comma before the fraction and
// an offset such as +24:00 or +05:60.
func parseRFC3339(s string) (time.Time, bool) {
	const shape = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(shape) {
		return time.Time{}, false
	}
	for i := range len(shape) {
		if c := s[i]; shape[i] == 'd' && (c < '0' || c > '9') || shape[i] != 'd' && c != shape[i] {
			return time.Time{}, false
		}
	}
	rest := s[len(shape):]
	if len(rest) > 1 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return time.Time{}, false
		}
		rest = rest[n:]
	}
	switch {
	case rest == "Z":
	case len(rest) == len("+07:00") && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		if !twoDigits(rest[1:3], 23) || !twoDigits(rest[4:6], 59) {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	if !twoDigits(s[11:13], 23) || !twoDigits(s[14:16], 59) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// twoDigits reports whether s is two decimal digits of at most limit.
func twoDigits(s string, limit int) bool {
	return len(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
		int(s[0]-'0')*10+int(s[1]-'0') <= limit
}

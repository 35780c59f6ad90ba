package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/apitokens/apitokens/shared/access"
	"github.com/apitokens/apitokens/shared/cidr"
	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/permission"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// isNull reports whether a field was sent as JSON null.
func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// stringList reads a field that must be a list of strings.
func stringList(raw json.RawMessage) ([]string, bool) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, false
	}
	return list, true
}

// parsePermissions reads a request's permissions: absent or null is full access (nil).
func parsePermissions(raw json.RawMessage) ([]string, error) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	list, ok := stringList(raw)
	if !ok {
		return nil, permission.ErrInvalid
	}
	return permission.Parse(list)
}

// parseCIDRs reads a request's allowedCidrs: absent or null is anywhere (nil).
func parseCIDRs(raw json.RawMessage) ([]string, error) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	list, ok := stringList(raw)
	if !ok {
		return nil, cidr.ErrInvalid
	}
	return cidr.Parse(list)
}

// parseLimits reads an edit's rateLimit and quota; an absent one is nil, as is null.
func parseLimits(rawRate, rawQuota json.RawMessage) (*policy.RateLimit, *policy.Quota, error) {
	var rate *policy.RateLimit
	var quota *policy.Quota
	var err error
	if rawRate != nil {
		if rate, err = policy.ParseRateLimit(rawRate); err != nil {
			return nil, nil, err
		}
	}
	if rawQuota != nil {
		if quota, err = policy.ParseQuota(rawQuota); err != nil {
			return nil, nil, err
		}
	}
	return rate, quota, nil
}

// rule is one part of the policy a change is held to.
type rule int

const (
	ruleLifetime rule = iota
	rulePermissions
	ruleAddresses
	ruleRateLimit
)

// enforce holds t, as a change would leave it at now, to the rules of pol: a lifetime, an
// allowlist or a rate limit it breaks is 400 policy_violation, permissions an agent may not hold 403
// permission_not_allowed, each naming the rule.
func enforce(pol policy.Policy, t tokenstore.Token, now time.Time, rules ...rule) error {
	for _, r := range rules {
		switch r {
		case ruleLifetime:
			if why := pol.Lifetime(t.CreatedAt, t.ExpiresAt); why != "" {
				return policy.Violation(why)
			}
		case rulePermissions:
			if why := pol.Permissions(t.Agent(), t.Permissions); why != "" {
				return policy.NotAllowed(why)
			}
		case ruleAddresses:
			if why := pol.Addresses(t.AllowedCIDRs); why != "" {
				return policy.Violation(why)
			}
		case ruleRateLimit:
			if why := pol.RateLimits(t.RateLimit); why != "" {
				return policy.Violation(why)
			}
		}
	}
	return nil
}

type editRequest struct {
	// Name is raw so that an explicit null is told from an absent name: null is no string.
	Name         json.RawMessage `json:"name"`
	Permissions  json.RawMessage `json:"permissions"`
	AllowedCIDRs json.RawMessage `json:"allowedCidrs"`
	RateLimit    json.RawMessage `json:"rateLimit"`
	Quota        json.RawMessage `json:"quota"`
}

var errNameType = httpapi.Errorf(http.StatusBadRequest, "invalid_field_type", `Field "name" must be a string.`)

var errEmptyEdit = httpapi.Errorf(http.StatusBadRequest, "invalid_json", "Send at least one of name, permissions, allowedCidrs, rateLimit and quota.")

// RenameToken is PATCH /v1/tokens/{id}: edit any of the name, the permissions, the allowed
// addresses, the rate limit and the quota (null clears each of the last four) in one
// conditional write. Permissions, addresses and the rate limit are held to the environment's
// policy; the name or the quota alone needs no read of it.
func RenameToken(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("rename", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		var in editRequest
		if err := httpapi.DecodeJSON(req, httpapi.MaxBody, &in); err != nil {
			return httpapi.Response{}, err
		}
		if in.Name == nil && in.Permissions == nil && in.AllowedCIDRs == nil && in.RateLimit == nil && in.Quota == nil {
			return httpapi.Response{}, errEmptyEdit
		}
		var name string
		var err error
		if in.Name != nil {
			var s string
			if isNull(in.Name) || json.Unmarshal(in.Name, &s) != nil {
				return httpapi.Response{}, errNameType
			}
			if name, err = cleanName(&s); err != nil {
				return httpapi.Response{}, err
			}
		}
		perms, err := parsePermissions(in.Permissions)
		if err != nil {
			return httpapi.Response{}, err
		}
		cidrs, err := parseCIDRs(in.AllowedCIDRs)
		if err != nil {
			return httpapi.Response{}, err
		}
		rate, quota, err := parseLimits(in.RateLimit, in.Quota)
		if err != nil {
			return httpapi.Response{}, err
		}
		p, t, err := load(ctx, d, req, access.Rename)
		if err != nil {
			return httpapi.Response{}, err
		}
		next, rules := t, []rule{}
		if in.Name != nil {
			next.Name = name
		}
		if in.Permissions != nil {
			next.Permissions, rules = perms, append(rules, rulePermissions)
		}
		if in.AllowedCIDRs != nil {
			next.AllowedCIDRs, rules = cidrs, append(rules, ruleAddresses)
		}
		if in.RateLimit != nil {
			next.RateLimit, rules = rate, append(rules, ruleRateLimit)
		}
		if in.Quota != nil {
			next.Quota = quota
		}
		now := d.Now()
		if len(rules) == 0 {
			if t, err = d.Store.Edit(ctx, t, next, actor(req, p.UserID)); err != nil {
				return httpapi.Response{}, err
			}
			return httpapi.JSON(http.StatusOK, viewOf(t, now)), nil
		}
		pol, err := d.Store.Policy(ctx, p.EnvironmentID)
		if err != nil {
			return httpapi.Response{}, err
		}
		if err := enforce(pol, next, now, rules...); err != nil {
			return httpapi.Response{}, err
		}
		if t, err = d.Store.Edit(ctx, t, next, actor(req, p.UserID)); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, assessedViewOf(t, pol, now)), nil
	})
}

type transferRequest struct {
	UserID *string `json:"userId"`
}

// TransferToken is POST /v1/tokens/{id}/transfer {"userId":…}: an administrator hands a token to
// another user of the environment. The key does not change; it is sealed again for the new
// owner, who alone may view it from then on.
func TransferToken(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("transfer", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		var in transferRequest
		if err := httpapi.DecodeJSON(req, httpapi.MaxBody, &in); err != nil {
			return httpapi.Response{}, err
		}
		if in.UserID == nil || !httpapi.ValidID(*in.UserID) {
			return httpapi.Response{}, errInvalidUserID
		}
		p, t, err := load(ctx, d, req, access.Transfer)
		if err != nil {
			return httpapi.Response{}, err
		}
		if *in.UserID == t.UserID {
			return httpapi.JSON(http.StatusOK, viewOf(t, d.Now())), nil
		}
		key, err := openKey(ctx, d.Keys, t)
		if err != nil {
			return httpapi.Response{}, err
		}
		next := t
		next.UserID = *in.UserID
		v, err := d.Keys.Version(ctx, t.KeyVersion)
		if err != nil {
			return httpapi.Response{}, err
		}
		sealed, err := v.Seal([]byte(key), keyAAD(next))
		if err != nil {
			return httpapi.Response{}, err
		}
		if t, err = d.Store.Transfer(ctx, t, next.UserID, sealed, d.Config.TokenLimit, actor(req, p.UserID)); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, viewOf(t, d.Now())), nil
	})
}

type deactivatedView struct {
	Deactivated int `json:"deactivated"`
}

// DeactivateUserTokens is POST /v1/users/{userId}/tokens/deactivate: an administrator suspends
// every active token of one user of the environment, each recorded in its history and reported
// as key.deactivated, as a single deactivate reports it.
func DeactivateUserTokens(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("deactivateuser", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, err := session(d, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		user := req.PathParameters["userId"]
		if !httpapi.ValidID(user) {
			return httpapi.Response{}, errInvalidUserID
		}
		if err := p.CheckAdmin(); err != nil {
			return httpapi.Response{}, err
		}
		done, err := d.Store.DeactivateUser(ctx, p.EnvironmentID, user, "all tokens of the user deactivated by an administrator", actor(req, p.UserID))
		keyEvents(ctx, d, eventqueue.KeyDeactivated, done) // those suspended before an error too
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, deactivatedView{Deactivated: len(done)}), nil
	})
}

// policyView is the policy as GET and PUT /v1/policy answer it: its fields and, read-only, the
// catalogue of permissions a token may hold, which the dashboard offers per resource.
type policyView struct {
	policy.Policy
	Catalogue []permission.Entry `json:"catalogue"`
}

func viewOfPolicy(pol policy.Policy) policyView {
	return policyView{Policy: pol, Catalogue: permission.Catalogue()}
}

// GetPolicy is GET /v1/policy: the environment's token policy and the permission catalogue,
// for anyone of it.
func GetPolicy(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("getpolicy", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, err := session(d, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		pol, err := d.Store.Policy(ctx, p.EnvironmentID)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, viewOfPolicy(pol)), nil
	})
}

// policyRequest is the body of PUT /v1/policy. Its numbers are read as any JSON number and must be
// whole (30.0 is the integer 30 to JSON Schema, as openapi.yaml reads it); its booleans may be
// left out but not null.
type policyRequest struct {
	MaxLifetimeDays     *float64         `json:"maxLifetimeDays"`
	AgentFullAccess     json.RawMessage  `json:"agentFullAccess"`
	AgentPermissions    json.RawMessage  `json:"agentPermissions"`
	RequireAllowedCIDRs json.RawMessage  `json:"requireAllowedCidrs"`
	DefaultRateLimit    *rateLimitNumber `json:"defaultRateLimit"`
	MaxRateLimit        *rateLimitNumber `json:"maxRateLimit"`
}

// rateLimitNumber is a policy.RateLimit as a request writes it.
type rateLimitNumber struct {
	Requests      float64 `json:"requests"`
	WindowSeconds float64 `json:"windowSeconds"`
}

// whole is n as an int when it is a whole number an int holds; ok is false otherwise.
func whole(n float64) (int, bool) {
	if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
		return 0, false
	}
	return int(n), true
}

// rateLimitOf is r as a policy rate limit; a fraction is no valid limit.
func rateLimitOf(r *rateLimitNumber) (*policy.RateLimit, error) {
	if r == nil {
		return nil, nil
	}
	req, ok1 := whole(r.Requests)
	win, ok2 := whole(r.WindowSeconds)
	if !ok1 || !ok2 {
		return nil, errRateLimitNumber
	}
	return &policy.RateLimit{Requests: req, WindowSeconds: win}, nil
}

var errLifetimeNumber = httpapi.Errorf(http.StatusBadRequest, "invalid_policy", "maxLifetimeDays must be a whole number of days.")

var errRateLimitNumber = httpapi.Errorf(http.StatusBadRequest, "invalid_rate_limit", "A rate limit's requests and windowSeconds must be whole numbers.")

// optionalBool reads a boolean field that may be left out (def) but not null.
func optionalBool(raw json.RawMessage, field string, def bool) (bool, error) {
	if raw == nil {
		return def, nil
	}
	var b bool
	if isNull(raw) || json.Unmarshal(raw, &b) != nil {
		return false, httpapi.Errorf(http.StatusBadRequest, "invalid_field_type", fmt.Sprintf("Field %q must be a boolean.", field))
	}
	return b, nil
}

// PutPolicy is PUT /v1/policy: an administrator sets the environment's token policy whole; a
// field left out takes its default (policy.Default). Tokens it leaves outside keep existing,
// show "policy":{"compliant":false,…} and are refused by the key authorizer within 60 s.
func PutPolicy(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("putpolicy", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		p, err := session(d, req)
		if err != nil {
			return httpapi.Response{}, err
		}
		if err := p.CheckAdmin(); err != nil {
			return httpapi.Response{}, err
		}
		var in policyRequest
		if err := httpapi.DecodeJSON(req, httpapi.MaxBody, &in); err != nil {
			return httpapi.Response{}, err
		}
		pol := policy.Default()
		if in.MaxLifetimeDays != nil {
			days, ok := whole(*in.MaxLifetimeDays)
			if !ok {
				return httpapi.Response{}, errLifetimeNumber
			}
			pol.MaxLifetimeDays = &days
		}
		if pol.DefaultRateLimit, err = rateLimitOf(in.DefaultRateLimit); err != nil {
			return httpapi.Response{}, err
		}
		if pol.MaxRateLimit, err = rateLimitOf(in.MaxRateLimit); err != nil {
			return httpapi.Response{}, err
		}
		if pol.AgentFullAccess, err = optionalBool(in.AgentFullAccess, "agentFullAccess", pol.AgentFullAccess); err != nil {
			return httpapi.Response{}, err
		}
		if pol.RequireAllowedCIDRs, err = optionalBool(in.RequireAllowedCIDRs, "requireAllowedCidrs", pol.RequireAllowedCIDRs); err != nil {
			return httpapi.Response{}, err
		}
		if in.AgentPermissions != nil && !isNull(in.AgentPermissions) {
			list, ok := stringList(in.AgentPermissions)
			if !ok {
				return httpapi.Response{}, permission.ErrInvalid
			}
			pol.AgentPermissions = list
		}
		if pol, err = policy.Check(pol); err != nil {
			return httpapi.Response{}, err
		}
		if err := d.Store.PutPolicy(ctx, p.EnvironmentID, pol, actor(req, p.UserID)); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, viewOfPolicy(pol)), nil
	})
}

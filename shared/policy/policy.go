package policy

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apitokens/apitokens/shared/fault"
	"github.com/apitokens/apitokens/shared/permission"
)

// MaxLifetimeDaysLimit is the largest maximum lifetime a policy may set (100 years).
const MaxLifetimeDaysLimit = 36500

// Refusals, each with its HTTP answer. A refusal of a token names its rule in the detail, so
// these are templates: Violation and NotAllowed fill in the rule.
var (
	// ErrInvalidLifetime refuses a maxLifetimeDays that is not null or 1 to 36500.
	ErrInvalidLifetime = fault.Domain("invalid max lifetime", http.StatusBadRequest, "invalid_policy",
		"maxLifetimeDays must be null or a whole number of days from 1 to 36500.")
	// ErrInvalidRateLimit refuses a rate limit that is not null or {requests ≥ 1, windowSeconds 1–3600}.
	ErrInvalidRateLimit = fault.Domain("invalid rate limit", http.StatusBadRequest, "invalid_rate_limit",
		`A rate limit must be null or {"requests":n,"windowSeconds":s} with requests from 1 to 1000000000 and windowSeconds from 1 to 3600, and defaultRateLimit no more than maxRateLimit.`)
)

// Violation is the 400 policy_violation of a token the policy does not allow; rule says which
// rule and why, safe to show.
func Violation(rule string) error {
	return fault.New(http.StatusBadRequest, "policy_violation", rule)
}

// NotAllowed is the 403 permission_not_allowed of a token holding more than the caller's role or
// the policy allows; why is safe to show.
func NotAllowed(why string) error {
	return fault.New(http.StatusForbidden, "permission_not_allowed", why)
}

// RateLimit is a number of requests per window.
type RateLimit struct {
	Requests      int `json:"requests"`
	WindowSeconds int `json:"windowSeconds"`
}

// valid reports whether l is a rate limit a policy may hold.
func (l *RateLimit) valid() bool {
	return l == nil || (l.Requests >= 1 && l.Requests <= 1_000_000_000 && l.WindowSeconds >= 1 && l.WindowSeconds <= 3600)
}

// exceeds reports whether l allows more requests per second than m; nil is no limit.
func (l *RateLimit) exceeds(m *RateLimit) bool {
	switch {
	case m == nil:
		return false
	case l == nil:
		return true
	}
	return int64(l.Requests)*int64(m.WindowSeconds) > int64(m.Requests)*int64(l.WindowSeconds)
}

// Policy is an environment's token policy, as GET and PUT /v1/policy show it.
type Policy struct {
	// MaxLifetimeDays bounds a token's life from its creation; nil is no bound. With a bound,
	// every token needs an expiry.
	MaxLifetimeDays *int `json:"maxLifetimeDays"`
	// AgentFullAccess lets agents hold tokens without a permission list.
	AgentFullAccess bool `json:"agentFullAccess"`
	// AgentPermissions are the permissions agents may grant (write implies read).
	AgentPermissions []string `json:"agentPermissions"`
	// RequireAllowedCIDRs makes an address allowlist required on every token.
	RequireAllowedCIDRs bool `json:"requireAllowedCidrs"`
	// DefaultRateLimit is the rate limit a token made without one gets; MaxRateLimit the most a
	// token may be allowed (RateLimitFor, RateLimits).
	DefaultRateLimit *RateLimit `json:"defaultRateLimit"`
	MaxRateLimit     *RateLimit `json:"maxRateLimit"`
}

// Default is the policy of an environment whose administrators set none: nothing beyond what
// each role may do anyway.
func Default() Policy {
	return Policy{AgentFullAccess: true, AgentPermissions: permission.Names()}
}

// Check checks a policy an administrator sets and returns it normalised (agentPermissions
// sorted, without repeats).
func Check(p Policy) (Policy, error) {
	if p.MaxLifetimeDays != nil && (*p.MaxLifetimeDays < 1 || *p.MaxLifetimeDays > MaxLifetimeDaysLimit) {
		return Policy{}, ErrInvalidLifetime
	}
	if p.AgentPermissions == nil {
		return Policy{}, permission.ErrInvalid
	}
	perms, err := permission.Parse(p.AgentPermissions)
	if err != nil {
		return Policy{}, err
	}
	p.AgentPermissions = perms
	if !p.DefaultRateLimit.valid() || !p.MaxRateLimit.valid() ||
		(p.DefaultRateLimit != nil && p.DefaultRateLimit.exceeds(p.MaxRateLimit)) {
		return Policy{}, ErrInvalidRateLimit
	}
	return p, nil
}

// Token is what the policy looks at in a token.
type Token struct {
	// Agent is true when the owner is an agent, not an administrator.
	Agent bool
	// Permissions is nil for full access.
	Permissions []string
	// AllowedCIDRs is nil for anywhere.
	AllowedCIDRs []string
	// CreatedAt is when the token was made; zero when not known (then only the need for an
	// expiry is checked).
	CreatedAt time.Time
	ExpiresAt *time.Time
	// RateLimit is nil for none.
	RateLimit *RateLimit
}

// Lifetime returns the rule a token made at createdAt with expiry expires breaks, "" for none.
func (p Policy) Lifetime(createdAt time.Time, expires *time.Time) string {
	switch {
	case p.MaxLifetimeDays == nil:
		return ""
	case expires == nil:
		return "maxLifetimeDays: tokens of this environment need an expiry (expiresAt)"
	case !createdAt.IsZero() && expires.After(createdAt.Add(time.Duration(*p.MaxLifetimeDays)*24*time.Hour)):
		return "maxLifetimeDays: tokens of this environment may live at most " + strconv.Itoa(*p.MaxLifetimeDays) + " days"
	}
	return ""
}

// Permissions returns why an agent may not hold perms (nil for full access), "" when it may,
// and always "" for an administrator's token.
func (p Policy) Permissions(agent bool, perms []string) string {
	switch {
	case !agent:
		return ""
	case perms == nil && !p.AgentFullAccess:
		return "agentFullAccess: agents may not hold full-access tokens here; list the permissions the token needs"
	case perms != nil && !permission.Within(perms, p.AgentPermissions):
		return "agentPermissions: agents may grant only " + orNone(strings.Join(p.AgentPermissions, ", "))
	}
	return ""
}

// Addresses returns the rule a token with allowlist cidrs (nil for anywhere) breaks, "" for none.
func (p Policy) Addresses(cidrs []string) string {
	if p.RequireAllowedCIDRs && cidrs == nil {
		return "requireAllowedCidrs: tokens of this environment need allowed IP addresses (allowedCidrs)"
	}
	return ""
}

// Compliance is whether a token is inside the policy, and if not, which rule it breaks.
type Compliance struct {
	Compliant bool    `json:"compliant"`
	Reason    *string `json:"reason"`
}

// Assess tells whether t is inside the policy.
func (p Policy) Assess(t Token) Compliance {
	for _, why := range []string{p.Lifetime(t.CreatedAt, t.ExpiresAt), p.Permissions(t.Agent, t.Permissions), p.Addresses(t.AllowedCIDRs), p.RateLimits(t.RateLimit)} {
		if why != "" {
			return Compliance{Reason: &why}
		}
	}
	return Compliance{Compliant: true}
}

func orNone(s string) string {
	if s == "" {
		return "no permissions"
	}
	return s
}

package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ClaimNames says which verified session claims carry the environment and the groups. The
// template sets them from parameters.
type ClaimNames struct {
	Environment string // e.g. custom:environment_id
	Groups      string // e.g. cognito:groups
	AdminGroup  string // e.g. admin
}

// DefaultClaimNames are Cognito's names.
var DefaultClaimNames = ClaimNames{Environment: "custom:environment_id", Groups: "cognito:groups", AdminGroup: "admin"}

var (
	errNoSession     = Errorf(http.StatusUnauthorized, "unauthenticated", "A dashboard session is required.")
	errNoEnvironment = Errorf(http.StatusForbidden, "no_environment", "The session names no valid environment.")
	errNoKey         = Errorf(http.StatusUnauthorized, "unauthenticated", "An API key is required.")
)

// SessionUser is the signed-in dashboard user of a management route. It has the fields of
// SessionUser, so a handler converts it with SessionUser(u) and this package needs no
// domain package.
type SessionUser struct {
	UserID        string
	EnvironmentID string
	Admin         bool
}

// Session returns the signed-in user of a management route from the claims API Gateway's JWT
// authorizer verified. Only those claims count, never a header the caller sent.
func Session(req Request, names ClaimNames) (SessionUser, error) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.JWT == nil {
		return SessionUser{}, errNoSession
	}
	claims := req.RequestContext.Authorizer.JWT.Claims
	sub := claims["sub"]
	if !ValidID(sub) {
		return SessionUser{}, errNoSession
	}
	env := claims[names.Environment]
	if !ValidID(env) {
		return SessionUser{}, errNoEnvironment
	}
	return SessionUser{UserID: sub, EnvironmentID: env, Admin: hasGroup(claims[names.Groups], names.AdminGroup)}, nil
}

// ValidID reports whether s can be a user or environment id: 1 to 128 characters of UTF-8,
// none of them "#", which separates the parts of the table's keys (so no two pairs of
// environment and user can name the same item), nor a control character. Identity providers'
// subjects such as UUIDs, e-mail addresses and "auth0|…" all pass.
func ValidID(s string) bool {
	if s == "" || len(s) > 4*128 || !utf8.ValidString(s) || utf8.RuneCountInString(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '#' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// hasGroup reads a groups claim as API Gateway hands it over: an array becomes a bracketed,
// space-separated string ("[admin agents]"). A JSON array and a single bare value are read too.
func hasGroup(claim, group string) bool {
	claim = strings.TrimSpace(claim)
	if claim == "" || group == "" {
		return false
	}
	var list []string
	if strings.HasPrefix(claim, "[\"") && json.Unmarshal([]byte(claim), &list) == nil {
		for _, g := range list {
			if g == group {
				return true
			}
		}
		return false
	}
	claim = strings.TrimSuffix(strings.TrimPrefix(claim, "["), "]")
	for _, g := range strings.FieldsFunc(claim, func(r rune) bool { return r == ' ' || r == ',' }) {
		if g == group {
			return true
		}
	}
	return false
}

// Caller is who calls an integration route: the token the key authorizer allowed.
type Caller struct {
	TokenID       string `json:"tokenId"`
	TokenName     string `json:"tokenName"`
	Type          string `json:"type"`
	UserID        string `json:"userId"`
	EnvironmentID string `json:"environmentId"`
	Scope         string `json:"scope"`
	// Permissions is null for full access, else the permissions the key holds (write implies
	// read); AllowedCIDRs is null for anywhere, else where calls must come from.
	Permissions  []string `json:"permissions"`
	AllowedCIDRs []string `json:"allowedCidrs"`
}

// Scopes a key reaches.
const (
	ScopeUser        = "user"
	ScopeEnvironment = "environment"
)

// KeyCaller returns the caller of an integration route from the context the key authorizer
// returned. Only that context counts, never a header the caller sent.
func KeyCaller(req Request) (Caller, error) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.Lambda == nil {
		return Caller{}, errNoKey
	}
	ctx := req.RequestContext.Authorizer.Lambda
	str := func(k string) string { s, _ := ctx[k].(string); return s }
	c := Caller{
		TokenID: str("tokenId"), TokenName: str("tokenName"), Type: str("type"),
		UserID: str("userId"), EnvironmentID: str("environmentId"), Scope: str("scope"),
	}
	if c.TokenID == "" || c.UserID == "" || c.EnvironmentID == "" || (c.Scope != ScopeUser && c.Scope != ScopeEnvironment) {
		return Caller{}, errNoKey
	}
	// The authorizer hands lists over as JSON text; a list that does not read is refused, never
	// taken as full access.
	var ok bool
	if c.Permissions, ok = contextList(ctx["permissions"]); !ok {
		return Caller{}, errNoKey
	}
	if c.AllowedCIDRs, ok = contextList(ctx["allowedCidrs"]); !ok {
		return Caller{}, errNoKey
	}
	return c, nil
}

// contextList reads a list the key authorizer put in its context as JSON text: absent (a context
// from before lists were kept) or "null" is nil.
func contextList(v any) ([]string, bool) {
	s, isString := v.(string)
	switch {
	case v == nil || s == "null":
		return nil, true
	case !isString:
		return nil, false
	}
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil || list == nil {
		return nil, false
	}
	return list, true
}

package meter

import (
	"encoding/json"
	"net/http"

	"github.com/apitokens/apitokens/shared/fault"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/policy"
)

// Limits are a key's limits as the key authorizer hands them to a route.
type Limits struct {
	TokenID       string
	EnvironmentID string
	// RateLimit is nil for none; Quota nil for none.
	RateLimit *policy.RateLimit
	Quota     *policy.Quota
}

// Metered reports whether the key has a limit to enforce.
func (l Limits) Metered() bool { return l.RateLimit != nil || l.Quota != nil }

// errContext answers a call whose authorizer context holds limits that do not read: never taken
// as no limit.
var errContext = fault.New(http.StatusInternalServerError, "internal_error", "The key's limits could not be read.")

// LimitsOf reads the limits from the key authorizer's context of req: its "tokenId" and
// "environmentId", and "rateLimit" and "quota" as JSON text ("null", or absent in a context
// from before limits were kept, is none). ok is false when there is no key context (the route
// answers that itself).
func LimitsOf(req httpapi.Request) (l Limits, ok bool, err error) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.Lambda == nil {
		return Limits{}, false, nil
	}
	ctx := req.RequestContext.Authorizer.Lambda
	l.TokenID, _ = ctx["tokenId"].(string)
	l.EnvironmentID, _ = ctx["environmentId"].(string)
	if l.TokenID == "" || l.EnvironmentID == "" {
		return Limits{}, false, nil
	}
	if !contextObject(ctx["rateLimit"], &l.RateLimit) || !contextObject(ctx["quota"], &l.Quota) {
		return Limits{}, false, errContext
	}
	if (l.RateLimit != nil && (l.RateLimit.Requests < 1 || l.RateLimit.WindowSeconds < 1)) ||
		(l.Quota != nil && l.Quota.RequestsPerMonth < 1) {
		return Limits{}, false, errContext
	}
	return l, true, nil
}

// contextObject reads JSON text v into dst: absent or "null" leaves it nil.
func contextObject[T any](v any, dst **T) bool {
	s, isString := v.(string)
	switch {
	case v == nil || s == "null":
		return true
	case !isString:
		return false
	}
	var t T
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return false
	}
	*dst = &t
	return true
}

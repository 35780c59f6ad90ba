package handlers

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/apitokens/apitokens/shared/cursor"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/meter"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
)

// meView is who a key calls as, with its limits.
type meView struct {
	httpapi.Caller
	RateLimit *policy.RateLimit `json:"rateLimit"`
	Quota     *policy.Quota     `json:"quota"`
}

// Me is GET /v1/me: who the key calls as, and its limits. Zapier runs it as the connection test
// and labels the connection with its answer.
func Me(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("me", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		c, err := httpapi.KeyCaller(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		l, _, err := meter.LimitsOf(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.JSON(http.StatusOK, meView{Caller: c, RateLimit: l.RateLimit, Quota: l.Quota}), nil
	})
}

// MaxDelivery is the largest webhook body accepted.
const MaxDelivery = 256 << 10

// MaxDeliveryDepth is how deep a delivery's arrays and objects may nest ({} is 1). A list answer
// wraps each delivery three levels deeper, and a reader such as Go's encoding/json gives up at
// 10,000: without a bound, one delivery could make a page no such client can read.
const MaxDeliveryDepth = 100

var (
	sourcePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

	errInvalidSource = httpapi.Errorf(http.StatusBadRequest, "invalid_source", "The source must be 1 to 64 lowercase letters, digits, '.', '_' or '-', start with a letter or digit, and not be \"events\".")
	errInvalidUserID = httpapi.Errorf(http.StatusBadRequest, "invalid_user_id", "userId is malformed.")
	errUserScope     = httpapi.Errorf(http.StatusForbidden, "user_scope", "A User key acts for its owner only.")
	errUserNotFound  = httpapi.Errorf(http.StatusNotFound, "user_not_found", "No such user in this environment.")
	errNotJSONObject = httpapi.Errorf(http.StatusBadRequest, "invalid_json", "The body must be one JSON object, nested at most 100 levels deep.")
)

// targetUser resolves ?userId= for a key: a User key reaches its owner only; an Admin key any
// user the service knows in its environment. For a list, an Admin key without userId reaches the
// whole environment ("").
func targetUser(ctx context.Context, d *service.Deps, c httpapi.Caller, userID string, wholeEnvironment bool) (string, error) {
	switch {
	case userID == "" && wholeEnvironment && c.Scope == httpapi.ScopeEnvironment:
		return "", nil
	case userID == "" || userID == c.UserID:
		return c.UserID, nil
	case c.Scope != httpapi.ScopeEnvironment:
		return "", errUserScope
	case !httpapi.ValidID(userID):
		return "", errInvalidUserID
	}
	known, err := d.Store.KnowsUser(ctx, c.EnvironmentID, userID)
	if err != nil {
		return "", err
	}
	if !known {
		return "", errUserNotFound
	}
	return userID, nil
}

type receivedView struct {
	ID         string `json:"id"`
	ReceivedAt string `json:"receivedAt"`
}

// ReceiveHook is POST /v1/hooks/{source}: record one delivery (a JSON object up to 256 KiB) for
// the key's owner, or with an Admin key for ?userId= of its environment. A repeat with the same
// Idempotency-Key answers the first delivery and stores nothing.
func ReceiveHook(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("receivehook", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		c, err := httpapi.KeyCaller(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		source := req.PathParameters["source"]
		if !sourcePattern.MatchString(source) || source == "events" {
			return httpapi.Response{}, errInvalidSource
		}
		user, err := targetUser(ctx, d, c, req.QueryStringParameters["userId"], false)
		if err != nil {
			return httpapi.Response{}, err
		}
		idemKey, err := httpapi.IdempotencyKey(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		body, err := httpapi.Body(req, MaxDelivery)
		if err != nil {
			return httpapi.Response{}, err
		}
		if ct := httpapi.Header(req, "content-type"); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
				return httpapi.Response{}, httpapi.Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
			}
		}
		trimmed := httpapi.TrimJSONSpace(body)
		if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) || nestedDeeper(trimmed, MaxDeliveryDepth) {
			return httpapi.Response{}, errNotJSONObject
		}
		got, fresh, err := d.Store.RecordDelivery(ctx, tokenstore.Delivery{
			Source: source, UserID: user, EnvironmentID: c.EnvironmentID, TokenID: c.TokenID, Payload: string(trimmed),
		}, idemKey)
		if err != nil {
			return httpapi.Response{}, err
		}
		headers := []string{}
		if !fresh {
			headers = append(headers, "idempotent-replayed", "true")
		} else {
			deliveryEvent(ctx, d, got)
		}
		return httpapi.JSON(http.StatusAccepted, receivedView{ID: got.ID, ReceivedAt: apiTime(got.ReceivedAt)}, headers...), nil
	})
}

type deliveryView struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	UserID     string          `json:"userId"`
	TokenID    string          `json:"tokenId"`
	ReceivedAt string          `json:"receivedAt"`
	Payload    json.RawMessage `json:"payload"`
}

type deliveryListView struct {
	Items      []deliveryView `json:"items"`
	NextCursor *string        `json:"nextCursor"`
}

// ListHookEvents is GET /v1/hooks/events: the deliveries recorded for the caller, newest first;
// an Admin key sees its whole environment, or one user's with ?userId=.
func ListHookEvents(d *service.Deps) httpapi.Handler {
	return httpapi.Handle("listhooks", d.Log, func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		c, err := httpapi.KeyCaller(req)
		if err != nil {
			return httpapi.Response{}, err
		}
		q := req.QueryStringParameters
		user, err := targetUser(ctx, d, c, q["userId"], true)
		if err != nil {
			return httpapi.Response{}, err
		}
		source := q["source"]
		if source != "" && !sourcePattern.MatchString(source) {
			return httpapi.Response{}, errInvalidSource
		}
		dels, next, err := listPage(ctx, d, req, cursor.Scope("hooks", c.EnvironmentID, c.TokenID, user, source),
			func(limit int, start map[string]string) ([]tokenstore.Delivery, map[string]string, error) {
				page, err := d.Store.ListDeliveries(ctx, tokenstore.DeliveryQuery{
					EnvironmentID: c.EnvironmentID, UserID: user, Source: source, Limit: limit, StartKey: start})
				return page.Deliveries, page.LastKey, err
			})
		if err != nil {
			return httpapi.Response{}, err
		}
		out := deliveryListView{Items: make([]deliveryView, 0, len(dels)), NextCursor: next}
		for _, del := range dels {
			out.Items = append(out.Items, deliveryView{
				ID: del.ID, Source: del.Source, UserID: del.UserID, TokenID: del.TokenID,
				ReceivedAt: apiTime(del.ReceivedAt), Payload: json.RawMessage(del.Payload),
			})
		}
		return httpapi.JSON(http.StatusOK, out), nil
	})
}

// nestedDeeper reports whether the arrays and objects of the valid JSON text b nest deeper than
// limit.
func nestedDeeper(b []byte, limit int) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped, inString = c == '\\', c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > limit {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

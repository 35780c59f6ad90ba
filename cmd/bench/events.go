package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/testkit/emulator"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// benchEnvironment is the environment (brokerage) every call comes from. Each dashboard call
// comes from a user of its own, an administrator, so that none reaches the token limit.
const benchEnvironment = "env-bench"

// awsSide stands up, in the local AWS emulator, the table and the secret of one cold start, so
// that every cold start finds the same state: the emulator copies a whole table on every
// transaction, and a table that grew over the runs would slow the later ones down.
type awsSide struct {
	cfg      aws.Config
	tmpl     *samtemplate.Template
	endpoint string
	// scan signs the reports of the secret scanning route and publishes its key.
	scan *scanner
	seq  atomic.Int64
}

// stage is the AWS side of one cold start and what makes tokens in it: the handlers and the key
// authorizer of the shared packages, run in this process.
type stage struct {
	env  map[string]string
	deps *service.Deps
	scan *scanner
	seq  *atomic.Int64
}

// newStage provisions a table and a secret for one cold start of f.
func (a *awsSide) newStage(ctx context.Context, f *samtemplate.Function) (*stage, error) {
	n := a.seq.Add(1)
	res, err := emulator.ProvisionNew(ctx, a.cfg, a.tmpl, fmt.Sprintf("apitokens-bench-%d", n), fmt.Sprintf("apitokens-keyring-bench-%d", n))
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"AWS_ENDPOINT_URL":      a.endpoint,
		"AWS_REGION":            emulator.Region,
		"AWS_DEFAULT_REGION":    emulator.Region,
		"AWS_ACCESS_KEY_ID":     "emulator",
		"AWS_SECRET_ACCESS_KEY": "emulator",
		"TABLE_NAME":            res.TableName,
		"KEYRING_SECRET_ID":     res.SecretARN,
		// As in the local run, subscriptions may name this machine only; the bench sends nothing.
		"WEBHOOK_TARGETS": "loopback",
	}
	if a.scan != nil {
		env["SECRET_SCANNING_KEYS_URL"] = a.scan.keysURL()
	}
	// The function's own configuration (claim names, key prefix), pointed at this table.
	all := maps.Clone(f.Environment)
	maps.Copy(all, env)
	cfg, err := service.ConfigFromEnv(func(k string) string { return all[k] })
	if err != nil {
		return nil, err
	}
	deps, err := service.New(cfg, a.cfg, service.Logger(io.Discard), time.Now)
	if err != nil {
		return nil, err
	}
	return &stage{env: env, deps: deps, scan: a.scan, seq: &a.seq}, nil
}

func (s *stage) user() string { return fmt.Sprintf("bench-user-%d", s.seq.Add(1)) }

// mint creates a token for user, as the create route would, and returns its id and key.
func (s *stage) mint(ctx context.Context, user string) (id, key string, err error) {
	rt := samtemplate.Route{Method: "POST", Path: "/v1/tokens"}
	resp, err := handlers.CreateToken(s.deps)(ctx, sessionRequest(rt, s.deps.Config.Claims, user, nil, `{"name":"bench"}`))
	if err != nil {
		return "", "", fmt.Errorf("create a token: %w", err)
	}
	var created struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if resp.StatusCode != 201 || json.Unmarshal([]byte(resp.Body), &created) != nil || created.ID == "" {
		return "", "", fmt.Errorf("create a token: answered %d %.300s", resp.StatusCode, resp.Body)
	}
	return created.ID, created.Key, nil
}

// keyContext mints a key and returns it with what the key authorizer answers for it.
func (s *stage) keyContext(ctx context.Context) (string, map[string]any, error) {
	_, key, err := s.mint(ctx, s.user())
	if err != nil {
		return "", nil, err
	}
	d, err := authorizer.New(s.deps.Format, s.deps.Keys, s.deps.Store, 0, s.deps.Now).Check(ctx, "Bearer "+key)
	if err != nil || !d.Allowed {
		return "", nil, fmt.Errorf("the key authorizer did not allow a new key: %s, %v", d.Reason, err)
	}
	return key, d.Context, nil
}

// calls returns, for f, the events of one cold start (the first call and the warm ones) and the
// environment to run it with. Every call is a real one: a route's function gets the event API
// Gateway would send it once its authorizer allowed the call, about a token made for that call
// alone (some calls delete or suspend theirs); the key authorizer gets a real key.
func calls(ctx context.Context, a *awsSide, app *samtemplate.App, f *samtemplate.Function, n int) (map[string]string, [][]byte, error) {
	s, err := a.newStage(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	out, err := s.events(ctx, app, f, n)
	return s.env, out, err
}

// events returns n events for f in stage s, as calls describes them.
func (s *stage) events(ctx context.Context, app *samtemplate.App, f *samtemplate.Function, n int) ([][]byte, error) {
	out := make([][]byte, 0, n)
	for _, la := range app.LambdaAuthorizers {
		if la.Function != f.LogicalID {
			continue
		}
		rt, _ := findRoute(app, func(r samtemplate.Route) bool { return r.Authorizer == la.Name })
		// A key never checked before, as a new integration's first call would bring.
		_, key, err := s.mint(ctx, s.user())
		if err != nil {
			return nil, err
		}
		for range n {
			out = append(out, mustJSON(authorizerRequest(rt, key)))
		}
		return out, nil
	}

	rt, ok := findRoute(app, func(r samtemplate.Route) bool { return r.Function == f.LogicalID })
	if ok {
		return s.routeEvents(ctx, app, rt, n)
	}
	if ev, ok := sourceEvents[f.LogicalID]; ok {
		return slices.Repeat([][]byte{mustJSON(ev())}, n), nil
	}
	return nil, fmt.Errorf("function %s: neither an authorizer, behind a route, nor in sourceEvents", f.LogicalID)
}

// sourceEvents are the events of the functions that only a queue or a rule invokes, as their
// event source would send them on a quiet day: the sender gets an empty batch of the events
// queue, the expiring-keys function its daily schedule (no key expires in the bench's table), and
// the owner-left function CloudTrail's record of a user disabled who holds no token. Each is a
// real call of the built function, so its cold start is measured like any other's.
var sourceEvents = map[string]func() any{
	"SenderFunction": func() any { return events.SQSEvent{Records: []events.SQSMessage{}} },
	"ExpiringFunction": func() any {
		return events.EventBridgeEvent{Version: "0", ID: "bench", DetailType: "Scheduled Event", Source: "aws.events",
			Time: time.Now().UTC(), Region: "us-east-1", Detail: json.RawMessage(`{}`)}
	},
	"OwnerLeftFunction": func() any {
		return events.CloudWatchEvent{Version: "0", ID: "bench", DetailType: "AWS API Call via CloudTrail", Source: "aws.cognito-idp",
			Time: time.Now().UTC(), Region: "us-east-1", Detail: json.RawMessage(`{"eventSource":"cognito-idp.amazonaws.com","eventName":"AdminDisableUser",` +
				`"requestParameters":{"username":"bench-nobody"}}`)}
	},
}

// routeEvents returns n events of calls to rt in stage s, each about a token of its own.
func (s *stage) routeEvents(ctx context.Context, app *samtemplate.App, rt samtemplate.Route, n int) ([][]byte, error) {
	out := make([][]byte, 0, n)
	var keyCtx map[string]any
	var err error
	if app.LambdaAuthorizers[rt.Authorizer] != nil {
		if _, keyCtx, err = s.keyContext(ctx); err != nil {
			return nil, err
		}
	}
	for i := range n {
		params := map[string]string{}
		for _, p := range pathParams(rt.Path) {
			params[p] = "bench"
		}
		body := ""
		switch {
		case strings.HasSuffix(rt.Path, "/roll"):
			// A roll that leaves the previous key a day's grace.
			body = `{"gracePeriodSeconds":86400}`
		case strings.HasSuffix(rt.Path, "/transfer"):
			body = `{"userId":"bench-heir"}`
		case rt.Path == "/v1/policy":
			body = `{}` // the defaults
		case rt.Path == subscriptionsPath:
			body = benchSubscription
		case rt.Method == "POST" || rt.Method == "PATCH" || rt.Method == "PUT":
			body = fmt.Sprintf(`{"name":"bench %d"}`, i)
		}
		switch {
		case rt.Path == leakRoutePath && app.JWTAuthorizers[rt.Authorizer] == nil && keyCtx == nil:
			// GitHub reporting a key that leaked, signed as GitHub signs it.
			ev, err := s.leakReport(ctx, rt)
			if err != nil {
				return nil, err
			}
			out = append(out, mustJSON(ev))
		case app.JWTAuthorizers[rt.Authorizer] != nil:
			user := s.user()
			if _, ok := params["id"]; ok {
				if params["id"], _, err = s.mint(ctx, user); err != nil {
					return nil, err
				}
				if err := s.prepare(ctx, rt, user, params); err != nil {
					return nil, err
				}
			}
			out = append(out, mustJSON(sessionRequest(rt, s.deps.Config.Claims, user, params, body)))
		case keyCtx != nil:
			if _, ok := params["id"]; ok && strings.HasPrefix(rt.Path, subscriptionsPath+"/") {
				if params["id"], err = s.subscribe(ctx, keyCtx); err != nil {
					return nil, err
				}
			}
			out = append(out, mustJSON(keyRequest(rt, keyCtx, params, body)))
		default:
			out = append(out, mustJSON(request(rt, params, body)))
		}
	}
	return out, nil
}

// busyDay gives a token calls in each of the last 24 hours, as the metered routes add them, so
// that its usage answer reads a full day of items.
func (s *stage) busyDay(ctx context.Context, tokenID string) error {
	now := s.deps.Now()
	for h := range 24 {
		c := tokenstore.UsageCounts{Allowed: 100, RateLimited: int64(h % 3), Refused: 1}
		if err := s.deps.Store.AddUsage(ctx, benchEnvironment, tokenID, now.Add(-time.Duration(h)*time.Hour), c); err != nil {
			return fmt.Errorf("usage of the token: %w", err)
		}
	}
	return nil
}

// prepare puts the token of one call in the state its route acts on, so that the call does its
// work: activating needs a suspended token, revoking a previous key a key in its grace.
func (s *stage) prepare(ctx context.Context, rt samtemplate.Route, user string, params map[string]string) error {
	var h func(context.Context, httpapi.Request) (httpapi.Response, error)
	body := ""
	switch {
	case strings.HasSuffix(rt.Path, "/activate"):
		h = handlers.DeactivateToken(s.deps)
	case strings.HasSuffix(rt.Path, "/previous-key/revoke"):
		h, body = handlers.RollToken(s.deps), `{"gracePeriodSeconds":86400}`
	case strings.HasSuffix(rt.Path, "/usage"):
		return s.busyDay(ctx, params["id"])
	default:
		return nil
	}
	resp, err := h(ctx, sessionRequest(rt, s.deps.Config.Claims, user, params, body))
	if err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("prepare the token of %s: answered %d %.200s (%v)", rt.Key(), resp.StatusCode, resp.Body, err)
	}
	return nil
}

// leakReport is a secret scanning report of a key minted for it alone, signed by s.scan.
func (s *stage) leakReport(ctx context.Context, rt samtemplate.Route) (events.APIGatewayV2HTTPRequest, error) {
	if s.scan == nil {
		return events.APIGatewayV2HTTPRequest{}, errors.New("no secret scanning key to sign a report with")
	}
	_, key, err := s.mint(ctx, s.user())
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	body, headers, err := s.scan.report(key)
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	ev := request(rt, nil, body)
	maps.Copy(ev.Headers, headers)
	return ev, nil
}

func findRoute(app *samtemplate.App, match func(samtemplate.Route) bool) (samtemplate.Route, bool) {
	for _, r := range app.Routes {
		if match(r) {
			return r, true
		}
	}
	return samtemplate.Route{Method: "GET", Path: "/"}, false
}

// pathParams returns the names of a route path's parameters: id for /v1/tokens/{id}.
func pathParams(path string) []string {
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(seg[1:len(seg)-1], "+"))
		}
	}
	return out
}

// request returns the payload format 2.0 event of a call to rt, without its authorizer's part.
func request(rt samtemplate.Route, params map[string]string, body string) events.APIGatewayV2HTTPRequest {
	path := rt.Path
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
		path = strings.ReplaceAll(path, "{"+k+"+}", v)
	}
	method := rt.Method
	if method == "ANY" {
		method = "GET"
	}
	now := time.Now()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: rt.Key(), RawPath: path, Body: body,
		Headers:        map[string]string{"host": "localhost", "user-agent": "bench"},
		PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: rt.Key(), Stage: "$default", RequestID: requestID(), APIID: "benchapi",
			Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "bench",
			},
		},
	}
	if body != "" {
		ev.Headers["content-type"] = "application/json"
	}
	return ev
}

// sessionRequest is a call of a dashboard user, an administrator of benchEnvironment, with the
// claims API Gateway's JWT authorizer verified.
func sessionRequest(rt samtemplate.Route, claims httpapi.ClaimNames, user string, params map[string]string, body string) events.APIGatewayV2HTTPRequest {
	ev := request(rt, params, body)
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{
			"sub":              user,
			claims.Environment: benchEnvironment,
			claims.Groups:      "[" + claims.AdminGroup + "]",
		}},
	}
	return ev
}

// keyRequest is a call of an integration that the key authorizer allowed with context keyCtx.
func keyRequest(rt samtemplate.Route, keyCtx map[string]any, params map[string]string, body string) events.APIGatewayV2HTTPRequest {
	ev := request(rt, params, body)
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: keyCtx}
	return ev
}

// authorizerRequest is the key authorizer's REQUEST event for a call of rt with key.
func authorizerRequest(rt samtemplate.Route, key string) events.APIGatewayV2CustomAuthorizerV2Request {
	ev := request(rt, nil, "")
	ev.Headers["authorization"] = "Bearer " + key
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", IdentitySource: []string{"Bearer " + key},
		RouteArn: "arn:aws:execute-api:" + emulator.Region + ":" + samtemplate.AccountID + ":benchapi/$default/" + ev.RequestContext.HTTP.Method + ev.RawPath,
		RouteKey: ev.RouteKey, RawPath: ev.RawPath, Headers: ev.Headers, RequestContext: ev.RequestContext,
	}
}

// httpAnswer sums up a route's result by its status code.
func httpAnswer(result []byte) string {
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	if json.Unmarshal(result, &resp) != nil || resp.StatusCode == 0 {
		return "a result"
	}
	return strconv.Itoa(resp.StatusCode)
}

// authorizerAnswer sums up the key authorizer's result.
func authorizerAnswer(result []byte) string {
	var resp events.APIGatewayV2CustomAuthorizerSimpleResponse
	switch {
	case json.Unmarshal(result, &resp) != nil:
		return "not a simple response"
	case resp.IsAuthorized:
		return "allowed"
	}
	return "refused"
}

func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only aws-lambda-go's event structs are marshalled here
	}
	return b
}

// subscriptionsPath is where a key subscribes; a route below it acts on one subscription.
const subscriptionsPath = "/v1/subscriptions"

// benchSubscription subscribes a loopback address that nothing is ever sent to here.
const benchSubscription = `{"targetUrl":"http://127.0.0.1:9/bench","event":"key.leaked"}`

// subscribe makes a subscription of the key whose authorizer context is keyCtx, for a route
// that acts on one, and returns its id.
func (s *stage) subscribe(ctx context.Context, keyCtx map[string]any) (string, error) {
	rt := samtemplate.Route{Method: "POST", Path: subscriptionsPath}
	resp, err := handlers.CreateSubscription(s.deps)(ctx, keyRequest(rt, keyCtx, nil, benchSubscription))
	if err != nil || resp.StatusCode != 201 {
		return "", fmt.Errorf("subscribe for %s: answered %d %.200s (%v)", rt.Key(), resp.StatusCode, resp.Body, err)
	}
	var sub struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &sub); err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	return sub.ID, nil
}

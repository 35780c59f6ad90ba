package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// The two limits a request's size meets on AWS, in bytes: the HTTP API's payload quota
// ("Payload size: 10 MB", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
// and Lambda's on a synchronous invocation's request (6 MB; its Invoke refuses a request of
// 6,291,456 bytes or more with RequestEntityTooLargeException), which the event meets: the body,
// base64-encoded when it is not text, and the rest of the request. API Gateway answers both
// with 413 and does not call the function.
const (
	MaxBody    = 10 << 20
	MaxPayload = 6 << 20
)

// Invoker runs a function of the template by logical id and returns its result.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Config is what a Gateway serves.
type Config struct {
	App *samtemplate.App
	// JWT verifies tokens for each JWT authorizer of App, by name.
	JWT map[string]*JWTVerifier
	// Functions runs the routes' and the Lambda authorizers' functions.
	Functions Invoker
	// APIID appears in events and route ARNs.
	APIID string
	// Log receives one line per request; nil discards them.
	Log *log.Logger
}

// Gateway is an http.Handler that serves an HttpApi as API Gateway would.
type Gateway struct {
	routes    []route
	jwt       map[string]jwtAuthorizer
	lambda    map[string]*lambdaAuthorizer
	functions Invoker
	apiID     string
	log       *log.Logger
	now       func() time.Time
}

type jwtAuthorizer struct {
	header   string
	verifier *JWTVerifier
}

type lambdaAuthorizer struct {
	*samtemplate.LambdaAuthorizer
	mu    sync.Mutex
	cache map[string]cachedResult
}

type cachedResult struct {
	resp    events.APIGatewayV2CustomAuthorizerSimpleResponse
	expires time.Time
}

// New returns a Gateway for cfg. Every route's authorizer must be one of the App's, and every
// JWT authorizer needs a verifier.
func New(cfg Config) (*Gateway, error) {
	g := &Gateway{
		jwt:       map[string]jwtAuthorizer{},
		lambda:    map[string]*lambdaAuthorizer{},
		functions: cfg.Functions,
		apiID:     cfg.APIID,
		log:       cfg.Log,
		now:       time.Now,
	}
	if g.log == nil {
		g.log = log.New(io.Discard, "", 0)
	}
	for name, a := range cfg.App.JWTAuthorizers {
		header, ok := strings.CutPrefix(a.IdentitySource, "$request.header.")
		if !ok {
			return nil, fmt.Errorf("authorizer %s: identity source %s: the local run reads headers only", name, a.IdentitySource)
		}
		v := cfg.JWT[name]
		if v == nil {
			return nil, fmt.Errorf("authorizer %s: no verifier", name)
		}
		g.jwt[name] = jwtAuthorizer{header: header, verifier: v}
	}
	for name, a := range cfg.App.LambdaAuthorizers {
		for _, c := range a.IdentityContext {
			if _, ok := contextVariables[c]; !ok {
				return nil, fmt.Errorf("authorizer %s: identity source $context.%s: the local run knows only %v", name, c, slices.Sorted(maps.Keys(contextVariables)))
			}
		}
		g.lambda[name] = &lambdaAuthorizer{LambdaAuthorizer: a, cache: map[string]cachedResult{}}
	}
	for _, r := range cfg.App.Routes {
		if r.Authorizer != "" {
			_, isJWT := g.jwt[r.Authorizer]
			_, isLambda := g.lambda[r.Authorizer]
			if !isJWT && !isLambda {
				return nil, fmt.Errorf("route %s: no authorizer %q on the HttpApi", r.Key(), r.Authorizer)
			}
		}
		g.routes = append(g.routes, compile(r))
	}
	return g, nil
}

// answer is API Gateway's own response: a status and {"message": …}.
type answer struct {
	status  int
	message string
	header  http.Header
}

var (
	notFound      = answer{status: http.StatusNotFound, message: "Not Found"}
	unauthorized  = answer{status: http.StatusUnauthorized, message: "Unauthorized"}
	forbidden     = answer{status: http.StatusForbidden, message: "Forbidden"}
	internalError = answer{status: http.StatusInternalServerError, message: "Internal Server Error"}
	tooLarge      = answer{status: http.StatusRequestEntityTooLarge, message: "Request Entity Too Large"}
)

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	requestID := newRequestID()
	w.Header().Set("Apigw-Requestid", requestID)
	status, target, note := g.serve(w, r, requestID, start)
	line := fmt.Sprintf("%d %s %s", status, r.Method, r.URL.RequestURI())
	if target != "" {
		line += " → " + target
	}
	if note != "" {
		line += " (" + note + ")"
	}
	g.log.Printf("%s %s", line, time.Since(start).Round(time.Millisecond))
}

// serve answers r and returns the status, the function that served it, and a note for the log.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, requestID string, now time.Time) (int, string, string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return g.answer(w, internalError), "", "read body: " + err.Error()
	}
	if len(body) > MaxBody {
		return g.answer(w, tooLarge), "", ""
	}
	rt, params, ok := find(g.routes, r.Method, r.URL.EscapedPath())
	if !ok {
		return g.answer(w, notFound), "", ""
	}
	ev := buildEvent(r, body, rt, params, g.apiID, requestID, now)

	if a, ok := g.jwt[rt.Authorizer]; ok {
		auth, refusal, note := g.authorizeJWT(r.Context(), a, rt, ev)
		if refusal != nil {
			return g.answer(w, *refusal), rt.Function, rt.Authorizer + ": " + note
		}
		ev.RequestContext.Authorizer = auth
	} else if a, ok := g.lambda[rt.Authorizer]; ok {
		auth, refusal, note := g.authorizeLambda(r.Context(), a, ev)
		if refusal != nil {
			return g.answer(w, *refusal), rt.Function, rt.Authorizer + ": " + note
		}
		ev.RequestContext.Authorizer = auth
	}

	payload, err := json.Marshal(ev)
	if err != nil {
		return g.answer(w, internalError), rt.Function, err.Error()
	}
	if len(payload) >= MaxPayload {
		return g.answer(w, tooLarge), rt.Function, fmt.Sprintf("event of %d bytes, over Lambda's limit", len(payload))
	}
	result, err := g.functions.Invoke(r.Context(), rt.Function, payload)
	if err != nil {
		return g.answer(w, internalError), rt.Function, err.Error()
	}
	status, err := writeResult(w, result)
	if err != nil {
		return g.answer(w, internalError), rt.Function, "malformed response: " + err.Error()
	}
	return status, rt.Function, ""
}

func (g *Gateway) authorizeJWT(ctx context.Context, a jwtAuthorizer, rt route, ev events.APIGatewayV2HTTPRequest) (*events.APIGatewayV2HTTPRequestContextAuthorizerDescription, *answer, string) {
	value := ev.Headers[strings.ToLower(a.header)]
	if value == "" {
		return nil, &unauthorized, "no " + a.header + " header"
	}
	claims, err := a.verifier.Verify(ctx, value)
	var refused *TokenError
	if errors.As(err, &refused) {
		ans := unauthorized
		ans.header = http.Header{"Www-Authenticate": {
			fmt.Sprintf(`Bearer scope="" error="invalid_token" error_description=%q`, refused.Description),
		}}
		return nil, &ans, refused.Description
	}
	if err != nil {
		return nil, &internalError, err.Error()
	}
	jwt := &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: StringClaims(claims)}
	if len(rt.AuthorizationScopes) > 0 {
		scopes := tokenScopes(claims)
		if !slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(rt.AuthorizationScopes, s) }) {
			ans := forbidden
			ans.header = http.Header{"Www-Authenticate": {
				fmt.Sprintf(`Bearer scope=%q error="insufficient_scope" error_description="the token does not have a valid scope"`, strings.Join(rt.AuthorizationScopes, " ")),
			}}
			return nil, &ans, "insufficient scope"
		}
		jwt.Scopes = scopes
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: jwt}, nil, ""
}

func (g *Gateway) authorizeLambda(ctx context.Context, a *lambdaAuthorizer, ev events.APIGatewayV2HTTPRequest) (*events.APIGatewayV2HTTPRequestContextAuthorizerDescription, *answer, string) {
	var identity []string
	for _, h := range a.IdentityHeaders {
		v := ev.Headers[strings.ToLower(h)]
		// With caching on, API Gateway refuses a request that lacks an identity source
		// without calling the authorizer; with caching off it calls it anyway.
		if v == "" && a.ResultTTL > 0 {
			return nil, &unauthorized, "no " + h + " header"
		}
		identity = append(identity, v)
	}
	// The source address is the connection's (buildEvent), never X-Forwarded-For.
	for _, c := range a.IdentityContext {
		identity = append(identity, contextVariables[c](ev))
	}
	key := strings.Join(identity, "\x00")
	resp, cached := a.lookup(key, g.now())
	if !cached {
		payload, err := json.Marshal(authorizerEvent(ev, identity))
		if err != nil {
			return nil, &internalError, err.Error()
		}
		result, err := g.functions.Invoke(ctx, a.Function, payload)
		if err != nil {
			return nil, &internalError, err.Error()
		}
		if resp, err = parseSimpleResponse(result); err != nil {
			return nil, &internalError, err.Error()
		}
		a.store(key, resp, g.now())
	}
	note := ""
	if cached {
		note = "cached"
	}
	if !resp.IsAuthorized {
		return nil, &forbidden, strings.TrimSpace("refused " + note)
	}
	ctxMap := resp.Context
	if ctxMap == nil {
		ctxMap = map[string]any{}
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: ctxMap}, nil, note
}

// contextVariables are the $context variables the local gateway offers as identity sources.
var contextVariables = map[string]func(events.APIGatewayV2HTTPRequest) string{
	"routeKey":          func(ev events.APIGatewayV2HTTPRequest) string { return ev.RequestContext.RouteKey },
	"identity.sourceIp": func(ev events.APIGatewayV2HTTPRequest) string { return ev.RequestContext.HTTP.SourceIP },
}

func parseSimpleResponse(b []byte) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	var raw struct {
		IsAuthorized *bool          `json:"isAuthorized"`
		Context      map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, fmt.Errorf("authorizer response: %w", err)
	}
	if raw.IsAuthorized == nil {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, errors.New("authorizer response has no isAuthorized")
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: *raw.IsAuthorized, Context: raw.Context}, nil
}

func (a *lambdaAuthorizer) lookup(key string, now time.Time) (events.APIGatewayV2CustomAuthorizerSimpleResponse, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.cache[key]
	if !ok || !now.Before(c.expires) {
		delete(a.cache, key)
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, false
	}
	return c.resp, true
}

func (a *lambdaAuthorizer) store(key string, resp events.APIGatewayV2CustomAuthorizerSimpleResponse, now time.Time) {
	if a.ResultTTL <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cache[key] = cachedResult{resp: resp, expires: now.Add(a.ResultTTL)}
}

func (g *Gateway) answer(w http.ResponseWriter, a answer) int {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = fmt.Fprintf(w, `{"message":%q}`, a.message)
	return a.status
}

// writeResult translates a payload format 2.0 result into the response. A result without
// statusCode is, as API Gateway reads it, a 200 JSON body; a bare JSON string is sent as the
// string itself.
func writeResult(w http.ResponseWriter, result []byte) (int, error) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(result, &probe) != nil || probe["statusCode"] == nil {
		return writeBare(w, result)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(result, &resp); err != nil {
		return 0, err
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return 0, fmt.Errorf("statusCode %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return 0, fmt.Errorf("body: %w", err)
		}
	}
	h := w.Header()
	// No Content-Type unless the function gives one: never Go's sniffed guess.
	h["Content-Type"] = nil
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	// multiValueHeaders belongs to payload format 1.0: API Gateway ignores it in a 2.0 result.
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode, nil
}

// writeBare sends a result that is not a response object: valid JSON becomes a 200 JSON body,
// and a JSON string becomes its text, without the quotes.
func writeBare(w http.ResponseWriter, result []byte) (int, error) {
	if !json.Valid(result) {
		return 0, errors.New("the result is not JSON")
	}
	body := result
	var s string
	if json.Unmarshal(result, &s) == nil {
		body = []byte(s)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return http.StatusOK, nil
}

package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/meter"
	"github.com/apitokens/apitokens/shared/service"
	"github.com/apitokens/apitokens/testkit/emulatortest"
	"github.com/apitokens/apitokens/testkit/openapitest"
	"github.com/apitokens/apitokens/testkit/samtemplate"
	"github.com/apitokens/apitokens/testkit/secretscan"
)

func TestMain(m *testing.M) {
	code := emulatortest.Main(m)
	// A whole run must have held every operation of openapi.yaml to the document.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		doc, err := openapitest.Load()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if ops := doc.Unchecked(); len(ops) > 0 {
			fmt.Fprintf(os.Stderr, "no handler response was checked against openapi.yaml for %s\n", strings.Join(ops, ", "))
			code = 1
		}
	}
	// A whole run must also have needed every permission template.yaml grants, and no other.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		problems, err := checkPermissions()
		if err != nil {
			problems = append(problems, err.Error())
		}
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, p)
			code = 1
		}
	}
	fmt.Println(secretscan.Shared().Summary())
	os.Exit(code)
}

// permissions records what the AWS calls of each route's handler, and of the key authorizer,
// needed over the whole run.
var permissions = &emulatortest.Permissions{}

// authorizerCaller marks the key authorizer's calls for permissions.
const authorizerCaller = "key authorizer"

func asAuthorizer(ctx context.Context) context.Context {
	return emulatortest.WithCaller(ctx, authorizerCaller)
}

// checkPermissions holds each function's policies in template.yaml to what its calls needed in
// this run: a call its role would refuse in AWS (the emulator does not check IAM), or a grant
// that no call needed.
func checkPermissions() ([]string, error) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		return nil, err
	}
	tmpl, err := samtemplate.Open(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	fns, err := tmpl.Functions()
	if err != nil {
		return nil, err
	}
	used := permissions.Used()
	var problems []string
	for _, f := range fns {
		// A function without routes (the sender, the scheduled one) is called by its own name.
		callers := append(slices.Clone(f.Routes), f.ID)
		if f.Authorizer {
			callers = append(callers, authorizerCaller)
		}
		if len(callers) == 0 {
			callers = []string{f.ID} // a function events other than routes call, by its logical id
		}
		need := map[samtemplate.Grant]bool{}
		for _, q := range f.Polls { // what SQS's event source mapping does with the function's role
			for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} {
				need[samtemplate.Grant{Action: a, Resource: q}] = true
			}
		}
		for _, c := range callers {
			maps.Copy(need, used[c])
			delete(used, c)
		}
		granted := map[samtemplate.Grant]bool{}
		for _, g := range f.Grants {
			granted[g] = true
			if !need[g] {
				problems = append(problems, fmt.Sprintf("%s: its policies grant %s, which none of its calls needed", f.ID, g))
			}
		}
		for _, g := range slices.SortedFunc(maps.Keys(need), func(a, b samtemplate.Grant) int { return strings.Compare(a.String(), b.String()) }) {
			if !granted[g] {
				problems = append(problems, fmt.Sprintf("%s: its calls need %s, which its policies do not grant", f.ID, g))
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(used)) {
		problems = append(problems, fmt.Sprintf("%q made AWS calls but is no function of the template", c))
	}
	return problems, nil
}

// who is a dashboard session.
type who struct {
	user, env string
	admin     bool
}

var (
	ann  = who{"ann", "env-1", false}  // agent
	carl = who{"carl", "env-1", false} // another agent of the same environment
	adam = who{"adam", "env-1", true}  // admin of env-1
	eve  = who{"eve", "env-2", true}   // admin of another environment
)

// api drives the handlers as API Gateway would: one handler per route, the JWT authorizer's
// claims in the request context, a real table and secret in the emulator.
type api struct {
	t      testing.TB
	deps   *service.Deps
	env    emulatortest.Env
	routes map[string]func(context.Context, httpapi.Request) (httpapi.Response, error)
	logs   *syncBuffer
	auth   *authorizer.Authorizer
	calls  *emulatortest.Calls
	mu     sync.Mutex
	now    time.Time
	// lastDecision is the key authorizer's decision on the last keyDo.
	lastDecision authorizer.Decision
	// meter meters the key-guarded routes.
	meter *meter.Meter
}

// keyRoutes are the route keys template.yaml guards with the key authorizer.
func keyRoutes(t testing.TB) []string {
	t.Helper()
	app, err := readApp()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rt := range app.Routes {
		if _, ok := app.LambdaAuthorizers[rt.Authorizer]; ok {
			out = append(out, rt.Key())
		}
	}
	return out
}

var readApp = sync.OnceValues(func() (*samtemplate.App, error) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		return nil, err
	}
	return samtemplate.Load(filepath.Join(root, "template.yaml"), samtemplate.Options{})
})

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newAPI wires every route to a fresh table and secret; opts apply to the functions' SDK
// configuration after the call counter is installed (a proxy in front of the emulator sets
// BaseEndpoint, as faults_test.go does).
func newAPI(t testing.TB, limit int, opts ...func(*aws.Config)) *api {
	t.Helper()
	calls := &emulatortest.Calls{}
	env := emulatortest.New(t, append([]func(*aws.Config){calls.Option(), permissions.Option()}, opts...)...)
	a := &api{t: t, env: env, calls: calls, logs: &syncBuffer{}, now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	cfg, err := service.ConfigFromEnv(func(k string) string {
		return map[string]string{"TABLE_NAME": env.TableName, "KEYRING_SECRET_ID": env.SecretARN, "TOKEN_LIMIT": fmt.Sprint(limit),
			"EVENTS_QUEUE_URL": env.Queues[samtemplate.EventsQueueResource], "WEBHOOK_TARGETS": "loopback",
			"WEBHOOK_RETRY_SECONDS": "0", "SUBSCRIPTION_LIMIT": "3"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.deps, err = service.New(cfg, env.Config, service.Logger(a.logs), a.clock); err != nil {
		t.Fatal(err)
	}
	a.routes = map[string]func(context.Context, httpapi.Request) (httpapi.Response, error){
		"POST /v1/tokens":                           handlers.CreateToken(a.deps),
		"GET /v1/tokens":                            handlers.ListTokens(a.deps),
		"GET /v1/tokens/{id}":                       handlers.GetToken(a.deps),
		"PATCH /v1/tokens/{id}":                     handlers.RenameToken(a.deps),
		"POST /v1/tokens/{id}/reveal":               handlers.RevealToken(a.deps),
		"POST /v1/tokens/{id}/deactivate":           handlers.DeactivateToken(a.deps),
		"POST /v1/tokens/{id}/activate":             handlers.ActivateToken(a.deps),
		"DELETE /v1/tokens/{id}":                    handlers.DeleteToken(a.deps),
		"GET /v1/tokens/{id}/audit":                 handlers.TokenAudit(a.deps),
		"GET /v1/tokens/{id}/usage":                 handlers.TokenUsage(a.deps),
		"POST /v1/tokens/{id}/roll":                 handlers.RollToken(a.deps),
		"POST /v1/tokens/{id}/previous-key/revoke":  handlers.RevokePreviousKey(a.deps),
		"POST /v1/secret-scanning/github":           handlers.ReportLeaks(a.deps, scanner(t).keys()),
		"GET /v1/me":                                handlers.Me(a.deps),
		"POST /v1/hooks/{source}":                   handlers.ReceiveHook(a.deps),
		"GET /v1/hooks/events":                      handlers.ListHookEvents(a.deps),
		"POST /v1/tokens/{id}/transfer":             handlers.TransferToken(a.deps),
		"POST /v1/users/{userId}/tokens/deactivate": handlers.DeactivateUserTokens(a.deps),
		"GET /v1/policy":                            handlers.GetPolicy(a.deps),
		"PUT /v1/policy":                            handlers.PutPolicy(a.deps),
		"POST /v1/subscriptions":                    handlers.CreateSubscription(a.deps),
		"GET /v1/subscriptions":                     handlers.ListSubscriptions(a.deps),
		"DELETE /v1/subscriptions/{id}":             handlers.DeleteSubscription(a.deps),
		"GET /v1/subscriptions/{id}/attempts":       handlers.SubscriptionAttempts(a.deps),
	}
	// The key-guarded routes run metered, as their functions start them (meter.Start).
	a.meter = meter.New(a.deps.Store, a.clock, a.deps.Log)
	for _, route := range keyRoutes(t) {
		a.routes[route] = a.meter.Wrap(a.routes[route])
	}
	for route, h := range a.routes {
		a.routes[route] = func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
			return h(emulatortest.WithCaller(ctx, route), req)
		}
	}
	a.auth = authorizer.New(a.deps.Format, a.deps.Keys, a.deps.Store, 5*time.Second, a.clock)
	secretscan.Shared().AddKeyRing(env.KeyRing)
	t.Cleanup(func() {
		for _, f := range secretscan.Shared().Log(t.Name()+" function logs", a.logs.String()) {
			t.Error(f)
		}
		if t.Failed() {
			t.Logf("function logs:\n%s", a.logs.String())
		}
	})
	return a
}

func (a *api) clock() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now
}

func (a *api) advance(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = a.now.Add(d)
}

// reply is a handler's answer with its body decoded.
type reply struct {
	status  int
	headers map[string]string
	raw     string
	body    map[string]any
	list    []any // the body, when it is a JSON array
}

func (r reply) str(k string) string { s, _ := r.body[k].(string); return s }

// keyShaped finds anything shaped like a key, so failure messages can show its hint instead.
var keyShaped = regexp.MustCompile(`\b([a-z][a-z0-9]{1,7}_)[0-9A-Za-z]{45}([0-9A-Za-z]{4})\b`)

// shown is the raw body for a failure message, each key in it shown by its hint only.
func (r reply) shown() string { return keyShaped.ReplaceAllString(r.raw, "${1}…${2}") }

// do sends method and target (path with an optional ?query) as w, with body if not empty.
func (a *api) do(w who, method, target, body string) reply {
	a.t.Helper()
	req := fixture(a.t)
	a.aim(&req, method, target, body)
	w.sign(&req)
	return a.send(req)
}

// aim points req at the route of method and target (a path with an optional ?query, whose
// parameters join those req already has) with body, base64-encoded when req's body is.
func (a *api) aim(req *httpapi.Request, method, target, body string) {
	a.t.Helper()
	path, query, _ := strings.Cut(target, "?")
	route, params := a.match(method, path)
	req.RouteKey, req.RequestContext.RouteKey = route, route
	req.RawPath, req.RequestContext.HTTP.Path, req.RequestContext.HTTP.Method = path, path, method
	req.PathParameters = params
	if query != "" {
		req.RawQueryString = strings.TrimPrefix(req.RawQueryString+"&"+query, "&")
	}
	for _, kv := range strings.Split(query, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if req.QueryStringParameters == nil {
				req.QueryStringParameters = map[string]string{}
			}
			if u, err := url.QueryUnescape(v); err == nil { // as API Gateway hands them over
				v = u
			}
			req.QueryStringParameters[k] = v
		}
	}
	req.Body = body
	if req.IsBase64Encoded {
		req.Body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	if body == "" {
		for k := range req.Headers {
			if strings.EqualFold(k, "content-type") {
				delete(req.Headers, k)
			}
		}
	}
}

// sign puts w's session in req, as the JWT authorizer does: its claims beside any others.
func (w who) sign(req *httpapi.Request) {
	groups := "[agents]"
	if w.admin {
		groups = "[agents admin]"
	}
	claims := req.RequestContext.Authorizer.JWT.Claims
	claims["sub"], claims["cognito:username"], claims["custom:environment_id"], claims["cognito:groups"] = w.user, w.user, w.env, groups
}

// send calls req's route, holds the answer to openapi.yaml and to problem+json for errors, and
// decodes it.
func (a *api) send(req httpapi.Request) reply {
	a.t.Helper()
	method, target := req.RequestContext.HTTP.Method, req.RawPath
	resp, err := a.routes[req.RouteKey](context.Background(), req)
	if err != nil {
		a.t.Fatalf("%s %s: handler returned a Go error: %v", method, target, err)
	}
	a.conforms(req, resp)
	r := reply{status: resp.StatusCode, headers: resp.Headers, raw: resp.Body}
	if resp.Body != "" {
		var v any
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
			a.t.Fatalf("%s %s: body is not JSON: %q", method, target, resp.Body)
		}
		r.body, _ = v.(map[string]any)
		r.list, _ = v.([]any)
		if r.body == nil && r.list == nil {
			a.t.Fatalf("%s %s: body is not a JSON object or array: %q", method, target, resp.Body)
		}
	}
	if r.status >= 400 {
		for _, f := range secretscan.Shared().Body(fmt.Sprintf("%s %s → %d", method, target, r.status), resp.Body) {
			a.t.Error(f)
		}
		if ct := resp.Headers["content-type"]; ct != "application/problem+json" || r.str("code") == "" || r.body["status"] != float64(r.status) {
			a.t.Fatalf("%s %s: error %d is not problem+json with a code: %s %s", method, target, r.status, ct, resp.Body)
		}
	}
	return r
}

// outsideDocument are requests the deployed API answers but OpenAPI cannot describe. An
// OpenAPI path without parameters wins over a templated one, so POST /v1/hooks/events belongs
// to the path that only has GET; API Gateway routes it to POST /v1/hooks/{source}, which
// refuses the reserved source.
var outsideDocument = map[string]bool{"POST /v1/hooks/events": true}

// conforms fails the test when a handler's answer is not what openapi.yaml describes.
func (a *api) conforms(req httpapi.Request, resp httpapi.Response) {
	a.t.Helper()
	if outsideDocument[req.RequestContext.HTTP.Method+" "+req.RawPath] {
		return
	}
	doc, err := openapitest.Load()
	if err != nil {
		a.t.Fatal(err)
	}
	if err := doc.CheckEvent(req, resp); err != nil {
		a.t.Error(err)
	}
}

var readFixture = sync.OnceValues(func() ([]byte, error) { return os.ReadFile("testdata/session-request.json") })

func fixture(t testing.TB) httpapi.Request {
	t.Helper()
	b, err := readFixture()
	if err != nil {
		t.Fatal(err)
	}
	var req httpapi.Request
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return req
}

// routePatterns are the template's paths, literal ones before those with parameters.
var routePatterns = []string{
	"/v1/tokens", "/v1/me", "/v1/hooks/events", "/v1/tokens/{id}", "/v1/tokens/{id}/reveal",
	"/v1/tokens/{id}/deactivate", "/v1/tokens/{id}/activate", "/v1/tokens/{id}/audit", "/v1/tokens/{id}/usage", "/v1/hooks/{source}",
	"/v1/tokens/{id}/roll", "/v1/tokens/{id}/previous-key/revoke", "/v1/secret-scanning/github",
	"/v1/policy", "/v1/tokens/{id}/transfer", "/v1/users/{userId}/tokens/deactivate",
	"/v1/subscriptions", "/v1/subscriptions/{id}", "/v1/subscriptions/{id}/attempts",
}

func (a *api) match(method, path string) (string, map[string]string) {
	a.t.Helper()
	segs := strings.Split(path, "/")
	for _, p := range routePatterns {
		if a.routes[method+" "+p] == nil {
			continue
		}
		ps := strings.Split(p, "/")
		if len(ps) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i := range ps {
			if strings.HasPrefix(ps[i], "{") {
				params[strings.Trim(ps[i], "{}")] = segs[i]
			} else if ps[i] != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			if len(params) == 0 {
				params = nil
			}
			return method + " " + p, params
		}
	}
	a.t.Fatalf("no route for %s %s", method, path)
	return "", nil
}

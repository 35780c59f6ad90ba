package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

func TestRouteMatching(t *testing.T) {
	var routes []route
	for _, r := range []samtemplate.Route{
		{Method: "GET", Path: "/v1/tokens", Function: "List"},
		{Method: "GET", Path: "/v1/tokens/{id}", Function: "Get"},
		{Method: "POST", Path: "/v1/tokens/{id}/reveal", Function: "Reveal"},
		{Method: "POST", Path: "/v1/hooks/{source}", Function: "Receive"},
		{Method: "GET", Path: "/v1/hooks/events", Function: "Events"},
		{Method: "ANY", Path: "/files/{path+}", Function: "Files"},
		{Method: "GET", Path: "/files/readme", Function: "Readme"},
	} {
		routes = append(routes, compile(r))
	}
	tests := []struct {
		method, path string
		want         string
		wantParams   map[string]string
	}{
		{"GET", "/v1/tokens", "List", nil},
		{"GET", "/v1/tokens/tok_1", "Get", map[string]string{"id": "tok_1"}},
		{"GET", "/v1/tokens/a%2Fb", "Get", map[string]string{"id": "a/b"}},
		{"POST", "/v1/tokens/tok_1/reveal", "Reveal", map[string]string{"id": "tok_1"}},
		{"GET", "/v1/hooks/events", "Events", nil},
		{"POST", "/v1/hooks/events", "Receive", map[string]string{"source": "events"}},
		{"POST", "/v1/hooks/zapier", "Receive", map[string]string{"source": "zapier"}},
		{"GET", "/files/readme", "Readme", nil},
		{"DELETE", "/files/a/b/c", "Files", map[string]string{"path": "a/b/c"}},
		{"POST", "/v1/tokens", "", nil},        // method without a route
		{"GET", "/v1/tokens/", "", nil},        // empty variable
		{"GET", "/v1/tokens/tok_1/x", "", nil}, // too long
		{"GET", "/v1", "", nil},                // too short
		{"GET", "/v1/hooks", "", nil},          // prefix of routes
		{"PATCH", "/v1/tokens/tok_1", "", nil}, // no PATCH route here
		{"GET", "/V1/tokens", "", nil},         // paths are case-sensitive
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, params, ok := find(routes, tt.method, tt.path)
			if tt.want == "" {
				if ok {
					t.Errorf("matched %s, want no route", r.Key())
				}
				return
			}
			if !ok || r.Function != tt.want {
				t.Fatalf("matched %q (%v), want %s", r.Function, ok, tt.want)
			}
			if len(params) != len(tt.wantParams) {
				t.Errorf("params = %v, want %v", params, tt.wantParams)
			}
			for k, v := range tt.wantParams {
				if params[k] != v {
					t.Errorf("param %s = %q, want %q", k, params[k], v)
				}
			}
		})
	}
}

func TestBuildEvent(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	rt := compile(samtemplate.Route{Method: "POST", Path: "/v1/hooks/{source}", Function: "Receive"})

	t.Run("JSON body", func(t *testing.T) {
		r := httptest.NewRequest("POST", "http://127.0.0.1:3000/v1/hooks/zap%20ier?userId=u1&tag=a&tag=b", nil)
		r.RemoteAddr = "127.0.0.1:54321"
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("User-Agent", "curl/8")
		r.Header.Add("X-Multi", "one")
		r.Header.Add("X-Multi", "two")
		r.Header.Add("Cookie", "a=1; b=2")
		ev := buildEvent(r, []byte(`{"x":1}`), rt, map[string]string{"source": "zap ier"}, "api1", "req1", now)

		checks := []struct{ name, got, want string }{
			{"version", ev.Version, "2.0"},
			{"routeKey", ev.RouteKey, "POST /v1/hooks/{source}"},
			{"rawPath", ev.RawPath, "/v1/hooks/zap%20ier"},
			{"rawQueryString", ev.RawQueryString, "userId=u1&tag=a&tag=b"},
			{"query tag", ev.QueryStringParameters["tag"], "a,b"},
			{"query userId", ev.QueryStringParameters["userId"], "u1"},
			{"path source", ev.PathParameters["source"], "zap ier"},
			{"header content-type", ev.Headers["content-type"], "application/json"},
			{"header x-multi", ev.Headers["x-multi"], "one,two"},
			{"header host", ev.Headers["host"], "127.0.0.1:3000"},
			{"header cookie", ev.Headers["cookie"], ""},
			{"cookies", strings.Join(ev.Cookies, "|"), "a=1|b=2"},
			{"body", ev.Body, `{"x":1}`},
			{"requestContext.routeKey", ev.RequestContext.RouteKey, "POST /v1/hooks/{source}"},
			{"requestContext.stage", ev.RequestContext.Stage, "$default"},
			{"requestContext.requestId", ev.RequestContext.RequestID, "req1"},
			{"requestContext.apiId", ev.RequestContext.APIID, "api1"},
			{"requestContext.accountId", ev.RequestContext.AccountID, AccountID},
			{"requestContext.domainName", ev.RequestContext.DomainName, "127.0.0.1:3000"},
			{"requestContext.time", ev.RequestContext.Time, "25/Nov/2026:18:00:00 +0000"},
			{"http.method", ev.RequestContext.HTTP.Method, "POST"},
			{"http.path", ev.RequestContext.HTTP.Path, "/v1/hooks/zap%20ier"},
			{"http.protocol", ev.RequestContext.HTTP.Protocol, "HTTP/1.1"},
			{"http.sourceIp", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
			{"http.userAgent", ev.RequestContext.HTTP.UserAgent, "curl/8"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
		if ev.IsBase64Encoded || ev.RequestContext.TimeEpoch != now.UnixMilli() {
			t.Errorf("isBase64Encoded %v, timeEpoch %d; want false, %d", ev.IsBase64Encoded, ev.RequestContext.TimeEpoch, now.UnixMilli())
		}
	})
	t.Run("binary body", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/v1/hooks/x", nil)
		r.Header.Set("Content-Type", "application/octet-stream")
		ev := buildEvent(r, []byte{0, 1, 2, 0xff}, rt, nil, "api1", "req1", now)
		if !ev.IsBase64Encoded || ev.Body != "AAEC/w==" {
			t.Errorf("body %q, isBase64Encoded %v; want AAEC/w==, true", ev.Body, ev.IsBase64Encoded)
		}
		if ev.QueryStringParameters != nil || ev.Cookies != nil {
			t.Errorf("query %v, cookies %v; want none", ev.QueryStringParameters, ev.Cookies)
		}
	})
	for _, tt := range []struct{ name, contentType, body, want string }{
		{"form body", "application/x-www-form-urlencoded", "a=1&b=2", "YT0xJmI9Mg=="},
		{"form body with a charset", "application/x-www-form-urlencoded; charset=utf-8", "a=1", "YT0x"},
		{"body without a content type", "", "hello", "aGVsbG8="},
	} {
		t.Run(tt.name+" arrives base64-encoded", func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/hooks/x", nil)
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			ev := buildEvent(r, []byte(tt.body), rt, nil, "api1", "req1", now)
			if !ev.IsBase64Encoded || ev.Body != tt.want {
				t.Errorf("body %q, isBase64Encoded %v; want %q, true", ev.Body, ev.IsBase64Encoded, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		query string
		want  map[string]string
	}{
		{"a=1;b=2", map[string]string{"a": "1", "b": "2"}},
		{"q=abcd;20&x=%3B", map[string]string{"q": "abcd", "20": "", "x": ";"}},
		{"tag=a;tag=b&tag=c", map[string]string{"tag": "a,b,c"}},
		{"bad=%zz&ok=1", map[string]string{"bad": "%zz", "ok": "1"}},
		{"a+b=c+d", map[string]string{"a b": "c d"}},
	} {
		t.Run("query "+tt.query, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/hooks/x?"+tt.query, nil)
			ev := buildEvent(r, nil, rt, nil, "api1", "req1", now)
			if ev.RawQueryString != tt.query {
				t.Errorf("rawQueryString = %q, want %q", ev.RawQueryString, tt.query)
			}
			if len(ev.QueryStringParameters) != len(tt.want) {
				t.Errorf("queryStringParameters = %q, want %q", ev.QueryStringParameters, tt.want)
			}
			for k, v := range tt.want {
				if got, ok := ev.QueryStringParameters[k]; !ok || got != v {
					t.Errorf("parameter %q = %q (%v), want %q", k, got, ok, v)
				}
			}
		})
	}
	t.Run("authorizer event", func(t *testing.T) {
		r := httptest.NewRequest("POST", "http://127.0.0.1:3000/v1/hooks/x?a=1", nil)
		ev := buildEvent(r, nil, rt, map[string]string{"source": "x"}, "api1", "req1", now)
		a := authorizerEvent(ev, []string{"Bearer k"})
		if a.Type != "REQUEST" || a.Version != "2.0" || a.RouteArn != "arn:aws:execute-api:us-east-1:123456789012:api1/$default/POST/v1/hooks/x" ||
			!slices.Equal(a.IdentitySource, []string{"Bearer k"}) || a.RouteKey != ev.RouteKey || a.PathParameters["source"] != "x" ||
			a.QueryStringParameters["a"] != "1" || a.RequestContext.RequestID != "req1" {
			t.Errorf("authorizer event = %+v", a)
		}
	})
}

// fakeFunctions runs Go funcs in place of functions and counts the calls.
type fakeFunctions struct {
	mu    sync.Mutex
	calls map[string]int
	fns   map[string]func(payload []byte) ([]byte, error)
}

func (f *fakeFunctions) Invoke(_ context.Context, name string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	f.calls[name]++
	fn := f.fns[name]
	f.mu.Unlock()
	return fn(payload)
}

func (f *fakeFunctions) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

// echo answers the event it got as the body.
func echo(payload []byte) ([]byte, error) {
	return json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(payload), Headers: map[string]string{"Content-Type": "application/json"}})
}

func newTestGateway(t *testing.T, ttl time.Duration) (*Gateway, *fakeFunctions) {
	t.Helper()
	fns := &fakeFunctions{calls: map[string]int{}, fns: map[string]func([]byte) ([]byte, error){
		"Route": echo,
		"Fail":  func([]byte) ([]byte, error) { return nil, errors.New("boom") },
		"Auth": func(payload []byte) ([]byte, error) {
			var req events.APIGatewayV2CustomAuthorizerV2Request
			if err := json.Unmarshal(payload, &req); err != nil {
				return nil, err
			}
			switch req.IdentitySource[0] {
			case "Bearer boom":
				return nil, errors.New("authorizer failed")
			case "Bearer good":
				return json.Marshal(events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"tokenId": "tok_1"}})
			}
			return []byte(`{"isAuthorized":false}`), nil
		},
	}}
	app := &samtemplate.App{
		Routes: []samtemplate.Route{
			{Method: "GET", Path: "/session", Function: "Route", Authorizer: "Session"},
			{Method: "GET", Path: "/scoped", Function: "Route", Authorizer: "Session", AuthorizationScopes: []string{"tokens:read"}},
			{Method: "GET", Path: "/key/{id}", Function: "Route", Authorizer: "ApiKey"},
			{Method: "GET", Path: "/open", Function: "Route"},
			{Method: "GET", Path: "/fail", Function: "Fail"},
		},
		JWTAuthorizers: map[string]*samtemplate.JWTAuthorizer{"Session": {Name: "Session", IdentitySource: "$request.header.Authorization", Issuer: testIssuer}},
		LambdaAuthorizers: map[string]*samtemplate.LambdaAuthorizer{"ApiKey": {
			Name: "ApiKey", Function: "Auth", IdentityHeaders: []string{"Authorization"}, ResultTTL: ttl,
			PayloadFormatVersion: "2.0", EnableSimpleResponses: true,
		}},
	}
	g, err := New(Config{App: app, JWT: map[string]*JWTVerifier{"Session": verifier(t)}, Functions: fns, APIID: "api1"})
	if err != nil {
		t.Fatal(err)
	}
	return g, fns
}

type result struct {
	status int
	header http.Header
	body   string
	event  events.APIGatewayV2HTTPRequest
}

func call(t *testing.T, g http.Handler, method, path, auth string) result {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	res := result{status: w.Code, header: w.Header(), body: w.Body.String()}
	if w.Code == 200 {
		_ = json.Unmarshal(w.Body.Bytes(), &res.event)
	}
	return res
}

func TestGatewayAuthorizers(t *testing.T) {
	g, fns := newTestGateway(t, 0)
	session := "Bearer " + sign(t, "k1", with(goodClaims(), "cognito:groups", []string{"admin", "agents"}))

	tests := []struct {
		name, method, path, auth string
		wantStatus               int
		wantBody                 string
	}{
		{"session route without header", "GET", "/session", "", 401, `{"message":"Unauthorized"}`},
		{"session route with a key", "GET", "/session", "Bearer cbk_abc", 401, `{"message":"Unauthorized"}`},
		{"session route with a session", "GET", "/session", session, 200, ""},
		{"scoped route without the scope", "GET", "/scoped", session, 403, `{"message":"Forbidden"}`},
		{"key route with a refused key", "GET", "/key/1", "Bearer bad", 403, `{"message":"Forbidden"}`},
		{"key route with a session", "GET", "/key/1", session, 403, `{"message":"Forbidden"}`},
		{"key route, authorizer fails", "GET", "/key/1", "Bearer boom", 500, `{"message":"Internal Server Error"}`},
		{"key route with a good key", "GET", "/key/1", "Bearer good", 200, ""},
		{"open route", "GET", "/open", "", 200, ""},
		{"function fails", "GET", "/fail", "", 500, `{"message":"Internal Server Error"}`},
		{"unknown route", "GET", "/nope", session, 404, `{"message":"Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(t, g, tt.method, tt.path, tt.auth)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", res.status, res.body, tt.wantStatus)
			}
			if tt.wantBody != "" && res.body != tt.wantBody {
				t.Errorf("body = %s, want %s", res.body, tt.wantBody)
			}
			if res.header.Get("Apigw-Requestid") == "" {
				t.Error("no apigw-requestid header")
			}
		})
	}

	t.Run("refused session says why", func(t *testing.T) {
		res := call(t, g, "GET", "/session", "Bearer "+sign(t, "k1", with(goodClaims(), "aud", "x")))
		want := `Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"`
		if got := res.header.Get("Www-Authenticate"); got != want {
			t.Errorf("www-authenticate = %s, want %s", got, want)
		}
	})
	t.Run("missing header has no www-authenticate", func(t *testing.T) {
		if got := call(t, g, "GET", "/session", "").header.Get("Www-Authenticate"); got != "" {
			t.Errorf("www-authenticate = %q, want none", got)
		}
	})
	t.Run("session claims reach the route as strings", func(t *testing.T) {
		ev := call(t, g, "GET", "/session", session).event
		if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.JWT == nil {
			t.Fatal("no jwt authorizer context")
		}
		claims := ev.RequestContext.Authorizer.JWT.Claims
		if claims["cognito:groups"] != "[admin agents]" || claims["sub"] != "user-1" {
			t.Errorf("claims = %v", claims)
		}
	})
	t.Run("key context reaches the route", func(t *testing.T) {
		ev := call(t, g, "GET", "/key/1", "Bearer good").event
		if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.Lambda["tokenId"] != "tok_1" {
			t.Errorf("authorizer = %+v, want lambda context with tokenId", ev.RequestContext.Authorizer)
		}
	})
	t.Run("with caching off, a missing key still reaches the authorizer", func(t *testing.T) {
		before := fns.count("Auth")
		if res := call(t, g, "GET", "/key/1", ""); res.status != 403 {
			t.Errorf("status = %d, want 403 from the authorizer", res.status)
		}
		if fns.count("Auth") != before+1 {
			t.Error("the authorizer was not called")
		}
	})
}

func TestLambdaAuthorizerCache(t *testing.T) {
	g, fns := newTestGateway(t, 5*time.Second)
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }

	if res := call(t, g, "GET", "/key/1", ""); res.status != 401 || fns.count("Auth") != 0 {
		t.Fatalf("no header: status %d, authorizer calls %d; want 401 without a call", res.status, fns.count("Auth"))
	}
	steps := []struct {
		name      string
		advance   time.Duration
		auth      string
		wantCode  int
		wantCalls int
	}{
		{"first call asks", 0, "Bearer good", 200, 1},
		{"second is cached", time.Second, "Bearer good", 200, 1},
		{"another route shares the cache", 0, "Bearer good", 200, 1},
		{"a refusal is cached too", 0, "Bearer bad", 403, 2},
		{"refusal from the cache", time.Second, "Bearer bad", 403, 2},
		{"errors are not cached", 0, "Bearer boom", 500, 3},
		{"errors are not cached, again", 0, "Bearer boom", 500, 4},
		{"after the TTL it asks again", 5 * time.Second, "Bearer good", 200, 5},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		res := call(t, g, "GET", "/key/2", s.auth)
		if res.status != s.wantCode || fns.count("Auth") != s.wantCalls {
			t.Errorf("%s: status %d, calls %d; want %d, %d", s.name, res.status, fns.count("Auth"), s.wantCode, s.wantCalls)
		}
	}
}

func TestWriteResult(t *testing.T) {
	tests := []struct {
		name       string
		result     string
		wantStatus int
		wantBody   string
		wantHeader map[string][]string
	}{
		{"plain", `{"statusCode":201,"headers":{"Content-Type":"application/json","Location":"/v1/tokens/1"},"body":"{\"id\":1}"}`,
			201, `{"id":1}`, map[string][]string{"Content-Type": {"application/json"}, "Location": {"/v1/tokens/1"}}},
		{"no content type is not sniffed", `{"statusCode":204}`, 204, "", map[string][]string{"Content-Type": nil}},
		{"base64 and cookies; multiValueHeaders is not part of format 2.0",
			`{"statusCode":200,"isBase64Encoded":true,"body":"AAEC/w==","headers":{"X-One":"1"},"multiValueHeaders":{"X-Multi":["a","b"],"X-One":["2"]},"cookies":["a=1; Path=/","b=2"]}`,
			200, "\x00\x01\x02\xff", map[string][]string{"X-Multi": nil, "X-One": {"1"}, "Set-Cookie": {"a=1; Path=/", "b=2"}}},
		{"without statusCode", `{"hello":"world"}`, 200, `{"hello":"world"}`, map[string][]string{"Content-Type": {"application/json"}}},
		{"a bare JSON string is sent as the string itself", `"Hello from Lambda!"`, 200, `Hello from Lambda!`, map[string][]string{"Content-Type": {"application/json"}}},
		{"a JSON string holding escapes", `"line\n\"quoted\""`, 200, "line\n\"quoted\"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			status, err := writeResult(w, []byte(tt.result))
			if err != nil {
				t.Fatal(err)
			}
			if status != tt.wantStatus || w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := w.Result().Header[k]; !slices.Equal(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
	for _, bad := range []string{`{"statusCode":0}`, `{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`, `not json`} {
		if _, err := writeResult(httptest.NewRecorder(), []byte(bad)); err == nil {
			t.Errorf("writeResult(%s) accepted it, want an error", bad)
		}
	}
}

// A body over the HTTP API's payload quota, and one whose event is over Lambda's request limit,
// are both answered 413 by the gateway, and the function is not called; a body whose event fits
// reaches it.
func TestBodyTooLarge(t *testing.T) {
	for _, c := range []struct {
		name string
		size int
		want int
	}{
		{"over the gateway's 10 MiB", MaxBody + 1, 413},
		{"under 10 MiB, its event over Lambda's 6 MiB", MaxPayload, 413},
		{"under 6 MiB, base64 in the event over it", MaxPayload * 4 / 5, 413},
		{"4 MiB, base64 in the event under 6 MiB", 4 << 20, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, fns := newTestGateway(t, 0)
			r := httptest.NewRequest("GET", "/open", io.LimitReader(zeros{}, int64(c.size)))
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("status = %d, want %d", w.Code, c.want)
			}
			if c.want != 413 {
				return
			}
			if got := strings.TrimSpace(w.Body.String()); got != `{"message":"Request Entity Too Large"}` {
				t.Errorf("body = %s, want {\"message\":\"Request Entity Too Large\"}", got)
			}
			if n := fns.count("Route"); n != 0 {
				t.Errorf("the function was called %d times, want 0", n)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

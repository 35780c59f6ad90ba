package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apitokens/apitokens/cmd/internal/proctree"
	"github.com/apitokens/apitokens/testkit/openapitest"
	"github.com/apitokens/apitokens/testkit/samtemplate"
	"github.com/apitokens/apitokens/testkit/secretscan"
)

// buffer is a concurrency-safe output sink.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func fixtureTemplate(t *testing.T) string {
	t.Helper()
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "cmd/localapi/testdata/fixture/template.yaml")
}

// startServer runs the local API for template in-process, on a free port, with its own state.
func startServer(t *testing.T, template string) (*Server, *buffer) {
	t.Helper()
	return startServerWith(t, Config{Template: template})
}

// startServerWith is startServer with cfg's template and scaling.
func startServerWith(t *testing.T, cfg Config) (*Server, *buffer) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the emulator and builds functions")
	}
	out := &buffer{}
	srv, err := Start(context.Background(), Config{
		Addr: "127.0.0.1:0", Template: cfg.Template, StateDir: t.TempDir(), Output: out,
		Concurrency: cfg.Concurrency, IdleTimeout: cfg.IdleTimeout,
		Parameters: cfg.Parameters, WebhookRetrySeconds: cfg.WebhookRetrySeconds,
	})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	secretscan.Shared().AddKeyRing(srv.res.KeyRing)
	t.Cleanup(func() {
		srv.Close()
		for _, f := range secretscan.Shared().Log(t.Name()+" local run output", out.String()) {
			t.Error(f)
		}
	})
	return srv, out
}

// TestMain prints how much output and how many error bodies the tests held to "no secret".
func TestMain(m *testing.M) {
	code := m.Run()
	fmt.Println(secretscan.Shared().Summary())
	os.Exit(code)
}

type reply struct {
	status int
	header http.Header
	body   string
}

// shown is the body for a failure message, each key in it shown by its hint only.
func (r reply) shown() string { return keyShaped.ReplaceAllString(r.body, "${1}…${2}") }

func do(t *testing.T, method, url, auth, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		for _, f := range secretscan.Shared().Body(fmt.Sprintf("%s %s → %d", method, req.URL.Path, resp.StatusCode), string(b)) {
			t.Error(f)
		}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// call is do against the project's own template: the answer must also be what openapi.yaml
// describes, the gateway's refusals included.
func call(t *testing.T, method, url, auth, body string) reply {
	t.Helper()
	r := do(t, method, url, auth, body)
	doc, err := openapitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, url, strings.NewReader(body))
	resp := &http.Response{StatusCode: r.status, Header: r.header, Body: io.NopCloser(strings.NewReader(r.body))}
	if err := doc.Check(req, resp); err != nil {
		t.Error(err)
	}
	return r
}

// echoed returns the event the echo test function received.
func echoed(t *testing.T, r reply) events.APIGatewayV2HTTPRequest {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d (%s), want 200 from the echo function", r.status, r.shown())
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(r.body), &ev); err != nil {
		t.Fatalf("echo body: %v", err)
	}
	return ev
}

const (
	unauthorizedBody = `{"message":"Unauthorized"}`
	forbiddenBody    = `{"message":"Forbidden"}`
	internalBody     = `{"message":"Internal Server Error"}`
)

// TestLocalRunWithTestFunctions starts the local API on a test template whose functions echo
// their events, and checks each step between a request and a function, through the real
// emulator, builds, Runtime Interface Emulator processes and HTTP server.
func TestLocalRunWithTestFunctions(t *testing.T) {
	srv, out := startServer(t, fixtureTemplate(t))
	admin, err := srv.Mint("u-admin", "env-1", true)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("JWT route", func(t *testing.T) {
		if r := do(t, "GET", srv.URL+"/session/1", "", ""); r.status != 401 || r.body != unauthorizedBody {
			t.Errorf("no header: %d %s, want 401 %s", r.status, r.shown(), unauthorizedBody)
		}
		r := do(t, "GET", srv.URL+"/session/1", "Bearer good", "")
		if r.status != 401 || !strings.Contains(r.header.Get("Www-Authenticate"), `error="invalid_token"`) {
			t.Errorf("API key on a JWT route: %d %v, want 401 with www-authenticate", r.status, r.header)
		}
		ev := echoed(t, do(t, "POST", srv.URL+"/session/tok%201?a=1&a=2", "Bearer "+admin, `{"x":1}`))
		claims := ev.RequestContext.Authorizer.JWT.Claims
		if claims["cognito:groups"] != "[admin]" || claims["custom:environment_id"] != "env-1" || claims["sub"] != "u-admin" || claims["aud"] != "apitokens-dashboard" {
			t.Errorf("claims = %v", claims)
		}
		if ev.PathParameters["id"] != "tok 1" || ev.RawPath != "/session/tok%201" || ev.QueryStringParameters["a"] != "1,2" ||
			ev.Body != `{"x":1}` || ev.RouteKey != "ANY /session/{id}" || ev.RequestContext.HTTP.Method != "POST" {
			t.Errorf("event = %+v", ev)
		}
		// Without "Bearer " the token is accepted too.
		echoed(t, do(t, "GET", srv.URL+"/session/1", admin, ""))
	})

	t.Run("session command", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		addr := strings.TrimPrefix(srv.URL, "http://")
		code := sessionCommand([]string{"-user", "bob", "-environment", "env-2", "-role", "agent",
			"-addr", addr, "-template", fixtureTemplate(t), "-state", srv.stateDir}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("session command: exit %d: %s", code, stderr.String())
		}
		ev := echoed(t, do(t, "GET", srv.URL+"/session/1", "Bearer "+strings.TrimSpace(stdout.String()), ""))
		if c := ev.RequestContext.Authorizer.JWT.Claims; c["sub"] != "bob" || c["cognito:groups"] != "[agents]" {
			t.Errorf("claims = %v", c)
		}
	})

	t.Run("Lambda authorizer route", func(t *testing.T) {
		tests := []struct {
			auth       string
			wantStatus int
			wantBody   string
		}{
			{"", 401, unauthorizedBody},
			{"Bearer " + admin, 403, forbiddenBody},
			{"Bearer bad", 403, forbiddenBody},
			{"Bearer boom", 500, internalBody},
		}
		for _, tt := range tests {
			if r := do(t, "GET", srv.URL+"/key/1", tt.auth, ""); r.status != tt.wantStatus || r.body != tt.wantBody {
				t.Errorf("%.20q: %d %s, want %d %s", tt.auth, r.status, r.shown(), tt.wantStatus, tt.wantBody)
			}
		}
		ev := echoed(t, do(t, "GET", srv.URL+"/key/7", "Bearer good", ""))
		lambda := ev.RequestContext.Authorizer.Lambda
		if lambda["tokenId"] != "tok_1" || !strings.HasSuffix(lambda["routeArn"].(string), "/$default/GET/key/7") {
			t.Errorf("authorizer context = %v", lambda)
		}
		// The next call within ReauthorizeEvery is answered from the gateway's cache: the
		// authorizer's call count does not move.
		again := echoed(t, do(t, "GET", srv.URL+"/key/8", "Bearer good", ""))
		if again.RequestContext.Authorizer.Lambda["calls"] != lambda["calls"] {
			t.Errorf("calls = %v then %v, want the cached result", lambda["calls"], again.RequestContext.Authorizer.Lambda["calls"])
		}
	})

	t.Run("function results and failures", func(t *testing.T) {
		if r := do(t, "GET", srv.URL+"/open/x/fail", "", ""); r.status != 500 || r.body != internalBody {
			t.Errorf("error: %d %s, want 500", r.status, r.shown())
		}
		if r := do(t, "GET", srv.URL+"/open/x/sleep", "", ""); r.status != 500 || r.body != internalBody {
			t.Errorf("timeout: %d %s, want 500", r.status, r.shown())
		}
		if r := do(t, "GET", srv.URL+"/open/x/nostatus", "", ""); r.status != 200 || r.body != `{"hello":"world"}` || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("no statusCode: %d %s %v", r.status, r.shown(), r.header)
		}
		r := do(t, "GET", srv.URL+"/open/x/binary", "", "")
		// multiValueHeaders is not part of payload format 2.0: API Gateway ignores it.
		if r.status != 200 || r.body != "\x00\x01\x02\xff" || len(r.header["Set-Cookie"]) != 2 || len(r.header["X-Multi"]) != 0 {
			t.Errorf("binary: %d %q %v; want the body, two cookies and no X-Multi", r.status, r.shown(), r.header)
		}
		if r := do(t, "GET", srv.URL+"/nope", "", ""); r.status != 404 || r.body != `{"message":"Not Found"}` {
			t.Errorf("unknown route: %d %s", r.status, r.shown())
		}
	})

	t.Run("function environment", func(t *testing.T) {
		r := do(t, "GET", srv.URL+"/open/x/env", "", "")
		env := map[string]string{}
		for _, kv := range strings.Split(r.body, "\n") {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		want := map[string]string{
			"AWS_ENDPOINT_URL": srv.emu.Endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "emulator",
			"TABLE_NAME": TableName, "KEYRING_SECRET_ID": srv.res.SecretARN,
			"FROM_GLOBALS": "yes", "FROM_FUNCTION": "yes", "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN",
			"AWS_LAMBDA_FUNCTION_NAME": "EchoFunction", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s = %q, want %q", k, env[k], v)
			}
		}
	})

	t.Run("scale out", func(t *testing.T) { testScaleOutThroughTheGateway(t, srv, out) })

	t.Run("output", func(t *testing.T) {
		got := out.String()
		for _, want := range []string{"[EchoFunction] REPORT RequestId:", "Init Duration:", "[AuthorizerFunction] REPORT", "[api] 200 GET /key/7 → EchoFunction"} {
			if !strings.Contains(got, want) {
				t.Errorf("output lacks %q", want)
			}
		}
	})
}

// TestTemplateRoutesAreServedWithTheirAuthorizers starts the local API on the project's
// template.yaml and its functions, and checks that every route is served behind the authorizer
// the template gives it, then walks the Zapier flow: a session creates a key, the key calls.
func TestTemplateRoutesAreServedWithTheirAuthorizers(t *testing.T) {
	srv, out := startServer(t, "")
	agent, err := srv.Mint("u-agent", "env-1", false)
	if err != nil {
		t.Fatal(err)
	}
	isGateway := func(body string) bool { return strings.HasPrefix(body, `{"message":`) }
	path := regexp.MustCompile(`\{[^}]+\}`)

	for _, rt := range srv.app.Routes {
		url := srv.URL + path.ReplaceAllString(rt.Path, "tok_00000000000000000000000000")
		t.Run(rt.Key(), func(t *testing.T) {
			if rt.Authorizer == "" {
				// The one public route: its signature is its authentication, so the function
				// itself refuses an unsigned report, with a problem document.
				if r := call(t, rt.Method, url, "", "[]"); r.status != 401 || isGateway(r.body) || !strings.Contains(r.body, `"code":"signature_missing"`) {
					t.Errorf("public route, unsigned: %d %s, want the function's 401 signature_missing", r.status, r.shown())
				}
				return
			}
			if r := call(t, rt.Method, url, "", ""); r.status != 401 || r.body != unauthorizedBody {
				t.Errorf("no header: %d %s, want 401 %s", r.status, r.shown(), unauthorizedBody)
			}
			switch rt.Authorizer {
			case "Session":
				if r := call(t, rt.Method, url, "Bearer cbk_notasession", ""); r.status != 401 || r.header.Get("Www-Authenticate") == "" {
					t.Errorf("key on a session route: %d %s, want 401 with www-authenticate", r.status, r.shown())
				}
				if r := call(t, rt.Method, url, "Bearer "+agent, "{}"); isGateway(r.body) {
					t.Errorf("session: %d %s, want the function's answer", r.status, r.shown())
				}
			case "ApiKey":
				if r := call(t, rt.Method, url, "Bearer "+agent, "{}"); r.status != 403 || r.body != forbiddenBody {
					t.Errorf("session on a key route: %d %s, want 403 %s", r.status, r.shown(), forbiddenBody)
				}
			default:
				t.Errorf("authorizer %q, want Session or ApiKey", rt.Authorizer)
			}
		})
	}

	t.Run("a session's key reaches the integration routes", func(t *testing.T) {
		r := call(t, "POST", srv.URL+"/v1/tokens", "Bearer "+agent, `{"name":"Zapier Sync"}`)
		var created struct{ ID, Key string }
		if err := json.Unmarshal([]byte(r.body), &created); r.status != 201 || err != nil || created.Key == "" {
			t.Fatalf("create: %d %s", r.status, r.shown())
		}
		r = call(t, "GET", srv.URL+"/v1/me", "Bearer "+created.Key, "")
		var me struct{ TokenID, UserID, EnvironmentID string }
		if err := json.Unmarshal([]byte(r.body), &me); r.status != 200 || err != nil || me.TokenID != created.ID || me.UserID != "u-agent" || me.EnvironmentID != "env-1" {
			t.Errorf("me: %d %s, want token %s of u-agent in env-1", r.status, r.shown(), created.ID)
		}
		if r := call(t, "GET", srv.URL+"/v1/tokens", "Bearer "+created.Key, ""); r.status != 401 {
			t.Errorf("key on a management route: %d %s, want 401", r.status, r.shown())
		}
	})

	// The user flow of the product, as a new user runs it against `make run`: a session, create
	// "Zapier Sync", list, the key on /v1/me, deactivate → refused within docs/keys.md's bound,
	// activate → allowed, delete → refused; an agent asking for an Admin token → 403.
	t.Run("the user flow", func(t *testing.T) {
		admin, err := srv.Mint("u-admin", "env-1", true)
		if err != nil {
			t.Fatal(err)
		}
		if r := call(t, "POST", srv.URL+"/v1/tokens", "Bearer "+agent, `{"name":"x","type":"admin"}`); r.status != 403 || !strings.Contains(r.body, `"code":"admin_required"`) {
			t.Errorf("agent creating an admin token: %d %s, want 403 admin_required", r.status, r.shown())
		}
		if r := call(t, "POST", srv.URL+"/v1/tokens", "Bearer "+admin, `{"name":"Office","type":"admin"}`); r.status != 201 {
			t.Errorf("admin creating an admin token: %d %s, want 201", r.status, r.shown())
		}
		r := call(t, "POST", srv.URL+"/v1/tokens", "Bearer "+agent, `{"name":"Zapier Sync"}`)
		var tok struct{ ID, Key, Name string }
		if err := json.Unmarshal([]byte(r.body), &tok); r.status != 201 || err != nil || tok.Name != "Zapier Sync" {
			t.Fatalf("create: %d %s", r.status, r.shown())
		}
		if r := call(t, "GET", srv.URL+"/v1/tokens", "Bearer "+agent, ""); r.status != 200 || !strings.Contains(r.body, tok.ID) {
			t.Errorf("list: %d, want the new token in it", r.status)
		}
		me := func() int { return call(t, "GET", srv.URL+"/v1/me", "Bearer "+tok.Key, "").status }
		if s := me(); s != 200 {
			t.Fatalf("me with the new key: %d", s)
		}
		// within waits, in real time, for /v1/me to answer want, and fails past the bound
		// docs/keys.md states for a status change to reach every call (10 s with the defaults).
		within := func(step string, want int) {
			t.Helper()
			start := time.Now()
			for {
				s := me()
				if s == want {
					t.Logf("%s: %d after %v", step, want, time.Since(start).Round(100*time.Millisecond))
					return
				}
				if time.Since(start) > 10*time.Second {
					t.Fatalf("%s: /v1/me still %d after 10 s, want %d", step, s, want)
				}
				time.Sleep(250 * time.Millisecond)
			}
		}
		if r := call(t, "POST", srv.URL+"/v1/tokens/"+tok.ID+"/deactivate", "Bearer "+agent, ""); r.status != 200 {
			t.Fatalf("deactivate: %d %s", r.status, r.shown())
		}
		within("deactivate", 403)
		if r := call(t, "POST", srv.URL+"/v1/tokens/"+tok.ID+"/activate", "Bearer "+agent, ""); r.status != 200 {
			t.Fatalf("activate: %d %s", r.status, r.shown())
		}
		within("activate", 200)
		if r := call(t, "DELETE", srv.URL+"/v1/tokens/"+tok.ID, "Bearer "+agent, ""); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.shown())
		}
		within("delete", 403)
		if r := call(t, "GET", srv.URL+"/v1/tokens/"+tok.ID, "Bearer "+agent, ""); r.status != 404 {
			t.Errorf("get after delete: %d, want 404", r.status)
		}
	})
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestInterruptStopsEverything runs the local API as a program, sends it SIGINT, and checks
// that every process it started (emulator, Runtime Interface Emulators, functions) is gone.
func TestInterruptStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the local API")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "localapi")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-template", fixtureTemplate(t), "-state", filepath.Join(dir, "state"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	served := regexp.MustCompile(`served on (http://\S+)`)
	urls := make(chan string, 1)
	var log buffer
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			log.Write(append(sc.Bytes(), '\n'))
			if m := served.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-urls:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the local API did not start:\n%s", log.String())
	}
	// A call starts a function's bootstrap under its emulator.
	if r := do(t, "GET", url+"/open/x/ok", "", ""); r.status != 200 {
		t.Fatalf("call: %d %s", r.status, r.shown())
	}
	started, err := proctree.Descendants(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// moto, two emulators, at least the bootstrap that answered.
	if len(started) < 4 {
		t.Fatalf("descendants = %v, want at least 4", started)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after SIGINT:\n%s", log.String())
	}
	time.Sleep(200 * time.Millisecond)
	for _, pid := range started {
		if alive(pid) {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			t.Errorf("process %d (%s) outlived the local API", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
}

// alive reports whether pid names a living process (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || !bytes.HasPrefix(bytes.TrimSpace(b[i+1:]), []byte("Z"))
}

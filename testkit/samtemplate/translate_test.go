package samtemplate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// requireTranslator makes a missing SAM translator a failure instead of a skip; make
// lint-template sets it, so CI (make lint) always runs TestSAMTranslation.
const requireTranslator = "SAM_TRANSLATOR_REQUIRED"

// translate runs the SAM translator (tools/sam-translate.py with .venv-lint's Python) on
// template.yaml with the given parameters and returns the CloudFormation template it makes.
func translate(t *testing.T, root string, params ...string) map[string]any {
	t.Helper()
	python := filepath.Join(root, ".venv-lint", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		if os.Getenv(requireTranslator) != "" {
			t.Fatalf("the SAM translator's venv is missing (%v): run make lint-venv", err)
		}
		t.Skipf("no .venv-lint (make lint-venv installs it; make lint-template runs this test with %s=1)", requireTranslator)
	}
	cmd := exec.Command(python, append([]string{filepath.Join(root, "tools", "sam-translate.py"), filepath.Join(root, "template.yaml")}, params...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sam-translate: %v\n%s", err, stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("sam-translate printed no JSON template: %v", err)
	}
	return out
}

// TestSAMTranslation translates template.yaml as CloudFormation's SAM transform would and checks
// what it generates: every function with its JSON logs in its own expiring log group, the stage's
// access log, both authorizers on every route, and the permissions that let API Gateway call the
// functions and the key authorizer.
func TestSAMTranslation(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, err := samtemplate.Open(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fns, err := src.Functions()
	if err != nil {
		t.Fatal(err)
	}
	out := translate(t, root,
		"CorsAllowedOrigins=https://dashboard.brokerage.test",
		"DashboardCallbackUrl=https://dashboard.brokerage.test/tokens",
		"DashboardLogoutUrl=https://dashboard.brokerage.test/")
	res := obj(out["Resources"])
	byType := map[string][]string{}
	for id, r := range res {
		typ := fmt.Sprint(obj(r)["Type"])
		byType[typ] = append(byType[typ], id)
		if strings.HasPrefix(typ, "AWS::Serverless::") {
			t.Errorf("%s: %s left untranslated", id, typ)
		}
	}

	t.Run("functions and log groups", func(t *testing.T) {
		if len(byType["AWS::Lambda::Function"]) != len(fns) {
			t.Errorf("Lambda functions got %d, want %d", len(byType["AWS::Lambda::Function"]), len(fns))
		}
		for _, f := range fns {
			lc := obj(obj(obj(res[f.ID])["Properties"])["LoggingConfig"])
			group, _ := obj(lc["LogGroup"])["Ref"].(string)
			if obj(res[f.ID])["Type"] != "AWS::Lambda::Function" || lc["LogFormat"] != "JSON" || group == "" {
				t.Errorf("%s: got %v with LoggingConfig %s, want an AWS::Lambda::Function logging JSON to a log group of the stack", f.ID, obj(res[f.ID])["Type"], show(lc))
				continue
			}
			g := obj(res[group])
			if g["Type"] != "AWS::Logs::LogGroup" || show(obj(g["Properties"])["RetentionInDays"]) != `{"Ref":"LogRetentionDays"}` {
				t.Errorf("%s: log group %s is %s, want an AWS::Logs::LogGroup with RetentionInDays !Ref LogRetentionDays", f.ID, group, show(g))
			}
		}
	})

	// Two HTTP APIs: the main one with both authorizers, and the public secret scanning route's
	// own, which has none. Each stage writes the JSON access log to its own group.
	t.Run("access log", func(t *testing.T) {
		stages := byType["AWS::ApiGatewayV2::Stage"]
		if len(stages) != 2 {
			t.Fatalf("stages got %v, want one for each HTTP API", stages)
		}
		for _, id := range stages {
			group := "ApiAccessLogGroup"
			if strings.HasPrefix(id, "SecretScanningApi") {
				group = "SecretScanningAccessLogGroup"
			}
			s := obj(obj(obj(res[id])["Properties"])["AccessLogSettings"])
			if show(s["DestinationArn"]) != `{"Fn::GetAtt":["`+group+`","Arn"]}` {
				t.Errorf("%s access log DestinationArn got %s, want %s", id, show(s["DestinationArn"]), group)
			}
			format, _ := s["Format"].(string)
			_, problems := accessLogFormatProblems(id, format)
			if len(problems) > 0 || strings.Contains(strings.ToLower(format), "authorization") || !strings.Contains(format, "$context.authorizer.tokenId") {
				t.Errorf("%s access log Format got %q (%q), want JSON of documented variables with the token id and without the Authorization header", id, format, problems)
			}
		}
	})

	apis := byType["AWS::ApiGatewayV2::Api"]
	slices.Sort(apis)
	if !slices.Equal(apis, []string{"Api", "SecretScanningApi"}) {
		t.Fatalf("HTTP APIs got %v, want [Api SecretScanningApi]", apis)
	}
	body := obj(obj(obj(res["Api"])["Properties"])["Body"])
	public := obj(obj(obj(res["SecretScanningApi"])["Properties"])["Body"])
	schemes := obj(obj(body["components"])["securitySchemes"])

	t.Run("authorizers", func(t *testing.T) {
		key := obj(obj(schemes["ApiKey"])["x-amazon-apigateway-authorizer"])
		if key["type"] != "request" || key["authorizerPayloadFormatVersion"] != "2.0" || key["enableSimpleResponses"] != true ||
			show(key["authorizerResultTtlInSeconds"]) != `{"Ref":"AuthorizerResultTtl"}` ||
			show(key["identitySource"]) != `["$request.header.Authorization","$context.routeKey","$context.identity.sourceIp"]` ||
			!strings.Contains(show(key["authorizerUri"]), `{"Fn::GetAtt":["AuthorizerFunction","Arn"]}`) {
			t.Errorf("ApiKey authorizer got %s, want a 2.0 simple-response request authorizer on AuthorizerFunction, cached AuthorizerResultTtl", show(key))
		}
		jwt := obj(obj(schemes["Session"])["x-amazon-apigateway-authorizer"])
		cfg := show(jwt["jwtConfiguration"])
		if jwt["type"] != "jwt" || !strings.Contains(cfg, `{"Fn::GetAtt":["UserPool","ProviderURL"]}`) || !strings.Contains(cfg, `[{"Ref":"DashboardClient"}]`) {
			t.Errorf("Session authorizer got %s, want a JWT authorizer on the pool and its dashboard client", show(jwt))
		}
	})

	t.Run("routes", func(t *testing.T) {
		routes := 0
		for path, item := range obj(public["paths"]) {
			for method, op := range obj(item) {
				routes++
				if path != "/v1/secret-scanning/github" || method != "post" || len(list(obj(op)["security"])) > 0 {
					t.Errorf("public API: %s %s with security %s, want only POST /v1/secret-scanning/github, without any", strings.ToUpper(method), path, show(obj(op)["security"]))
				}
			}
		}
		if len(obj(obj(public["components"])["securitySchemes"])) > 0 {
			t.Errorf("public API has authorizers: %s", show(obj(public["components"])["securitySchemes"]))
		}
		for path, item := range obj(body["paths"]) {
			for method, op := range obj(item) {
				routes++
				sec := show(obj(op)["security"])
				want := `"Session"`
				if path == "/v1/me" || strings.HasPrefix(path, "/v1/hooks/") || path == "/v1/subscriptions" || strings.HasPrefix(path, "/v1/subscriptions/") {
					want = `"ApiKey"`
				}
				if !strings.Contains(sec, want) {
					t.Errorf("%s %s: security %s, want %s", strings.ToUpper(method), path, sec, want)
				}
			}
		}
		want := 0
		for _, f := range fns {
			want += len(f.Routes)
		}
		if routes != want {
			t.Errorf("routes got %d, want %d", routes, want)
		}
	})

	t.Run("permissions", func(t *testing.T) {
		invoked := map[string][]string{}
		for _, id := range byType["AWS::Lambda::Permission"] {
			p := obj(obj(res[id])["Properties"])
			// A scheduled function (the daily expiring-keys one) is invoked by its EventBridge
			// rule, and by nothing else.
			if p["Action"] == "lambda:InvokeFunction" && p["Principal"] == "events.amazonaws.com" {
				rule, _ := strings.CutSuffix(getAtt(obj(p["SourceArn"])["Fn::GetAtt"]), ".Arn")
				if obj(res[rule])["Type"] != "AWS::Events::Rule" {
					t.Errorf("%s: %s, want the source to be an EventBridge rule of the stack", id, show(p))
				}
				continue
			}
			if p["Action"] != "lambda:InvokeFunction" || p["Principal"] != "apigateway.amazonaws.com" {
				t.Errorf("%s: %s, want lambda:InvokeFunction by apigateway.amazonaws.com", id, show(p))
				continue
			}
			fn, _ := obj(p["FunctionName"])["Ref"].(string)
			if fn == "" {
				fn, _ = strings.CutSuffix(getAtt(obj(p["FunctionName"])["Fn::GetAtt"]), ".Arn")
			}
			invoked[fn] = append(invoked[fn], show(p["SourceArn"]))
		}
		for _, f := range fns {
			arns := invoked[f.ID]
			api := `{"Ref":"Api"}`
			if f.ID == "ReportLeakFunction" {
				api = `{"Ref":"SecretScanningApi"}`
			}
			if len(f.Routes) > 0 && !slices.ContainsFunc(arns, func(a string) bool { return strings.Contains(a, api) }) {
				t.Errorf("%s: no permission for the API to call it (got %v)", f.ID, arns)
			}
			if f.Authorizer && !slices.ContainsFunc(arns, func(a string) bool { return strings.Contains(a, "/authorizers/*") }) {
				t.Errorf("%s: no permission for the API's authorizers to call it (got %v)", f.ID, arns)
			}
			if !f.Authorizer && len(f.Routes) == 0 && len(arns) > 0 {
				t.Errorf("%s: API Gateway may call it, but it has no route", f.ID)
			}
		}
	})
}

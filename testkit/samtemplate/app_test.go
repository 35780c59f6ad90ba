package samtemplate_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

func loadProject(t *testing.T) *samtemplate.App {
	t.Helper()
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	app, err := samtemplate.Load(filepath.Join(root, "template.yaml"), samtemplate.Options{
		Refs: map[string]string{"TokensTable": "tokens-local", "KeyRingSecret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyring"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestLoadMergesGlobals(t *testing.T) {
	app := loadProject(t)
	auth, ok := app.Functions["AuthorizerFunction"]
	if !ok {
		t.Fatal("no AuthorizerFunction")
	}
	tests := []struct{ name, got, want string }{
		{"Runtime", auth.Runtime, "provided.al2023"},
		{"Handler", auth.Handler, "bootstrap"},
		{"LogFormat", auth.LogFormat, "JSON"},
		{"ApplicationLogLevel", auth.ApplicationLogLevel, "INFO"},
		{"TABLE_NAME", auth.Environment["TABLE_NAME"], "tokens-local"},
		{"KEYRING_SECRET_ID", auth.Environment["KEYRING_SECRET_ID"], "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyring"},
		{"TOKEN_LIMIT", auth.Environment["TOKEN_LIMIT"], "50"},
		{"AUTH_CACHE_TTL (the function's own)", auth.Environment["AUTH_CACHE_TTL"], "5"},
		{"CodeDir", filepath.Base(auth.CodeDir), "authorizer"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if auth.Timeout != 10*time.Second || auth.MemorySize != 256 {
		t.Errorf("timeout %v, memory %d; want 10s, 256", auth.Timeout, auth.MemorySize)
	}
	if _, ok := app.Functions["MeFunction"].Environment["AUTH_CACHE_TTL"]; ok {
		t.Error("MeFunction has AuthorizerFunction's own variable")
	}
}

func TestLoadRoutesAndAuthorizers(t *testing.T) {
	app := loadProject(t)
	got := map[string]string{}
	for _, r := range app.Routes {
		got[r.Key()] = r.Function + " " + r.Authorizer
	}
	want := map[string]string{
		"POST /v1/tokens":                           "CreateTokenFunction Session",
		"GET /v1/tokens":                            "ListTokensFunction Session",
		"GET /v1/tokens/{id}":                       "GetTokenFunction Session",
		"PATCH /v1/tokens/{id}":                     "RenameTokenFunction Session",
		"POST /v1/tokens/{id}/reveal":               "RevealTokenFunction Session",
		"POST /v1/tokens/{id}/deactivate":           "DeactivateTokenFunction Session",
		"POST /v1/tokens/{id}/activate":             "ActivateTokenFunction Session",
		"DELETE /v1/tokens/{id}":                    "DeleteTokenFunction Session",
		"GET /v1/tokens/{id}/audit":                 "TokenAuditFunction Session",
		"GET /v1/tokens/{id}/usage":                 "TokenUsageFunction Session",
		"GET /v1/me":                                "MeFunction ApiKey",
		"POST /v1/hooks/{source}":                   "ReceiveHookFunction ApiKey",
		"GET /v1/hooks/events":                      "ListHookEventsFunction ApiKey",
		"POST /v1/tokens/{id}/roll":                 "RollTokenFunction Session",
		"POST /v1/tokens/{id}/previous-key/revoke":  "RevokePreviousKeyFunction Session",
		"POST /v1/secret-scanning/github":           "ReportLeakFunction ", // public: its signature authenticates it
		"POST /v1/tokens/{id}/transfer":             "TransferTokenFunction Session",
		"POST /v1/users/{userId}/tokens/deactivate": "DeactivateUserTokensFunction Session",
		"GET /v1/policy":                            "GetPolicyFunction Session",
		"PUT /v1/policy":                            "PutPolicyFunction Session",
		"POST /v1/subscriptions":                    "CreateSubscriptionFunction ApiKey",
		"GET /v1/subscriptions":                     "ListSubscriptionsFunction ApiKey",
		"DELETE /v1/subscriptions/{id}":             "DeleteSubscriptionFunction ApiKey",
		"GET /v1/subscriptions/{id}/attempts":       "SubscriptionAttemptsFunction ApiKey",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("route %s = %q, want %q", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected route %s", k)
		}
	}

	// IdentityProvider create (the default): the audience is the stack's own app client, which
	// a Ref names by its logical id here.
	jwt := app.JWTAuthorizers["Session"]
	if jwt == nil || !slices.Equal(jwt.Audience, []string{"DashboardClient"}) || jwt.IdentitySource != "$request.header.Authorization" {
		t.Errorf("Session authorizer = %+v, want audience [DashboardClient]", jwt)
	}
	key := app.LambdaAuthorizers["ApiKey"]
	if key == nil || key.Function != "AuthorizerFunction" || key.ResultTTL != 5*time.Second ||
		!slices.Equal(key.IdentityHeaders, []string{"Authorization"}) || !slices.Equal(key.IdentityContext, []string{"routeKey", "identity.sourceIp"}) {
		t.Errorf("ApiKey authorizer = %+v, want AuthorizerFunction, 5s, [Authorization]", key)
	}
	if got := app.Parameters["EnvironmentClaim"]; got != "custom:environment_id" {
		t.Errorf("EnvironmentClaim = %q, want custom:environment_id", got)
	}
}

func TestFunctionsReadRoutesAndAuthorizerFromApp(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Open(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]samtemplate.FunctionGrants{}
	for _, f := range fns {
		byID[f.ID] = f
	}
	if auth := byID["AuthorizerFunction"]; !auth.Authorizer || len(auth.Routes) != 0 {
		t.Errorf("AuthorizerFunction = %+v, want the authorizer, with no route", auth)
	}
	create := byID["CreateTokenFunction"]
	if create.Authorizer || !slices.Equal(create.Routes, []string{"POST /v1/tokens"}) {
		t.Errorf("CreateTokenFunction = %+v, want route POST /v1/tokens, not an authorizer", create)
	}
	if !slices.Contains(create.Grants, samtemplate.Grant{Action: "dynamodb:PutItem", Resource: samtemplate.TableResource}) {
		t.Errorf("CreateTokenFunction grants %v, want dynamodb:PutItem on %s", create.Grants, samtemplate.TableResource)
	}
	app, err := tmpl.App(samtemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != len(app.Functions) {
		t.Errorf("Functions names %d functions, App %d", len(fns), len(app.Functions))
	}
}

func TestLoadExistingProvider(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	app, err := samtemplate.Load(filepath.Join(root, "template.yaml"), samtemplate.Options{Parameters: map[string]string{
		"IdentityProvider": "existing",
		"JwtIssuer":        "http://127.0.0.1:3000/idp",
		"JwtAudience":      "dashboard-a,dashboard-b",
	}})
	if err != nil {
		t.Fatal(err)
	}
	jwt := app.JWTAuthorizers["Session"]
	if jwt == nil || jwt.Issuer != "http://127.0.0.1:3000/idp" || !slices.Equal(jwt.Audience, []string{"dashboard-a", "dashboard-b"}) {
		t.Errorf("Session authorizer = %+v, want the given issuer and audiences", jwt)
	}
}

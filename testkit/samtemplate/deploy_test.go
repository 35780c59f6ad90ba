package samtemplate_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// The deployment rules of docs/deploying.md for running on AWS: the identity provider the stack
// makes, parameters without example defaults, logs that expire, the access log, the alarms.

const (
	userPool          = "UserPool"
	createIdentity    = "CreateIdentityProvider"
	environmentAttr   = "custom:environment_id"
	retentionParam    = "LogRetentionDays"
	sessionAuthorizer = "Session"
)

// checkIdentityProvider checks the user pool the stack makes by default: the environment
// attribute in its schema and writable by no app client (a client without WriteAttributes may
// write every attribute), the admin group named by AdminGroup, a public dashboard client with
// the code flow only, a hosted sign-in domain; and that the JWT authorizer's issuer and audience
// are the pool's and the client's whenever the pool is made.
func checkIdentityProvider(p *parsed) []string {
	var problems []string
	res := obj(p.raw["Resources"])
	params := obj(p.raw["Parameters"])
	if d := obj(params["IdentityProvider"])["Default"]; d != "create" {
		problems = append(problems, fmt.Sprintf("parameter IdentityProvider: Default got %s, want create (a new team gets a user pool)", show(d)))
	}
	if c := obj(p.raw["Conditions"])[createIdentity]; show(c) != `{"Fn::Equals":[{"Ref":"IdentityProvider"},"create"]}` {
		problems = append(problems, fmt.Sprintf("condition %s got %s, want IdentityProvider equals create", createIdentity, show(c)))
	}
	pool := obj(res[userPool])
	if pool["Type"] != "AWS::Cognito::UserPool" || pool["Condition"] != createIdentity {
		problems = append(problems, fmt.Sprintf("%s: got type %v, condition %v; want an AWS::Cognito::UserPool made on %s", userPool, pool["Type"], pool["Condition"], createIdentity))
	}
	hasAttr := false
	for _, a := range list(obj(pool["Properties"])["Schema"]) {
		if "custom:"+fmt.Sprint(obj(a)["Name"]) == environmentAttr {
			hasAttr = true
		}
	}
	if !hasAttr {
		problems = append(problems, fmt.Sprintf("%s: Schema has no %s", userPool, environmentAttr))
	}
	if obj(obj(pool["Properties"])["AdminCreateUserConfig"])["AllowAdminCreateUserOnly"] != true {
		problems = append(problems, userPool+": anyone may sign up, want AllowAdminCreateUserOnly: true")
	}

	clients, groups, domains := 0, 0, 0
	for id, r := range res {
		props := obj(obj(r)["Properties"])
		switch obj(r)["Type"] {
		case "AWS::Cognito::UserPoolClient":
			clients++
			w, ok := props["WriteAttributes"]
			if !ok {
				problems = append(problems, id+": no WriteAttributes, so every attribute is writable; want a list without "+environmentAttr)
			}
			for _, a := range list(w) {
				if a == environmentAttr {
					problems = append(problems, fmt.Sprintf("%s: WriteAttributes has %s: a user could move to another environment", id, environmentAttr))
				}
			}
			if props["GenerateSecret"] != false || !slices.Equal(list(props["AllowedOAuthFlows"]), []any{"code"}) {
				problems = append(problems, fmt.Sprintf("%s: GenerateSecret %s, AllowedOAuthFlows %s; want a public client (false) with [code] (PKCE)", id, show(props["GenerateSecret"]), show(props["AllowedOAuthFlows"])))
			}
			if props["CallbackURLs"] == nil || props["LogoutURLs"] == nil {
				problems = append(problems, id+": CallbackURLs or LogoutURLs missing, want the parameters")
			}
		case "AWS::Cognito::UserPoolGroup":
			groups++
			if obj(props["GroupName"])["Ref"] != "AdminGroup" {
				problems = append(problems, fmt.Sprintf("%s: GroupName got %s, want !Ref AdminGroup", id, show(props["GroupName"])))
			}
		case "AWS::Cognito::UserPoolDomain":
			domains++
		}
	}
	if clients == 0 || groups == 0 || domains == 0 {
		problems = append(problems, fmt.Sprintf("app clients %d, groups %d, domains %d; want a dashboard client, the admin group and a hosted sign-in domain", clients, groups, domains))
	}

	jwt := obj(obj(obj(obj(obj(obj(res["Api"])["Properties"])["Auth"])["Authorizers"])[sessionAuthorizer])["JwtConfiguration"])
	if got, want := show(jwt["issuer"]), `{"Fn::If":["CreateIdentityProvider",{"Fn::GetAtt":"UserPool.ProviderURL"},{"Ref":"JwtIssuer"}]}`; got != want && got != strings.Replace(want, `"UserPool.ProviderURL"`, `["UserPool","ProviderURL"]`, 1) {
		problems = append(problems, fmt.Sprintf("JWT authorizer issuer got %s, want the pool's ProviderURL when it is made, else JwtIssuer", got))
	}
	if got, want := show(jwt["audience"]), `{"Fn::If":["CreateIdentityProvider",[{"Ref":"DashboardClient"}],{"Ref":"JwtAudience"}]}`; got != want {
		problems = append(problems, fmt.Sprintf("JWT authorizer audience got %s, want the dashboard client when the pool is made, else JwtAudience", got))
	}
	return problems
}

// examplePattern matches defaults that stand in for a value the deployer must give: example
// hosts and pools, localhost, placeholder client ids.
var examplePattern = regexp.MustCompile(`(?i)example|localhost|127\.0\.0\.1|_EXAMPLE|changeme|^https?://|apitokens-dashboard`)

// realDefaults are defaults that name a real service's own address, not an example: GitHub
// publishes its secret scanning keys there, for every partner alike.
var realDefaults = map[string]string{
	"SecretScanningKeysUrl": "https://api.github.com/meta/public_keys/secret_scanning",
}

// checkParameters checks that no parameter's default is an example value, and that a brought
// provider's issuer and audience are refused empty by a rule (they default to "", so that a
// stack with its own pool needs neither).
func checkParameters(p *parsed) []string {
	var problems []string
	params := obj(p.raw["Parameters"])
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		d, ok := obj(params[n])["Default"]
		if !ok {
			continue
		}
		if s := fmt.Sprint(d); examplePattern.MatchString(s) && realDefaults[n] != s {
			problems = append(problems, fmt.Sprintf("parameter %s: Default %q is an example value; want none, or \"\" refused by a rule", n, s))
		}
	}
	for _, n := range []string{"JwtIssuer", "JwtAudience", "CorsAllowedOrigins", "DashboardCallbackUrl", "DashboardLogoutUrl"} {
		if d, ok := obj(params[n])["Default"]; ok && d != "" {
			problems = append(problems, fmt.Sprintf("parameter %s: Default %s, want none or \"\"", n, show(d)))
		}
	}
	// Each parameter that defaults to "" and must be given is asserted non-empty by a rule.
	rules := show(p.raw["Rules"])
	for _, n := range []string{"JwtIssuer", "JwtAudience", "CorsAllowedOrigins", "DashboardCallbackUrl", "DashboardLogoutUrl"} {
		if !strings.Contains(rules, `{"Ref":"`+n+`"},""]`) {
			problems = append(problems, fmt.Sprintf("parameter %s: no rule refuses it empty", n))
		}
	}
	return problems
}

// checkLogs checks that every function logs to a log group of its own, made by the template
// with RetentionInDays !Ref LogRetentionDays (default 30), in JSON.
func checkLogs(p *parsed) []string {
	var problems []string
	if d := fmt.Sprint(obj(obj(p.raw["Parameters"])[retentionParam])["Default"]); d != "30" {
		problems = append(problems, fmt.Sprintf("parameter %s: Default got %s, want 30", retentionParam, d))
	}
	res := obj(p.raw["Resources"])
	if f := obj(obj(obj(p.raw["Globals"])["Function"])["LoggingConfig"]); f["LogFormat"] != "JSON" {
		problems = append(problems, fmt.Sprintf("Globals: LogFormat got %v, want JSON", f["LogFormat"]))
	}
	fns, ids := p.resources("AWS::Serverless::Function")
	owner := map[string]string{}
	for _, id := range ids {
		group, _ := obj(obj(obj(fns[id]["Properties"])["LoggingConfig"])["LogGroup"])["Ref"].(string)
		if group == "" {
			problems = append(problems, id+": LoggingConfig.LogGroup is not a !Ref to a log group of the template (Lambda's own group never expires)")
			continue
		}
		if other := owner[group]; other != "" {
			problems = append(problems, fmt.Sprintf("%s: log group %s is also %s's, want one per function", id, group, other))
		}
		owner[group] = id
		problems = append(problems, checkRetention(res, group, id)...)
	}
	return problems
}

// checkRetention checks that the log group id is a log group that expires after LogRetentionDays.
func checkRetention(res map[string]any, id, user string) []string {
	g := obj(res[id])
	if g["Type"] != "AWS::Logs::LogGroup" {
		return []string{fmt.Sprintf("%s: log group %s is not an AWS::Logs::LogGroup of the template", user, id)}
	}
	if r := obj(obj(g["Properties"])["RetentionInDays"])["Ref"]; r != retentionParam {
		return []string{fmt.Sprintf("%s: log group %s has RetentionInDays %s, want !Ref %s", user, id, show(obj(g["Properties"])["RetentionInDays"]), retentionParam)}
	}
	return nil
}

// checkAccessLog checks the HTTP API's access log: JSON of documented variables
// (accessLogFormatProblems), to a log group with retention, with the fields an operator looks
// for, and never the Authorization header (nor any header).
func checkAccessLog(p *parsed) []string {
	apis, ids := p.resources("AWS::Serverless::HttpApi")
	var problems []string
	for _, id := range ids {
		s := obj(obj(apis[id]["Properties"])["AccessLogSettings"])
		if s == nil {
			problems = append(problems, id+": no AccessLogSettings")
			continue
		}
		group, ok := strings.CutSuffix(getAtt(obj(s["DestinationArn"])["Fn::GetAtt"]), ".Arn")
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: access log DestinationArn %s, want !GetAtt <log group>.Arn", id, show(s["DestinationArn"])))
		} else {
			problems = append(problems, checkRetention(obj(p.raw["Resources"]), group, id+" access log")...)
		}
		format, _ := s["Format"].(string)
		_, formatProblems := accessLogFormatProblems(id, format)
		problems = append(problems, formatProblems...)
		if strings.Contains(strings.ToLower(format), "authorization") || strings.Contains(strings.ToLower(format), "header") {
			problems = append(problems, id+": access log Format names the Authorization header or a header")
		}
		for _, v := range []string{"$context.requestId", "$context.routeKey", "$context.status", "$context.responseLatency", "$context.authorizer.tokenId", "$context.error.responseType", "$context.error.messageString"} {
			if !slices.Contains(contextVariable.FindAllString(format, -1), v) {
				problems = append(problems, fmt.Sprintf("%s: access log has no %s", id, v))
			}
		}
	}
	return problems
}

// checkAlarms checks the two alarms: the authorizer's failed decisions (the metric its log line
// carries) and the API's 5xx rate, each notifying AlarmTopicArn when one is given.
func checkAlarms(p *parsed) []string {
	alarms, ids := p.resources("AWS::CloudWatch::Alarm")
	var authorizerFailures, api5xx bool
	var problems []string
	for _, id := range ids {
		props := obj(alarms[id]["Properties"])
		if props["Namespace"] == "APITokens" && props["MetricName"] == "AuthorizerDecisions" {
			dims := show(props["Dimensions"])
			authorizerFailures = strings.Contains(dims, `{"Name":"outcome","Value":"failed"}`) &&
				strings.Contains(dims, `{"Name":"functionName","Value":{"Ref":"AuthorizerFunction"}}`)
		}
		if m := show(props["Metrics"]); strings.Contains(m, `"MetricName":"5xx"`) && strings.Contains(m, `"MetricName":"Count"`) && strings.Contains(m, `{"Ref":"Api"}`) {
			api5xx = true
		}
		want := `{"Fn::If":["NotifyAlarms",[{"Ref":"AlarmTopicArn"}],{"Ref":"AWS::NoValue"}]}`
		if got := show(props["AlarmActions"]); got != want {
			problems = append(problems, fmt.Sprintf("%s: AlarmActions got %s, want AlarmTopicArn when given", id, got))
		}
	}
	if !authorizerFailures {
		problems = append(problems, "no alarm on the authorizer's failed decisions (APITokens AuthorizerDecisions, outcome failed, functionName !Ref AuthorizerFunction)")
	}
	if !api5xx {
		problems = append(problems, "no alarm on the API's 5xx rate (AWS/ApiGateway 5xx over Count of !Ref Api)")
	}
	return problems
}

// keyRingDefinition is the SHA-256 of the key ring secret's definition as written in
// template.yaml (its JSON, keys sorted). CloudFormation generates a new value, and so a new
// ring, whenever GenerateSecretString changes, wiping every version that make rotate-keyring
// added: no key could then be checked or revealed. Keep the definition as it is; if it really
// must change, read docs/deploying.md ("Edits that replace data") first, then update the sum.
const keyRingDefinition = "1c03984630fb90f4651f4914c98564cfa6b921a7d01ce041ac130788fd0aecdf"

// TestKeyRingDefinitionUnchanged catches any edit of the secret's definition.
func TestKeyRingDefinitionUnchanged(t *testing.T) {
	p, _ := loadTemplate(t)
	if got := definitionSum(p, samtemplate.SecretResource); got != keyRingDefinition {
		t.Errorf("%s's definition changed (sum %s, want %s). A changed GenerateSecretString makes CloudFormation generate a new key ring over the rotated one, and every key stops working: leave it as it was (docs/deploying.md)", samtemplate.SecretResource, got, keyRingDefinition)
	}
}

func definitionSum(p *parsed, id string) string {
	b, _ := json.Marshal(obj(p.raw["Resources"])[id]) // encoding/json sorts map keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestDeployChecksCatchBrokenTemplates breaks a copy of template.yaml in one place at a time and
// wants the checks of this file to report it.
func TestDeployChecksCatchBrokenTemplates(t *testing.T) {
	runTemplateBreaks(t, []templateBreak{
		{"client may write the environment", func(t *testing.T, raw map[string]any) {
			props := dig(t, raw, "Resources", "DashboardClient", "Properties")
			props["WriteAttributes"] = append(list(props["WriteAttributes"]), environmentAttr)
		}, "DashboardClient: WriteAttributes has custom:environment_id"},
		{"client without WriteAttributes", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "DashboardClient", "Properties"), "WriteAttributes")
		}, "DashboardClient: no WriteAttributes"},
		{"second client writes the environment", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources")["OtherClient"] = map[string]any{"Type": "AWS::Cognito::UserPoolClient", "Properties": map[string]any{
				"UserPoolId": map[string]any{"Ref": userPool}, "GenerateSecret": false, "AllowedOAuthFlows": []any{"code"},
				"CallbackURLs": []any{"x"}, "LogoutURLs": []any{"x"}, "WriteAttributes": []any{"email", environmentAttr}}}
		}, "OtherClient: WriteAttributes has custom:environment_id"},
		{"client with a secret and the implicit flow", func(t *testing.T, raw map[string]any) {
			props := dig(t, raw, "Resources", "DashboardClient", "Properties")
			props["GenerateSecret"], props["AllowedOAuthFlows"] = true, []any{"code", "implicit"}
		}, "DashboardClient: GenerateSecret true"},
		{"no environment attribute", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", userPool, "Properties")["Schema"] = []any{}
		}, "UserPool: Schema has no custom:environment_id"},
		{"self sign-up", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", userPool, "Properties"), "AdminCreateUserConfig")
		}, "UserPool: anyone may sign up"},
		{"issuer typed in", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "Api", "Properties", "Auth", "Authorizers", sessionAuthorizer, "JwtConfiguration")["issuer"] = map[string]any{"Ref": "JwtIssuer"}
		}, "JWT authorizer issuer got"},
		{"audience typed in", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "Api", "Properties", "Auth", "Authorizers", sessionAuthorizer, "JwtConfiguration")["audience"] = map[string]any{"Ref": "JwtAudience"}
		}, "JWT authorizer audience got"},
		{"bring your own by default", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Parameters", "IdentityProvider")["Default"] = "existing"
		}, `parameter IdentityProvider: Default got "existing"`},
		{"example issuer", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Parameters", "JwtIssuer")["Default"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE"
		}, "parameter JwtIssuer: Default \"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE\" is an example value"},
		{"example origin", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Parameters", "CorsAllowedOrigins")["Default"] = "https://app.example.com"
		}, "parameter CorsAllowedOrigins: Default \"https://app.example.com\" is an example value"},
		{"example audience", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Parameters", "JwtAudience")["Default"] = "apitokens-dashboard"
		}, "parameter JwtAudience: Default \"apitokens-dashboard\" is an example value"},
		{"no rule for the issuer", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Rules"), "ExistingProviderNamed")
		}, "parameter JwtIssuer: no rule refuses it empty"},
		{"function logs to Lambda's own group", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "MeFunction", "Properties"), "LoggingConfig")
		}, "MeFunction: LoggingConfig.LogGroup is not a !Ref"},
		{"log group kept forever", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "MeLogGroup", "Properties"), "RetentionInDays")
		}, "MeFunction: log group MeLogGroup has RetentionInDays null"},
		{"two functions, one log group", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "MeFunction", "Properties", "LoggingConfig")["LogGroup"] = map[string]any{"Ref": "AuthorizerLogGroup"}
		}, "log group AuthorizerLogGroup is also"},
		{"retention default", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Parameters", retentionParam)["Default"] = 3653
		}, "parameter LogRetentionDays: Default got 3653, want 30"},
		{"access log with the Authorization header", func(t *testing.T, raw map[string]any) {
			s := dig(t, raw, "Resources", "Api", "Properties", "AccessLogSettings")
			s["Format"] = strings.Replace(s["Format"].(string), `{`, `{"auth":"$context.authorization",`, 1)
		}, "Api: access log Format names the Authorization header"},
		{"access log without the token id", func(t *testing.T, raw map[string]any) {
			s := dig(t, raw, "Resources", "Api", "Properties", "AccessLogSettings")
			s["Format"] = strings.Replace(s["Format"].(string), `$context.authorizer.tokenId`, `-`, 1)
		}, "Api: access log has no $context.authorizer.tokenId"},
		{"access log as text", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "Api", "Properties", "AccessLogSettings")["Format"] = "$context.requestId $context.status"
		}, "Api: access log Format, its variables filled in, is not a JSON object"},
		{"access log kept forever", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "ApiAccessLogGroup", "Properties"), "RetentionInDays")
		}, "Api access log: log group ApiAccessLogGroup has RetentionInDays null"},
		{"no access log", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "Api", "Properties"), "AccessLogSettings")
		}, "Api: no AccessLogSettings"},
		{"no authorizer alarm", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources"), "AuthorizerFailuresAlarm")
		}, "no alarm on the authorizer's failed decisions"},
		{"no 5xx alarm", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources"), "Api5xxAlarm")
		}, "no alarm on the API's 5xx rate"},
		{"alarm that notifies nobody", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "Api5xxAlarm", "Properties"), "AlarmActions")
		}, "Api5xxAlarm: AlarmActions got null"},
	})

	// The secret's sum sees any edit of its definition, the one in the issue first.
	orig, root := loadTemplate(t)
	edits := map[string]func(raw map[string]any){
		"GenerateSecretString": func(raw map[string]any) {
			dig(t, raw, "Resources", samtemplate.SecretResource, "Properties", "GenerateSecretString")["ExcludeCharacters"] = "O0"
		},
		"Description": func(raw map[string]any) {
			dig(t, raw, "Resources", samtemplate.SecretResource, "Properties")["Description"] = "another"
		},
		"Name": func(raw map[string]any) {
			dig(t, raw, "Resources", samtemplate.SecretResource, "Properties")["Name"] = "apitokens-keyring"
		},
	}
	for name, edit := range edits {
		raw := clone(t, orig.raw)
		edit(raw)
		if definitionSum(writeAndLoad(t, raw, root), samtemplate.SecretResource) == definitionSum(orig, samtemplate.SecretResource) {
			t.Errorf("an edit of the secret's %s leaves its sum as it was", name)
		}
	}
}

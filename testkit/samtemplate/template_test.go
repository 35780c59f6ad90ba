package samtemplate_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// The deployment rules of template.yaml (docs/deploying.md), written as checks over a parsed template
// so that TestChecksCatchBrokenTemplates can show each one failing on a broken copy.

const (
	apiKeyAuthorizer  = "ApiKey"
	authorizerFuncRef = "AuthorizerFunction.Arn"
	// publicRoute is the one route without an authorizer: GitHub's secret scanning posts its
	// reports with no credentials, and the handler checks their signature.
	publicRoute = "POST /v1/secret-scanning/github"
)

// parsed is one template read twice: typed by samtemplate.Open, where goformation resolves
// intrinsic functions (a Ref to a resource becomes nil), and raw, where they are kept, for the
// checks that must see which resource a Ref, GetAtt or Sub names.
type parsed struct {
	tmpl *samtemplate.Template
	raw  map[string]any
	root string // the folder that holds functions/
}

func load(path, root string) (*parsed, error) {
	tmpl, err := samtemplate.Open(path)
	if err != nil {
		return nil, err
	}
	return &parsed{tmpl: tmpl, raw: tmpl.Raw(), root: root}, nil
}

// resources returns the raw resources of type typ, by logical id, and their ids sorted.
func (p *parsed) resources(typ string) (map[string]map[string]any, []string) {
	out := map[string]map[string]any{}
	for id, r := range obj(p.raw["Resources"]) {
		if obj(r)["Type"] == typ {
			out[id] = obj(r)
		}
	}
	ids := make([]string, 0, len(out))
	for id := range out {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return out, ids
}

type check struct {
	name string
	run  func(*parsed) []string
}

var checks = []check{
	{"functions", checkFunctions},
	{"policies", checkPolicies},
	{"routes", checkRoutes},
	{"table", checkTable},
	{"secret", checkSecret},
	{"outputs", checkOutputs},
	{"identity provider", checkIdentityProvider},
	{"parameters", checkParameters},
	{"logs", checkLogs},
	{"access log", checkAccessLog},
	{"alarms", checkAlarms},
	{"parameter patterns", checkParameterPatterns},
	{"hosted domain", checkHostedDomain},
	{"retained", checkRetained},
	{"authorizer update", checkAuthorizerUpdate},
	{"key authorizer identity", checkKeyIdentity},
	{"owner left", checkOwnerLeft},
}

func runChecks(p *parsed) []string {
	var problems []string
	for _, c := range checks {
		problems = append(problems, c.run(p)...)
	}
	return problems
}

var codeURIPattern = regexp.MustCompile(`^functions/([a-z0-9]+)/$`)

// checkFunctions checks every function, with Globals.Function applied the way SAM applies it (a
// function's own value wins): arm64, provided.al2023, Handler bootstrap, BuildMethod go1.x, and
// a CodeUri of its own under functions/ that exists.
func checkFunctions(p *parsed) []string {
	var problems []string
	fns := p.tmpl.GetAllServerlessFunctionResources()
	if len(fns) == 0 {
		return []string{"no AWS::Serverless::Function in the template"}
	}
	g, err := p.tmpl.GetServerlessGlobalFunction()
	if err != nil {
		g = nil // no Globals.Function: every value must be on the function
	}
	names := make([]string, 0, len(fns))
	for name := range fns {
		names = append(names, name)
	}
	slices.Sort(names)
	codeURIs := map[string]string{}
	for _, name := range names {
		f := fns[name]
		arch := f.Architectures
		if arch == nil && g != nil && g.Architectures != nil {
			arch = *g.Architectures
		}
		if !slices.Equal(arch, []string{"arm64"}) {
			problems = append(problems, fmt.Sprintf("%s: Architectures got %v, want [arm64]", name, arch))
		}
		runtime, handler := f.Runtime, f.Handler
		if g != nil {
			runtime, handler = or(runtime, g.Runtime), or(handler, g.Handler)
		}
		if deref(runtime) != "provided.al2023" {
			problems = append(problems, fmt.Sprintf("%s: Runtime got %q, want provided.al2023", name, deref(runtime)))
		}
		if deref(handler) != "bootstrap" {
			problems = append(problems, fmt.Sprintf("%s: Handler got %q, want bootstrap", name, deref(handler)))
		}
		if m := f.AWSCloudFormationMetadata["BuildMethod"]; m != "go1.x" {
			problems = append(problems, fmt.Sprintf("%s: Metadata BuildMethod got %v, want go1.x", name, m))
		}
		var uri string
		if f.CodeUri != nil {
			uri = deref(f.CodeUri.String)
		}
		match := codeURIPattern.FindStringSubmatch(uri)
		switch {
		case match == nil:
			problems = append(problems, fmt.Sprintf("%s: CodeUri got %q, want functions/<name>/", name, uri))
		case codeURIs[uri] != "":
			problems = append(problems, fmt.Sprintf("%s: CodeUri %s is also %s's, want one folder per function", name, uri, codeURIs[uri]))
		default:
			codeURIs[uri] = name
			if fi, err := os.Stat(filepath.Join(p.root, "functions", match[1])); err != nil || !fi.IsDir() {
				problems = append(problems, fmt.Sprintf("%s: CodeUri %s is not a folder of the repository", name, uri))
			}
		}
	}
	return problems
}

// checkPolicies checks that every function's permissions are inline statements that allow named
// actions on the table, one of its indexes or the key ring secret, and nothing else.
func checkPolicies(p *parsed) []string {
	var problems []string
	table, err := p.tmpl.CreateTableInput("t")
	if err != nil {
		return []string{err.Error()}
	}
	allowed := []string{samtemplate.TableResource, samtemplate.SecretResource}
	for _, g := range table.GlobalSecondaryIndexes {
		allowed = append(allowed, samtemplate.TableResource+"/index/"+aws.ToString(g.IndexName))
	}
	fns, ids := p.resources("AWS::Serverless::Function")
	for _, id := range ids {
		props := obj(fns[id]["Properties"])
		if role, ok := props["Role"]; ok {
			problems = append(problems, fmt.Sprintf("%s: Role %s is set, want the role SAM makes from Policies", id, show(role)))
		}
		for _, pol := range list(props["Policies"]) {
			doc := obj(pol)
			if doc == nil || doc["Statement"] == nil {
				problems = append(problems, fmt.Sprintf("%s: policy %s is not an inline policy document, want statements scoped to the table and the secret", id, show(pol)))
				continue
			}
			for i, s := range list(doc["Statement"]) {
				st := obj(s)
				where := fmt.Sprintf("%s: statement %d", id, i+1)
				if st["Effect"] != "Allow" {
					problems = append(problems, fmt.Sprintf("%s: Effect got %v, want Allow", where, st["Effect"]))
				}
				for _, k := range []string{"NotAction", "NotResource"} {
					if _, ok := st[k]; ok {
						problems = append(problems, fmt.Sprintf("%s: has %s, want Action and Resource only", where, k))
					}
				}
				actions := list(st["Action"])
				if len(actions) == 0 {
					problems = append(problems, where+": no Action")
				}
				for _, a := range actions {
					if s, ok := a.(string); !ok || s == "" || strings.Contains(s, "*") {
						problems = append(problems, fmt.Sprintf("%s: Action %s, want a named action, no \"*\"", where, show(a)))
					}
				}
				resources := list(st["Resource"])
				if len(resources) == 0 {
					problems = append(problems, where+": no Resource")
				}
				for _, r := range resources {
					if g := p.tmpl.GrantResource(r); !slices.Contains(allowed, g) && g != samtemplate.EventsQueueResource {
						problems = append(problems, fmt.Sprintf("%s: Resource %s, want the table's ARN, an index's ARN (%s) the key ring secret or the events queue", where, show(r), strings.Join(allowed[2:], ", ")))
					}
				}
			}
		}
	}
	return problems
}

// checkRoutes checks that every HttpApi route is on a template HttpApi and has an authorizer: the
// JWT one for the management routes (/v1/tokens...), the ApiKey Lambda authorizer for the routes
// integrations call (/v1/me, /v1/hooks/...); and that there is no $default route. Only
// publicRoute has none, and its API must set a throttling of its own.
func checkRoutes(p *parsed) []string {
	var problems []string
	apis, _ := p.resources("AWS::Serverless::HttpApi")
	fns, ids := p.resources("AWS::Serverless::Function")
	routes := 0
	for _, id := range ids {
		events := obj(obj(fns[id]["Properties"])["Events"])
		evNames := make([]string, 0, len(events))
		for n := range events {
			evNames = append(evNames, n)
		}
		slices.Sort(evNames)
		for _, evName := range evNames {
			ev := obj(events[evName])
			props := obj(ev["Properties"])
			method, _ := props["Method"].(string)
			if method == "" {
				method = "ANY" // SAM's default
			}
			path, _ := props["Path"].(string)
			where := fmt.Sprintf("%s: event %s (%s %s)", id, evName, method, path)
			switch ev["Type"] {
			case "HttpApi":
			case "Api":
				problems = append(problems, where+": a REST API event, want HttpApi")
				continue
			default:
				continue
			}
			routes++
			if path == "" || path == "$default" {
				problems = append(problems, where+": a $default (catch-all) route, want an explicit path")
				continue
			}
			apiID, _ := obj(props["ApiId"])["Ref"].(string)
			api, ok := apis[apiID]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: ApiId %s is not an HttpApi of the template, want !Ref to one (SAM would add an implicit API without authorizers)", where, show(props["ApiId"])))
				continue
			}
			auth := obj(obj(api["Properties"])["Auth"])
			name, _ := obj(props["Auth"])["Authorizer"].(string)
			if name == "" {
				name, _ = auth["DefaultAuthorizer"].(string)
			}
			if method+" "+path == publicRoute {
				switch {
				case name != "" && name != "NONE":
					problems = append(problems, fmt.Sprintf("%s: authorizer got %s, want none (GitHub calls it without credentials; the signature authenticates it)", where, name))
				case obj(obj(api["Properties"])["DefaultRouteSettings"])["ThrottlingRateLimit"] == nil:
					problems = append(problems, fmt.Sprintf("%s: %s sets no throttling of its own, want a low one for a public route", where, apiID))
				}
				continue
			}
			if name == "" || name == "NONE" {
				problems = append(problems, where+": no authorizer")
				continue
			}
			authorizer := obj(obj(auth["Authorizers"])[name])
			if authorizer == nil {
				problems = append(problems, fmt.Sprintf("%s: authorizer %s is not one of %s's", where, name, apiID))
				continue
			}
			switch {
			case path == "/v1/tokens" || strings.HasPrefix(path, "/v1/tokens/") || path == "/v1/policy" || strings.HasPrefix(path, "/v1/users/"):
				if authorizer["JwtConfiguration"] == nil {
					problems = append(problems, fmt.Sprintf("%s: authorizer got %s, want the JWT authorizer (a management route)", where, name))
				}
			case path == "/v1/me" || strings.HasPrefix(path, "/v1/hooks/") || path == "/v1/subscriptions" || strings.HasPrefix(path, "/v1/subscriptions/"):
				if name != apiKeyAuthorizer || getAtt(obj(authorizer["FunctionArn"])["Fn::GetAtt"]) != authorizerFuncRef {
					problems = append(problems, fmt.Sprintf("%s: authorizer got %s, want %s, the Lambda authorizer of %s (an integration route)", where, name, apiKeyAuthorizer, authorizerFuncRef))
				}
			default:
				problems = append(problems, where+": neither a management route (/v1/tokens..., /v1/policy, /v1/users/...) nor an integration route (/v1/me, /v1/hooks/...)")
			}
		}
	}
	if routes == 0 {
		problems = append(problems, "no HttpApi route in the template")
	}
	return problems
}

// checkTable checks the table's protection: point-in-time recovery, retained on delete and on
// replacement, encrypted, with TTL on the attribute ttl.
func checkTable(p *parsed) []string {
	tbl, err := p.tmpl.GetDynamoDBTableWithName(samtemplate.TableResource)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", samtemplate.TableResource, err)}
	}
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, samtemplate.TableResource+": "+fmt.Sprintf(format, args...))
	}
	if s := tbl.PointInTimeRecoverySpecification; s == nil || s.PointInTimeRecoveryEnabled == nil || !*s.PointInTimeRecoveryEnabled {
		add("point-in-time recovery is off, want PointInTimeRecoveryEnabled: true")
	}
	if got := string(tbl.AWSCloudFormationDeletionPolicy); got != "Retain" {
		add("DeletionPolicy got %q, want Retain", got)
	}
	if got := string(tbl.AWSCloudFormationUpdateReplacePolicy); got != "Retain" {
		add("UpdateReplacePolicy got %q, want Retain", got)
	}
	if s := tbl.TimeToLiveSpecification; s == nil || !s.Enabled || deref(s.AttributeName) != "ttl" {
		add("TTL got %s, want enabled on attribute ttl", show(s))
	}
	if s := tbl.SSESpecification; s == nil || !s.SSEEnabled {
		add("server-side encryption is off, want SSESpecification SSEEnabled: true")
	}
	return problems
}

// checkSecret checks that the key ring is generated the way shared/keyring reads it: a JSON
// object {"current":"k1"} with k1 set to 64 letters and digits.
func checkSecret(p *parsed) []string {
	s, err := p.tmpl.GetSecretsManagerSecretWithName(samtemplate.SecretResource)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", samtemplate.SecretResource, err)}
	}
	g := s.GenerateSecretString
	if g == nil {
		return []string{samtemplate.SecretResource + ": not generated, want GenerateSecretString"}
	}
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, samtemplate.SecretResource+": "+fmt.Sprintf(format, args...))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(deref(g.SecretStringTemplate)), &doc); err != nil || len(doc) != 1 || doc["current"] != "k1" {
		add(`SecretStringTemplate got %q, want {"current":"k1"}`, deref(g.SecretStringTemplate))
	}
	if got := deref(g.GenerateStringKey); got != "k1" {
		add("GenerateStringKey got %q, want k1", got)
	}
	if g.PasswordLength == nil || *g.PasswordLength != 64 {
		add("PasswordLength got %s, want 64", show(g.PasswordLength))
	}
	if g.ExcludePunctuation == nil || !*g.ExcludePunctuation {
		add("ExcludePunctuation got %s, want true", show(g.ExcludePunctuation))
	}
	return problems
}

// checkOutputs checks the four outputs other stacks and the operators rely on, and what each
// one names.
func checkOutputs(p *parsed) []string {
	want := []struct {
		name string
		ok   func(v any) bool
		what string
	}{
		{"ApiUrl", func(v any) bool {
			sub, _ := obj(v)["Fn::Sub"].(string)
			return strings.HasPrefix(sub, "https://${Api}.execute-api.")
		}, "!Sub https://${Api}.execute-api..."},
		{"TableName", func(v any) bool { return obj(v)["Ref"] == samtemplate.TableResource }, "!Ref " + samtemplate.TableResource},
		{"KeyRingSecretArn", func(v any) bool { return obj(v)["Ref"] == samtemplate.SecretResource }, "!Ref " + samtemplate.SecretResource},
		{"AuthorizerFunctionArn", func(v any) bool { return getAtt(obj(v)["Fn::GetAtt"]) == authorizerFuncRef }, "!GetAtt " + authorizerFuncRef},
	}
	var problems []string
	for _, w := range want {
		if _, ok := p.tmpl.Outputs[w.name]; !ok {
			problems = append(problems, fmt.Sprintf("output %s is missing", w.name))
			continue
		}
		v := obj(obj(p.raw["Outputs"])[w.name])["Value"]
		if !w.ok(v) {
			problems = append(problems, fmt.Sprintf("output %s got %s, want %s", w.name, show(v), w.what))
		}
	}
	return problems
}

func TestTemplate(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	p, err := load(filepath.Join(root, "template.yaml"), root)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, problem := range c.run(p) {
				t.Error(problem)
			}
		})
	}
}

// TestChecksCatchBrokenTemplates breaks a copy of template.yaml in one place at a time and
// wants the checks to report it, so that a check that stopped looking cannot pass unnoticed.
func TestChecksCatchBrokenTemplates(t *testing.T) {
	orig, root := loadTemplate(t)

	// The copies are written as JSON; the unbroken one must read back with the same findings.
	if got, want := runChecks(writeAndLoad(t, orig.raw, root)), runChecks(orig); !slices.Equal(got, want) {
		t.Fatalf("the unbroken copy: got %q, want %q", got, want)
	}

	runTemplateBreaks(t, []templateBreak{
		{"route without authorizer", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "CreateTokenFunction", "Properties", "Events", "Api", "Properties")["Auth"] = map[string]any{"Authorizer": "NONE"}
		}, "CreateTokenFunction: event Api (POST /v1/tokens): no authorizer"},
		{"the public route at another path", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "ReportLeakFunction", "Properties", "Events", "Api", "Properties")["Path"] = "/v1/secret-scanning/gitlab"
		}, "ReportLeakFunction: event Api (POST /v1/secret-scanning/gitlab): no authorizer"},
		{"another route on the public API", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "GetTokenFunction", "Properties", "Events", "Api", "Properties")["ApiId"] = map[string]any{"Ref": "SecretScanningApi"}
		}, "GetTokenFunction: event Api (GET /v1/tokens/{id}): no authorizer"},
		{"the public route behind the JWT authorizer", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "ReportLeakFunction", "Properties", "Events", "Api", "Properties")["ApiId"] = map[string]any{"Ref": "Api"}
		}, "ReportLeakFunction: event Api (POST /v1/secret-scanning/github): authorizer got Session, want none"},
		{"the public route unthrottled", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "SecretScanningApi", "Properties"), "DefaultRouteSettings")
		}, "ReportLeakFunction: event Api (POST /v1/secret-scanning/github): SecretScanningApi sets no throttling of its own"},
		{"API without default authorizer", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "Api", "Properties", "Auth"), "DefaultAuthorizer")
		}, "GetTokenFunction: event Api (GET /v1/tokens/{id}): no authorizer"},
		{"route on an implicit API", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "GetTokenFunction", "Properties", "Events", "Api", "Properties"), "ApiId")
		}, "GetTokenFunction: event Api (GET /v1/tokens/{id}): ApiId null is not an HttpApi"},
		{"key authorizer cache without the route", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "Api", "Properties", "Auth", "Authorizers", "ApiKey", "Identity")["Context"] = []any{"identity.sourceIp"}
		}, "identity context got [identity.sourceIp], want $context.routeKey among them"},
		{"owner left without deletes", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "OwnerLeftFunction", "Properties", "Events", "UserLeft", "Properties", "Pattern", "detail")["eventName"] = []any{"AdminDisableUser"}
		}, "rule's eventName got [AdminDisableUser], want AdminDeleteUser among them"},
		{"integration route on the JWT authorizer", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "MeFunction", "Properties", "Events", "Api", "Properties"), "Auth")
		}, "MeFunction: event Api (GET /v1/me): authorizer got Session, want ApiKey"},
		{"management route on the key authorizer", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "ListTokensFunction", "Properties", "Events", "Api", "Properties")["Auth"] = map[string]any{"Authorizer": apiKeyAuthorizer}
		}, "ListTokensFunction: event Api (GET /v1/tokens): authorizer got ApiKey, want the JWT authorizer"},
		{"$default route", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "GetTokenFunction", "Properties", "Events", "Api", "Properties")["Path"] = "$default"
		}, "GetTokenFunction: event Api (GET $default): a $default (catch-all) route"},
		{"route without a path", func(t *testing.T, raw map[string]any) {
			props := dig(t, raw, "Resources", "GetTokenFunction", "Properties", "Events", "Api", "Properties")
			delete(props, "Path")
			delete(props, "Method")
		}, "GetTokenFunction: event Api (ANY ): a $default (catch-all) route"},
		{"route outside both groups", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "GetTokenFunction", "Properties", "Events", "Api", "Properties")["Path"] = "/v1/other"
		}, "GetTokenFunction: event Api (GET /v1/other): neither a management route"},
		{`"*" resource`, func(t *testing.T, raw map[string]any) {
			statement(t, raw, "GetTokenFunction", 0)["Resource"] = "*"
		}, `GetTokenFunction: statement 1: Resource "*"`},
		{`"*" action`, func(t *testing.T, raw map[string]any) {
			statement(t, raw, "GetTokenFunction", 0)["Action"] = "dynamodb:*"
		}, `GetTokenFunction: statement 1: Action "dynamodb:*"`},
		{"another table's ARN", func(t *testing.T, raw map[string]any) {
			statement(t, raw, "GetTokenFunction", 0)["Resource"] = map[string]any{"Fn::GetAtt": "OtherTable.Arn"}
		}, `GetTokenFunction: statement 1: Resource {"Fn::GetAtt":"OtherTable.Arn"}`},
		{"the table's name, not its ARN", func(t *testing.T, raw map[string]any) {
			statement(t, raw, "GetTokenFunction", 0)["Resource"] = map[string]any{"Ref": "TokensTable"}
		}, `GetTokenFunction: statement 1: Resource {"Ref":"TokensTable"}`},
		{"another index's ARN", func(t *testing.T, raw map[string]any) {
			statement(t, raw, "ListTokensFunction", 0)["Resource"] = map[string]any{"Fn::Sub": "${TokensTable.Arn}/index/*"}
		}, `ListTokensFunction: statement 1: Resource {"Fn::Sub":"${TokensTable.Arn}/index/*"}`},
		{"managed policy", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "GetTokenFunction", "Properties")["Policies"] = []any{"AmazonDynamoDBFullAccess"}
		}, `GetTokenFunction: policy "AmazonDynamoDBFullAccess" is not an inline policy document`},
		{"role made elsewhere", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "GetTokenFunction", "Properties")["Role"] = "arn:aws:iam::123456789012:role/admin"
		}, `GetTokenFunction: Role "arn:aws:iam::123456789012:role/admin" is set`},
		{"SAM policy template", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "GetTokenFunction", "Properties")["Policies"] = []any{map[string]any{"DynamoDBCrudPolicy": map[string]any{"TableName": map[string]any{"Ref": "TokensTable"}}}}
		}, "GetTokenFunction: policy {\"DynamoDBCrudPolicy\""},
		{"x86_64 in Globals", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Globals", "Function")["Architectures"] = []any{"x86_64"}
		}, "CreateTokenFunction: Architectures got [x86_64], want [arm64]"},
		{"x86_64 on one function", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "MeFunction", "Properties")["Architectures"] = []any{"x86_64"}
		}, "MeFunction: Architectures got [x86_64], want [arm64]"},
		{"another runtime", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "MeFunction", "Properties")["Runtime"] = "provided.al2"
		}, `MeFunction: Runtime got "provided.al2", want provided.al2023`},
		{"another handler", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Globals", "Function")["Handler"] = "main"
		}, `CreateTokenFunction: Handler got "main", want bootstrap`},
		{"no BuildMethod", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "MeFunction"), "Metadata")
		}, "MeFunction: Metadata BuildMethod got <nil>, want go1.x"},
		{"CodeUri of no folder", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "MeFunction", "Properties")["CodeUri"] = "functions/nosuchfunction/"
		}, "MeFunction: CodeUri functions/nosuchfunction/ is not a folder"},
		{"CodeUri outside functions/", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "MeFunction", "Properties")["CodeUri"] = "."
		}, `MeFunction: CodeUri got ".", want functions/<name>/`},
		{"two functions in one folder", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "MeFunction", "Properties")["CodeUri"] = "functions/create/"
		}, "MeFunction: CodeUri functions/create/ is also CreateTokenFunction's"},
		{"no point-in-time recovery", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "TokensTable", "Properties"), "PointInTimeRecoverySpecification")
		}, "TokensTable: point-in-time recovery is off"},
		{"table deleted with the stack", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "TokensTable")["DeletionPolicy"] = "Delete"
		}, `TokensTable: DeletionPolicy got "Delete", want Retain`},
		{"table deleted on replacement", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "TokensTable"), "UpdateReplacePolicy")
		}, `TokensTable: UpdateReplacePolicy got "", want Retain`},
		{"TTL on another attribute", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "TokensTable", "Properties", "TimeToLiveSpecification")["AttributeName"] = "expires"
		}, "TokensTable: TTL got"},
		{"no encryption", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "TokensTable", "Properties", "SSESpecification")["SSEEnabled"] = false
		}, "TokensTable: server-side encryption is off"},
		{"secret not generated", func(t *testing.T, raw map[string]any) {
			props := dig(t, raw, "Resources", "KeyRingSecret", "Properties")
			delete(props, "GenerateSecretString")
			props["SecretString"] = `{"current":"k1","k1":"fixed"}`
		}, "KeyRingSecret: not generated"},
		{"secret template", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "KeyRingSecret", "Properties", "GenerateSecretString")["SecretStringTemplate"] = `{"current":"k2"}`
		}, "KeyRingSecret: SecretStringTemplate got"},
		{"secret key", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "KeyRingSecret", "Properties", "GenerateSecretString")["GenerateStringKey"] = "k2"
		}, `KeyRingSecret: GenerateStringKey got "k2"`},
		{"short secret", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "KeyRingSecret", "Properties", "GenerateSecretString")["PasswordLength"] = 32
		}, "KeyRingSecret: PasswordLength got 32, want 64"},
		{"secret with punctuation", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", "KeyRingSecret", "Properties", "GenerateSecretString"), "ExcludePunctuation")
		}, "KeyRingSecret: ExcludePunctuation got null, want true"},
		{"no authorizer output", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Outputs"), "AuthorizerFunctionArn")
		}, "output AuthorizerFunctionArn is missing"},
		{"table output names the secret", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Outputs", "TableName")["Value"] = map[string]any{"Ref": samtemplate.SecretResource}
		}, `output TableName got {"Ref":"KeyRingSecret"}, want !Ref TokensTable`},
	})
}

// writeAndLoad writes raw as a JSON template into a temporary folder and reads it back; CodeUri
// folders are still looked for under root.
func writeAndLoad(t *testing.T, raw map[string]any, root string) *parsed {
	t.Helper()
	data, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "template.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := load(path, root)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func clone(t *testing.T, raw map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// dig returns the object at path in raw, failing the test when the template no longer has it.
func dig(t *testing.T, raw map[string]any, path ...string) map[string]any {
	t.Helper()
	var v any = raw
	for i, k := range path {
		v = obj(v)[k]
		if obj(v) == nil {
			t.Fatalf("template has no object at %s", strings.Join(path[:i+1], "."))
		}
	}
	return obj(v)
}

// statement returns the i-th statement of a function's first inline policy.
func statement(t *testing.T, raw map[string]any, function string, i int) map[string]any {
	t.Helper()
	pols := list(dig(t, raw, "Resources", function, "Properties")["Policies"])
	if len(pols) == 0 {
		t.Fatalf("%s has no policies", function)
	}
	sts := list(obj(pols[0])["Statement"])
	if i >= len(sts) || obj(sts[i]) == nil {
		t.Fatalf("%s's first policy has no statement %d", function, i+1)
	}
	return obj(sts[i])
}

// The raw template's readers, shared with the package.
var (
	obj    = samtemplate.Obj
	list   = samtemplate.List
	getAtt = samtemplate.GetAtt
)

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func or[T any](p, fallback *T) *T {
	if p != nil {
		return p
	}
	return fallback
}

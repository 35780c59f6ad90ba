package samtemplate_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"

	"github.com/apitokens/apitokens/shared/leakreport"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// What a later deploy, a sam delete or an edit of the stack could break (docs/deploying.md): the
// hosted sign-in's prefix, the keys URL of the secret scanning route, what is retained, and what
// the key authorizer may write.

const (
	domainPrefixParam = "CognitoDomainPrefix"
	keysURLParam      = "SecretScanningKeysUrl"
	adminGroup        = "UserPoolAdminGroup"
	hostedDomain      = "UserPoolDomain"
	hostedCondition   = "CreateHostedDomain"
)

// patternCases are values a parameter's AllowedPattern must admit and refuse.
type patternCases struct {
	admit, refuse []string
	why           string // what a wrongly admitted value would do
}

var parameterPatterns = map[string]patternCases{
	// Cognito's pattern for a prefix domain is ^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$
	// (CreateUserPoolDomain, API reference), and it refuses a prefix that holds one of its
	// reserved words anywhere: "Domain cannot contain reserved word: aws" (or amazon, cognito).
	domainPrefixParam: {
		admit: []string{"", "none", "apitokens-prod", "crm-signin-1", "a", "0", strings.Repeat("a", 63)},
		refuse: []string{"aws", "my-aws-signin", "newcognito", "cognito", "amazon", "amazonsignin", "signin-amazon",
			"Upper", "-x", "x-", "a_b", "a.b", strings.Repeat("a", 64), " none"},
		why: "which Cognito refuses: the deploy would fail at the domain",
	},
	keysURLParam: {
		admit:  []string{leakreport.DefaultKeysURL, "https://keys.internal.example/secret_scanning"},
		refuse: []string{"http://api.github.com/meta/public_keys/secret_scanning", "http://127.0.0.1:3000/keys", "https://", "ftp://keys.example/x", "https://a b/"},
		why:    "whoever can change what that fetch reads can forge leak reports",
	},
}

// checkParameterPatterns matches each parameter's AllowedPattern, as CloudFormation does (a Java
// regular expression: regexp2 reads the lookahead RE2 lacks), against the values it must admit and
// refuse; and checks that the local run's keys URL passes the report function's own check.
func checkParameterPatterns(p *parsed) []string {
	var problems []string
	params := obj(p.raw["Parameters"])
	for _, name := range []string{domainPrefixParam, keysURLParam} {
		c := parameterPatterns[name]
		pattern, _ := obj(params[name])["AllowedPattern"].(string)
		re, err := regexp2.Compile(pattern, regexp2.None)
		if err != nil || pattern == "" {
			problems = append(problems, fmt.Sprintf("parameter %s: AllowedPattern %q does not compile: %v", name, pattern, err))
			continue
		}
		for _, v := range c.admit {
			if ok, _ := re.MatchString(v); !ok {
				problems = append(problems, fmt.Sprintf("parameter %s: AllowedPattern refuses %q, want it admitted", name, v))
			}
		}
		for _, v := range c.refuse {
			if ok, _ := re.MatchString(v); ok {
				problems = append(problems, fmt.Sprintf("parameter %s: AllowedPattern admits %q, %s", name, v, c.why))
			}
		}
	}
	if d, _ := obj(params[keysURLParam])["Default"].(string); leakreport.CheckKeysURL(d) != nil {
		problems = append(problems, fmt.Sprintf("parameter %s: Default %q is refused by the report function", keysURLParam, d))
	}
	env := obj(obj(obj(obj(obj(p.raw["Resources"])["ReportLeakFunction"])["Properties"])["Environment"])["Variables"])
	if got := show(env[leakreport.KeysURLVariable]); got != `{"Ref":"`+keysURLParam+`"}` {
		problems = append(problems, fmt.Sprintf("ReportLeakFunction: %s got %s, want !Ref %s", leakreport.KeysURLVariable, got, keysURLParam))
	}
	return problems
}

// checkHostedDomain checks the two-step change of the prefix: the domain is made only when the
// stack makes the pool and the prefix is not "none", and the sign-in URL output goes with it.
func checkHostedDomain(p *parsed) []string {
	var problems []string
	// The template reader writes {"Condition":"CreateIdentityProvider"} as the name alone.
	want := `{"Fn::And":["CreateIdentityProvider",{"Fn::Not":[{"Fn::Equals":[{"Ref":"CognitoDomainPrefix"},"none"]}]}]}`
	if got := show(obj(p.raw["Conditions"])[hostedCondition]); got != want && got != strings.Replace(want, `"CreateIdentityProvider"`, `{"Condition":"CreateIdentityProvider"}`, 1) {
		problems = append(problems, fmt.Sprintf("condition %s got %s, want the pool made and %s not none", hostedCondition, got, domainPrefixParam))
	}
	if got := obj(obj(p.raw["Resources"])[hostedDomain])["Condition"]; got != hostedCondition {
		problems = append(problems, fmt.Sprintf("%s: Condition got %v, want %s (none removes the domain, the first of two deploys that change the prefix)", hostedDomain, got, hostedCondition))
	}
	if got := obj(obj(p.raw["Outputs"])["HostedSignInUrl"])["Condition"]; got != hostedCondition {
		problems = append(problems, fmt.Sprintf("output HostedSignInUrl: Condition got %v, want %s", got, hostedCondition))
	}
	return problems
}

// retainedTypes are the resources that hold data or people's access: a delete or a replacement
// keeps them (DeletionPolicy and UpdateReplacePolicy Retain).
var retainedTypes = []string{"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolGroup"}

// checkRetained checks that every resource of retainedTypes is retained on delete and on
// replacement.
func checkRetained(p *parsed) []string {
	var problems []string
	for _, typ := range retainedTypes {
		res, ids := p.resources(typ)
		if len(ids) == 0 {
			problems = append(problems, fmt.Sprintf("no %s in the template", typ))
		}
		for _, id := range ids {
			for _, policy := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
				if got := res[id][policy]; got != "Retain" {
					problems = append(problems, fmt.Sprintf("%s: %s got %v, want Retain (it holds data or people's access)", id, policy, got))
				}
			}
		}
	}
	return problems
}

// checkAuthorizerUpdate checks that the key authorizer's role may update only what it writes:
// tokenstore.LastUsedAttributes on partitions beginning with LastUsedPartitionPrefix
// (tokenstore.TouchLastUsed), and tokenstore.RefusalUsageAttributes on partitions beginning with
// UsagePartitionPrefix (the refusals it counts, tokenstore.AddUsage), with nothing read back.
// Every statement that allows dynamodb:UpdateItem must be one of the two, and lastUsedAt's must
// be there.
func checkAuthorizerUpdate(p *parsed) []string {
	var problems []string
	fn := obj(obj(p.raw["Resources"])["AuthorizerFunction"])
	grant := func(attributes []string, prefix string) map[string]string {
		return map[string]string{
			"ForAllValues:StringEquals": show(map[string]any{"dynamodb:Attributes": attributes}),
			"ForAllValues:StringLike":   show(map[string]any{"dynamodb:LeadingKeys": []string{prefix + "*"}}),
			"StringEqualsIfExists":      show(map[string]any{"dynamodb:ReturnValues": "NONE"}),
		}
	}
	lastUsed := grant(tokenstore.LastUsedAttributes(), tokenstore.LastUsedPartitionPrefix)
	refusals := grant(tokenstore.RefusalUsageAttributes(), tokenstore.UsagePartitionPrefix)
	lastUsedGranted := false
	for _, pol := range list(obj(fn["Properties"])["Policies"]) {
		for i, s := range list(obj(pol)["Statement"]) {
			st := obj(s)
			if !slices.Contains(list(st["Action"]), any("dynamodb:UpdateItem")) && st["Action"] != "dynamodb:UpdateItem" {
				continue
			}
			cond := obj(st["Condition"])
			// A statement on usage partitions is held to the refusals' grant, any other to lastUsedAt's.
			want, what := lastUsed, "only lastUsedAt on a token"
			if strings.Contains(show(cond["ForAllValues:StringLike"]), tokenstore.UsagePartitionPrefix) {
				want, what = refusals, "only refused counts on a usage item"
			} else {
				lastUsedGranted = true
			}
			for _, op := range slices.Sorted(maps.Keys(want)) {
				if got := show(cond[op]); got != want[op] {
					problems = append(problems, fmt.Sprintf("AuthorizerFunction: statement %d allows dynamodb:UpdateItem with %s %s, want %s (%s)", i+1, op, got, want[op], what))
				}
			}
			if len(cond) != len(want) {
				problems = append(problems, fmt.Sprintf("AuthorizerFunction: statement %d: conditions %s, want exactly %v", i+1, show(cond), want))
			}
		}
	}
	if !lastUsedGranted {
		problems = append(problems, "AuthorizerFunction: no statement allows dynamodb:UpdateItem, which lastUsedAt needs")
	}
	return problems
}

// TestProtectionChecksCatchBrokenTemplates breaks a copy of template.yaml in one place at a time
// and wants the checks above, and the access log's, to report it.
func TestProtectionChecksCatchBrokenTemplates(t *testing.T) {
	accessLog := func(t *testing.T, raw map[string]any, edit func(string) string) {
		s := dig(t, raw, "Resources", "Api", "Properties", "AccessLogSettings")
		s["Format"] = edit(s["Format"].(string))
	}
	runTemplateBreaks(t, []templateBreak{
		{"prefix pattern without the reserved words", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Parameters", domainPrefixParam)["AllowedPattern"] = "^(|none|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$"
		}, `parameter CognitoDomainPrefix: AllowedPattern admits "my-aws-signin"`},
		{"domain made whatever the prefix", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", hostedDomain)["Condition"] = createIdentity
		}, "UserPoolDomain: Condition got CreateIdentityProvider"},
		{"keys URL over http", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Parameters", keysURLParam)["AllowedPattern"] = "^https?://.+"
		}, `parameter SecretScanningKeysUrl: AllowedPattern admits "http://api.github.com/meta/public_keys/secret_scanning"`},
		{"keys URL typed in", func(t *testing.T, raw map[string]any) {
			dig(t, raw, "Resources", "ReportLeakFunction", "Properties", "Environment", "Variables")[leakreport.KeysURLVariable] = "http://keys.example/"
		}, "ReportLeakFunction: SECRET_SCANNING_KEYS_URL got"},
		{"admin group deleted with the stack", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", adminGroup), "DeletionPolicy")
		}, "UserPoolAdminGroup: DeletionPolicy got <nil>, want Retain"},
		{"admin group lost on a rename", func(t *testing.T, raw map[string]any) {
			delete(dig(t, raw, "Resources", adminGroup), "UpdateReplacePolicy")
		}, "UserPoolAdminGroup: UpdateReplacePolicy got <nil>, want Retain"},
		{"authorizer may update anything", func(t *testing.T, raw map[string]any) {
			delete(statement(t, raw, "AuthorizerFunction", 1), "Condition")
		}, "AuthorizerFunction: statement 2 allows dynamodb:UpdateItem with ForAllValues:StringEquals null"},
		{"authorizer may update the status", func(t *testing.T, raw map[string]any) {
			c := obj(statement(t, raw, "AuthorizerFunction", 1)["Condition"])
			obj(c["ForAllValues:StringEquals"])["dynamodb:Attributes"] = []any{"pk", "sk", "lastUsedAt", "status"}
		}, "AuthorizerFunction: statement 2 allows dynamodb:UpdateItem with ForAllValues:StringEquals"},
		{"authorizer may count more than refusals", func(t *testing.T, raw map[string]any) {
			c := obj(statement(t, raw, "AuthorizerFunction", 2)["Condition"])
			obj(c["ForAllValues:StringEquals"])["dynamodb:Attributes"] = []any{"pk", "sk", "kind", "gsi1pk", "gsi1sk", "ttl", "refused", "allowed"}
		}, "AuthorizerFunction: statement 3 allows dynamodb:UpdateItem with ForAllValues:StringEquals"},
		{"authorizer update beside GetItem", func(t *testing.T, raw map[string]any) {
			statement(t, raw, "AuthorizerFunction", 0)["Action"] = []any{"dynamodb:GetItem", "dynamodb:UpdateItem"}
		}, "AuthorizerFunction: statement 1 allows dynamodb:UpdateItem"},
		{"access log of a REST API variable", func(t *testing.T, raw map[string]any) {
			accessLog(t, raw, func(f string) string {
				return strings.Replace(f, `{`, `{"authorizerStatus":"$context.authorizer.status",`, 1)
			})
		}, "Api: access log variable $context.authorizer.status is not one the HTTP API documents"},
		{"access log of the error unquoted", func(t *testing.T, raw map[string]any) {
			accessLog(t, raw, func(f string) string {
				return strings.Replace(f, `$context.error.messageString`, `"$context.error.message"`, 1)
			})
		}, "Api: access log variable $context.error.message: use $context.error.messageString"},
		{"access log quoting messageString again", func(t *testing.T, raw map[string]any) {
			accessLog(t, raw, func(f string) string {
				return strings.Replace(f, `$context.error.messageString`, `"$context.error.messageString"`, 1)
			})
		}, "Api: access log Format, its variables filled in, is not a JSON object"},
		{"access log of the integration's error", func(t *testing.T, raw map[string]any) {
			accessLog(t, raw, func(f string) string {
				return strings.Replace(f, `{`, `{"integrationError":"$context.integrationErrorMessage",`, 1)
			})
		}, "Api: access log variable $context.integrationErrorMessage may hold a quote"},
		{"access log of the user agent", func(t *testing.T, raw map[string]any) {
			accessLog(t, raw, func(f string) string {
				return strings.Replace(f, `{`, `{"userAgent":"$context.identity.userAgent",`, 1)
			})
		}, "Api: access log variable $context.identity.userAgent may hold a quote"},
		{"secret scanning access log of a made-up key", func(t *testing.T, raw map[string]any) {
			s := dig(t, raw, "Resources", "SecretScanningApi", "Properties", "AccessLogSettings")
			s["Format"] = strings.Replace(s["Format"].(string), `$context.authorizer.tokenId`, `$context.authorizer.latency`, 1)
		}, "SecretScanningApi: access log variable $context.authorizer.latency is not one the HTTP API documents"},
	})
}

// templateBreak is one edit of a copy of template.yaml and the problem the checks must report.
type templateBreak struct {
	name   string
	mutate func(t *testing.T, raw map[string]any)
	want   string
}

// loadTemplate reads the repository's template.yaml; root is the folder that holds it.
func loadTemplate(t *testing.T) (p *parsed, root string) {
	t.Helper()
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	p, err = load(filepath.Join(root, "template.yaml"), root)
	if err != nil {
		t.Fatal(err)
	}
	return p, root
}

// runTemplateBreaks applies each break to its own copy of template.yaml and wants runChecks to
// report, among the problems the unbroken copy does not have, one that contains its want.
func runTemplateBreaks(t *testing.T, breaks []templateBreak) {
	t.Helper()
	orig, root := loadTemplate(t)
	known := map[string]bool{}
	for _, problem := range runChecks(writeAndLoad(t, orig.raw, root)) {
		known[problem] = true
	}
	for _, b := range breaks {
		t.Run(b.name, func(t *testing.T) {
			raw := clone(t, orig.raw)
			b.mutate(t, raw)
			var added []string
			for _, problem := range runChecks(writeAndLoad(t, raw, root)) {
				if !known[problem] {
					added = append(added, problem)
				}
			}
			if !slices.ContainsFunc(added, func(p string) bool { return strings.Contains(p, b.want) }) {
				t.Errorf("new problems got %q, want one that contains %q", added, b.want)
			}
		})
	}
}

package samtemplate_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/apitokens/apitokens/shared/apikey"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// openapi.yaml describes the API (docs/api.md). These checks keep it in step with
// template.yaml and with the code: the same routes, each with the security scheme of its
// authorizer, and every problem code the code can answer, under the status it answers it with.

// oasSchemeFor is the OpenAPI security scheme that stands for each authorizer of template.yaml.
var oasSchemeFor = map[string]string{
	"Session": "session", // the JWT authorizer of dashboard sessions
	"ApiKey":  "apiKey",  // the Lambda key authorizer
}

// oasMethods are the operation keys of an OpenAPI path item.
var oasMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oasCodeSources are the folders whose Go code answers problem codes.
var oasCodeSources = []string{"shared/fault", "shared/httpapi", "shared/handlers", "shared/access", "shared/cursor", "shared/tokenstore", "shared/permission", "shared/cidr", "shared/policy", "shared/meter"}

// oasErrorfPattern finds the codes the code answers: Errorf(http.StatusX, "code", ...),
// Errorf(400, "code", ...), fault.New(...) alike, and fault.Domain("text", http.StatusX, "code",
// ...) where a domain package defines its errors.
var oasErrorfPattern = regexp.MustCompile(`\b(?:Errorf|New|Domain)\(\s*(?:"[^"]*"\s*,\s*)?(?:http\.(Status\w+)|(\d{3}))\s*,\s*"([a-z0-9_]+)"`)

var oasStatusNames = map[string]int{
	"StatusBadRequest":            400,
	"StatusUnauthorized":          401,
	"StatusForbidden":             403,
	"StatusNotFound":              404,
	"StatusConflict":              409,
	"StatusRequestEntityTooLarge": 413,
	"StatusUnsupportedMediaType":  415,
	"StatusTooManyRequests":       429,
	"StatusInternalServerError":   500,
	"StatusServiceUnavailable":    503,
}

// templateRoutes returns the HttpApi routes of the template, "METHOD /path", with the name of
// each one's authorizer (the event's own, or the API's DefaultAuthorizer), as App reads them.
func templateRoutes(p *parsed) (map[string]string, []string) {
	app, err := p.tmpl.App(samtemplate.Options{})
	if err != nil {
		return nil, []string{fmt.Sprintf("template: %v", err)}
	}
	routes := map[string]string{}
	for _, r := range app.Routes {
		routes[r.Key()] = r.Authorizer
	}
	return routes, nil
}

// goProblemCodes returns every problem code the code can answer, with the statuses it answers it
// with.
func goProblemCodes(root string) (map[string]map[int]bool, error) {
	codes := map[string]map[int]bool{}
	for _, dir := range oasCodeSources {
		files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			for _, m := range oasErrorfPattern.FindAllStringSubmatch(string(src), -1) {
				status, ok := oasStatusNames[m[1]]
				if m[2] != "" {
					status, _ = strconv.Atoi(m[2])
					ok = true
				}
				if !ok {
					return nil, fmt.Errorf("%s: code %q with status http.%s, which this test does not know", f, m[3], m[1])
				}
				if codes[m[3]] == nil {
					codes[m[3]] = map[int]bool{}
				}
				codes[m[3]][status] = true
			}
		}
	}
	return codes, nil
}

// readOpenAPI reads a YAML document with string keys throughout (a response status such as 200
// may be written unquoted).
func readOpenAPI(path string) (map[string]any, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	m, ok := oasStringKeys(doc).(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not a YAML mapping", path)
	}
	return m, data, nil
}

func oasStringKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = oasStringKeys(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = oasStringKeys(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = oasStringKeys(e)
		}
		return x
	}
	return v
}

// oasResolve follows a local $ref ("#/components/...") until it reaches an object without one.
func oasResolve(doc map[string]any, v any) (map[string]any, error) {
	m := obj(v)
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, fmt.Errorf("$ref %s is not local", ref)
		}
		var cur any = doc
		for _, part := range strings.Split(ref[2:], "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			cur = obj(cur)[part]
		}
		if obj(cur) == nil {
			return nil, fmt.Errorf("$ref %s names nothing", ref)
		}
		m = obj(cur)
	}
	return nil, fmt.Errorf("$ref chain too long at %v", m["$ref"])
}

// oasCodeEnums collects the values of every `code` property's enum in a schema, without
// following $ref (the shared Problem schema lists every code; a response lists its own).
func oasCodeEnums(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "code" {
				for _, c := range list(obj(e)["enum"]) {
					if s, ok := c.(string); ok {
						into[s] = true
					}
				}
			}
			oasCodeEnums(e, into)
		}
	case []any:
		for _, e := range x {
			oasCodeEnums(e, into)
		}
	}
}

// checkOpenAPI checks the OpenAPI document at path against the template's routes (with their
// authorizers) and the code's problem codes (with their statuses).
func checkOpenAPI(path string, routes map[string]string, codes map[string]map[int]bool) []string {
	doc, data, err := readOpenAPI(path)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if got := fmt.Sprint(doc["openapi"]); got != "3.1.0" {
		add("openapi: got %q, want \"3.1.0\"", got)
	}

	// Examples must not look like real keys: the project scans for them.
	format, err := apikey.NewFormat(apikey.DefaultPrefix)
	if err != nil {
		return append(problems, err.Error())
	}
	if found := regexp.MustCompile(format.Pattern()).FindAllString(string(data), -1); len(found) > 0 {
		add("document holds %d string(s) that look like real API keys (%s); use an obviously fake placeholder such as \"cbk_…\"", len(found), format.Pattern())
	}

	// Security schemes.
	schemes := obj(obj(doc["components"])["securitySchemes"])
	wantSchemes := map[string]func(map[string]any) string{
		"session": func(s map[string]any) string {
			if s["type"] != "http" || s["scheme"] != "bearer" || s["bearerFormat"] != "JWT" {
				return fmt.Sprintf("got type %v scheme %v bearerFormat %v, want http bearer JWT", s["type"], s["scheme"], s["bearerFormat"])
			}
			return ""
		},
		"apiKey": func(s map[string]any) string {
			bf, _ := s["bearerFormat"].(string)
			if s["type"] != "http" || s["scheme"] != "bearer" || !strings.Contains(bf, apikey.DefaultPrefix) || !strings.Contains(bf, "49") {
				return fmt.Sprintf("got type %v scheme %v bearerFormat %q, want http bearer with a bearerFormat naming the %s prefix and 49 characters", s["type"], s["scheme"], bf, apikey.DefaultPrefix)
			}
			return ""
		},
	}
	for _, name := range slices.Sorted(maps.Keys(wantSchemes)) {
		s := obj(schemes[name])
		if s == nil {
			add("components.securitySchemes.%s: missing", name)
		} else if msg := wantSchemes[name](s); msg != "" {
			add("components.securitySchemes.%s: %s", name, msg)
		}
	}

	// Operations: the same set as the template's routes, each with its authorizer's scheme.
	ops := map[string]map[string]any{}
	paths := obj(doc["paths"])
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item := obj(paths[p])
		for _, m := range oasMethods {
			if op := obj(item[m]); op != nil {
				ops[strings.ToUpper(m)+" "+p] = op
			}
		}
	}
	got, want := slices.Sorted(maps.Keys(ops)), slices.Sorted(maps.Keys(routes))
	for _, k := range want {
		if ops[k] == nil {
			add("operation %s: missing from the document (got operations %v, want the template's routes %v)", k, got, want)
		}
	}
	for _, k := range got {
		if _, ok := routes[k]; !ok {
			add("operation %s: not a route of template.yaml (got operations %v, want the template's routes %v)", k, got, want)
		}
	}
	opIDs := map[string]string{}
	usedCodes := map[string]bool{}
	for _, k := range got {
		op := ops[k]
		id, _ := op["operationId"].(string)
		if id == "" {
			add("operation %s: no operationId", k)
		} else if prev, dup := opIDs[id]; dup {
			add("operation %s: operationId %s is also %s's", k, id, prev)
		}
		opIDs[id] = k
		if authorizer, ok := routes[k]; ok {
			wantScheme, known := oasSchemeFor[authorizer]
			var gotSchemes []string
			for _, req := range list(op["security"]) {
				gotSchemes = append(gotSchemes, slices.Sorted(maps.Keys(obj(req)))...)
			}
			sec, declared := op["security"]
			switch {
			case authorizer == "":
				// The public route: the document says so with an empty security list, which
				// overrides any default.
				if !declared || len(list(sec)) != 0 {
					add("operation %s: security got %v, want [] (the route has no authorizer)", k, gotSchemes)
				}
			case !known:
				add("operation %s: the template's authorizer %q has no security scheme in this test", k, authorizer)
			case len(gotSchemes) != 1 || gotSchemes[0] != wantScheme:
				add("operation %s: security got %v, want [%s] (the route's authorizer is %s)", k, gotSchemes, wantScheme, authorizer)
			case obj(schemes[wantScheme]) == nil:
				add("operation %s: security names %s, which components.securitySchemes does not define", k, wantScheme)
			case wantScheme == "apiKey":
				checkPermission(k, op, obj(obj(schemes["apiKey"])["x-permissions"]), add)
			}
		}
		responses := obj(op["responses"])
		if len(responses) == 0 {
			add("operation %s: no responses", k)
		}
		for _, status := range slices.Sorted(maps.Keys(responses)) {
			resp, err := oasResolve(doc, responses[status])
			if err != nil {
				add("operation %s: response %s: %v", k, status, err)
				continue
			}
			content := obj(resp["content"])
			problem := obj(content["application/problem+json"])
			if problem == nil {
				continue
			}
			listed := map[string]bool{}
			oasCodeEnums(problem["schema"], listed)
			if len(listed) == 0 {
				add("operation %s: response %s is a problem but lists no code", k, status)
			}
			n, _ := strconv.Atoi(status)
			for _, c := range slices.Sorted(maps.Keys(listed)) {
				usedCodes[c] = true
				if st, ok := codes[c]; ok && !st[n] {
					add("operation %s: response %s lists code %s, which the code answers with status %v", k, status, c, slices.Sorted(maps.Keys(st)))
				}
			}
		}
	}

	// Problem codes: the shared enum is exactly the code's codes, and each one is listed by
	// some operation.
	enum := map[string]bool{}
	for _, c := range list(obj(obj(obj(obj(obj(doc["components"])["schemas"])["Problem"])["properties"])["code"])["enum"]) {
		if s, ok := c.(string); ok {
			enum[s] = true
		}
	}
	wantCodes := slices.Sorted(maps.Keys(codes))
	gotCodes := slices.Sorted(maps.Keys(enum))
	for _, c := range wantCodes {
		if !enum[c] {
			add("code %s: the code answers it, but components.schemas.Problem.properties.code.enum lacks it (got %v, want %v)", c, gotCodes, wantCodes)
		}
		if !usedCodes[c] {
			add("code %s: the code answers it, but no operation's responses list it", c)
		}
	}
	for _, c := range gotCodes {
		if codes[c] == nil {
			add("code %s: in components.schemas.Problem.properties.code.enum, but the code never answers it (got %v, want %v)", c, gotCodes, wantCodes)
		}
	}
	return problems
}

// checkPermission checks that a key-guarded operation names the one permission of the catalogue
// (x-permissions of the apiKey scheme) it needs, or none and says x-any-key: the key authorizer
// reads its route table from these (shared/permission).
func checkPermission(k string, op, catalogue map[string]any, add func(string, ...any)) {
	var scopes []any
	for _, req := range list(op["security"]) {
		scopes = append(scopes, list(obj(req)["apiKey"])...)
	}
	anyKey, _ := op["x-any-key"].(bool)
	switch {
	case len(scopes) == 0 && !anyKey:
		add("operation %s: the key authorizer guards it, but it names no permission (and no x-any-key: true)", k)
	case len(scopes) > 1 || (len(scopes) == 1 && anyKey):
		add("operation %s: names permissions %v and x-any-key %v, want one permission or x-any-key", k, scopes, anyKey)
	case len(scopes) == 1:
		if name, _ := scopes[0].(string); catalogue[name] == nil {
			add("operation %s: names permission %v, which the apiKey scheme's x-permissions does not define", k, scopes[0])
		}
	}
}

// oasFixture is what the checks compare openapi.yaml with.
type oasFixture struct {
	root   string
	routes map[string]string
	codes  map[string]map[int]bool
}

func loadOASFixture(t *testing.T) oasFixture {
	t.Helper()
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	p, err := load(filepath.Join(root, "template.yaml"), root)
	if err != nil {
		t.Fatal(err)
	}
	routes, problems := templateRoutes(p)
	for _, pr := range problems {
		t.Error(pr)
	}
	if len(routes) == 0 {
		t.Fatal("template.yaml: no HttpApi route")
	}
	codes, err := goProblemCodes(root)
	if err != nil {
		t.Fatal(err)
	}
	// The regexp must keep finding the codes, including problem.go's mapping; if it stopped
	// matching, the comparison below would be empty and prove nothing.
	for _, c := range []string{"token_not_found", "internal_error", "invalid_name", "user_scope", "unknown_field"} {
		if codes[c] == nil {
			t.Fatalf("goProblemCodes found no %s in %v (got %v); has the Errorf form changed?", c, oasCodeSources, slices.Sorted(maps.Keys(codes)))
		}
	}
	return oasFixture{root: root, routes: routes, codes: codes}
}

func TestOpenAPI(t *testing.T) {
	f := loadOASFixture(t)
	t.Logf("template routes: %d; problem codes in the code: %d", len(f.routes), len(f.codes))
	for _, problem := range checkOpenAPI(filepath.Join(f.root, "openapi.yaml"), f.routes, f.codes) {
		t.Error(problem)
	}
}

// TestOpenAPICatchesBrokenDocuments breaks a copy of openapi.yaml in one place at a time and
// wants checkOpenAPI to report it, so that a check that stopped looking cannot pass unnoticed.
func TestOpenAPICatchesBrokenDocuments(t *testing.T) {
	f := loadOASFixture(t)
	orig, _, err := readOpenAPI(filepath.Join(f.root, "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(t *testing.T, doc map[string]any, path ...string) map[string]any {
		t.Helper()
		var v any = doc
		for i, k := range path {
			v = obj(v)[k]
			if obj(v) == nil {
				t.Fatalf("openapi.yaml has no object at %s", strings.Join(path[:i+1], "."))
			}
		}
		return obj(v)
	}
	// Built at run time so that this file holds nothing that looks like a key.
	realLooking := apikey.DefaultPrefix + strings.Repeat("A", 49)
	cases := []struct {
		name   string
		mutate func(t *testing.T, doc map[string]any)
		want   string
	}{
		{"operation missing", func(t *testing.T, doc map[string]any) {
			delete(at(t, doc, "paths", "/v1/tokens/{id}"), "delete")
		}, "operation DELETE /v1/tokens/{id}: missing"},
		{"path missing", func(t *testing.T, doc map[string]any) {
			delete(at(t, doc, "paths"), "/v1/hooks/events")
		}, "operation GET /v1/hooks/events: missing"},
		{"operation not in the template", func(t *testing.T, doc map[string]any) {
			item := at(t, doc, "paths", "/v1/tokens/{id}")
			item["put"] = item["patch"]
		}, "operation PUT /v1/tokens/{id}: not a route"},
		{"no security", func(t *testing.T, doc map[string]any) {
			delete(at(t, doc, "paths", "/v1/tokens", "post"), "security")
		}, "operation POST /v1/tokens: security got [], want [session]"},
		{"public route with a scheme", func(t *testing.T, doc map[string]any) {
			at(t, doc, "paths", "/v1/secret-scanning/github", "post")["security"] = []any{map[string]any{"session": []any{}}}
		}, "operation POST /v1/secret-scanning/github: security got [session], want []"},
		{"public route without its empty security", func(t *testing.T, doc map[string]any) {
			delete(at(t, doc, "paths", "/v1/secret-scanning/github", "post"), "security")
		}, "operation POST /v1/secret-scanning/github: security got [], want []"},
		{"key route with session", func(t *testing.T, doc map[string]any) {
			at(t, doc, "paths", "/v1/me", "get")["security"] = []any{map[string]any{"session": []any{}}}
		}, "operation GET /v1/me: security got [session], want [apiKey]"},
		{"key route without a permission", func(t *testing.T, doc map[string]any) {
			at(t, doc, "paths", "/v1/hooks/events", "get")["security"] = []any{map[string]any{"apiKey": []any{}}}
		}, "operation GET /v1/hooks/events: the key authorizer guards it, but it names no permission"},
		{"key route with an undefined permission", func(t *testing.T, doc map[string]any) {
			at(t, doc, "paths", "/v1/hooks/{source}", "post")["security"] = []any{map[string]any{"apiKey": []any{"deals:write"}}}
		}, "operation POST /v1/hooks/{source}: names permission deals:write, which the apiKey scheme's x-permissions does not define"},
		{"management route with key", func(t *testing.T, doc map[string]any) {
			at(t, doc, "paths", "/v1/tokens/{id}/reveal", "post")["security"] = []any{map[string]any{"apiKey": []any{}}}
		}, "operation POST /v1/tokens/{id}/reveal: security got [apiKey], want [session]"},
		{"scheme not JWT", func(t *testing.T, doc map[string]any) {
			at(t, doc, "components", "securitySchemes", "session")["bearerFormat"] = "opaque"
		}, "components.securitySchemes.session"},
		{"code missing from Problem", func(t *testing.T, doc map[string]any) {
			code := at(t, doc, "components", "schemas", "Problem", "properties", "code")
			code["enum"] = slices.DeleteFunc(slices.Clone(list(code["enum"])), func(c any) bool { return c == "owner_only" })
		}, "code owner_only: the code answers it, but components.schemas.Problem"},
		{"code nobody lists", func(t *testing.T, doc map[string]any) {
			resp := at(t, doc, "paths", "/v1/tokens/{id}/activate", "post", "responses", "409")
			resp["$ref"] = "#/components/responses/Conflict"
			delete(resp, "content")
			delete(resp, "description")
		}, "code token_expired: the code answers it, but no operation's responses list it"},
		{"code under the wrong status", func(t *testing.T, doc map[string]any) {
			code := at(t, doc, "components", "responses", "NoEnvironment", "content", "application/problem+json", "schema")
			code["allOf"] = []any{map[string]any{"properties": map[string]any{"code": map[string]any{"enum": []any{"no_environment", "token_not_found"}}}}}
		}, "response 403 lists code token_not_found, which the code answers with status [404]"},
		{"code the code never answers", func(t *testing.T, doc map[string]any) {
			code := at(t, doc, "components", "schemas", "Problem", "properties", "code")
			code["enum"] = append(slices.Clone(list(code["enum"])), "made_up")
		}, "code made_up: in components.schemas.Problem.properties.code.enum, but the code never answers it"},
		{"real-looking key", func(t *testing.T, doc map[string]any) {
			at(t, doc, "components", "examples", "TokenCreated", "value")["key"] = realLooking
		}, "look like real API keys"},
		{"old OpenAPI", func(t *testing.T, doc map[string]any) {
			doc["openapi"] = "3.0.3"
		}, `openapi: got "3.0.3", want "3.1.0"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := oasClone(t, orig)
			c.mutate(t, doc)
			data, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "openapi.yaml")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			problems := checkOpenAPI(path, f.routes, f.codes)
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					return
				}
			}
			t.Errorf("broken copy: got problems %q, want one containing %q", problems, c.want)
		})
	}
}

func oasClone(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := yaml.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return oasStringKeys(out).(map[string]any)
}

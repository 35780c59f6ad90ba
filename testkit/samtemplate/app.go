package samtemplate

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Fixed values that CloudFormation would supply for pseudo parameters and ARNs.
const (
	AccountID = "123456789012"
	Region    = "us-east-1"
)

// App is what the local run serves: functions, routes and authorizers.
type App struct {
	// Functions by logical id.
	Functions map[string]*Function
	// Routes in template order of their functions' logical ids, then event names.
	Routes []Route
	// JWTAuthorizers and LambdaAuthorizers by the names the HttpApi gives them.
	JWTAuthorizers    map[string]*JWTAuthorizer
	LambdaAuthorizers map[string]*LambdaAuthorizer
	// Parameters holds each template parameter's resolved value (default or override).
	Parameters map[string]string
}

// Function is one AWS::Serverless::Function with Globals.Function merged in.
type Function struct {
	LogicalID string
	// CodeDir is the absolute folder CodeUri names.
	CodeDir    string
	Runtime    string
	Handler    string
	Timeout    time.Duration
	MemorySize int
	// LogFormat, ApplicationLogLevel and SystemLogLevel come from LoggingConfig.
	LogFormat           string
	ApplicationLogLevel string
	SystemLogLevel      string
	// Environment holds Environment.Variables.
	Environment map[string]string
}

// Route is one HttpApi event of a function.
type Route struct {
	Method   string // upper case, or ANY
	Path     string // e.g. /v1/tokens/{id}
	Function string // logical id
	// Authorizer names the authorizer that guards the route; "" means none.
	Authorizer          string
	AuthorizationScopes []string
}

// Key returns the route key API Gateway uses, e.g. "GET /v1/tokens/{id}", or "$default".
func (r Route) Key() string {
	if r.Path == DefaultRoute {
		return DefaultRoute
	}
	return r.Method + " " + r.Path
}

// DefaultRoute is the path of an HttpApi event without one: the route that catches every
// request no other route matches.
const DefaultRoute = "$default"

// JWTAuthorizer is an HttpApi JWT authorizer.
type JWTAuthorizer struct {
	Name           string
	IdentitySource string
	Issuer         string
	Audience       []string
}

// LambdaAuthorizer is an HttpApi Lambda (REQUEST) authorizer.
type LambdaAuthorizer struct {
	Name string
	// Function is the logical id of the authorizer's function.
	Function string
	// IdentityHeaders are the request headers that form the identity source.
	IdentityHeaders []string
	// IdentityContext are the context variables that form the rest of it, as SAM's Identity
	// Context names them ("routeKey" for $context.routeKey).
	IdentityContext       []string
	ResultTTL             time.Duration
	PayloadFormatVersion  string
	EnableSimpleResponses bool
}

// Options adjusts how the template is read.
type Options struct {
	// Refs maps logical ids of resources to the value a Ref to them yields (the local table
	// name, the secret's ARN). A Ref to any other resource yields its logical id.
	Refs map[string]string
	// Parameters overrides parameter defaults.
	Parameters map[string]string
}

// Load reads the SAM template at path and resolves it as SAM deploys it (Open, then App).
func Load(path string, opts Options) (*App, error) {
	t, err := Open(path)
	if err != nil {
		return nil, err
	}
	return t.App(opts)
}

// App resolves the template the way SAM deploys it: every function with Globals merged in, the
// HttpApi routes its events declare, and the authorizers those routes use.
func (t *Template) App(opts Options) (*App, error) {
	path, data := t.path, t.data
	overrides := map[string]any{}
	for k, v := range opts.Parameters {
		overrides[k] = v
	}
	unconditional, err := withoutResourceConditions(data)
	if err != nil {
		return nil, fmt.Errorf("read template %s: %w", path, err)
	}
	resolved, err := intrinsics.ProcessJSON(unconditional, &intrinsics.ProcessorOptions{
		ParameterOverrides: overrides,
		// Fn::If picks the JWT authorizer's issuer and audience by IdentityProvider.
		EvaluateConditions: true,
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        refHandler(opts.Refs),
			"Fn::GetAtt": getAttHandler(opts.Refs),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("resolve template %s: %w", path, err)
	}
	typed, err := TypedJSON(resolved)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}
	var tmpl cloudformation.Template
	if err := json.Unmarshal(typed, &tmpl); err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}
	// goformation's Function types have no LoggingConfig: read it from the resolved document.
	var logging loggingDoc
	if err := json.Unmarshal(resolved, &logging); err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}
	var params paramsDoc
	if err := json.Unmarshal(resolved, &params); err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}

	app := &App{
		Functions:         map[string]*Function{},
		JWTAuthorizers:    map[string]*JWTAuthorizer{},
		LambdaAuthorizers: map[string]*LambdaAuthorizer{},
		Parameters:        map[string]string{},
	}
	for name, p := range params.Parameters {
		app.Parameters[name] = scalar(p.Default)
	}

	globals, err := tmpl.GetServerlessGlobalFunction()
	if err != nil {
		globals = &global.Function{}
	}
	dir := filepath.Dir(path)
	fns := tmpl.GetAllServerlessFunctionResources()
	for _, id := range slices.Sorted(maps.Keys(fns)) {
		f, err := merge(id, fns[id], globals, logging, dir)
		if err != nil {
			return nil, err
		}
		app.Functions[id] = f
	}

	apis := tmpl.GetAllServerlessHttpApiResources()
	for _, id := range slices.Sorted(maps.Keys(apis)) {
		if err := app.addAuthorizers(apis[id]); err != nil {
			return nil, fmt.Errorf("HttpApi %s: %w", id, err)
		}
	}
	seen := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(fns)) {
		events := fns[id].Events
		for _, ev := range slices.Sorted(maps.Keys(events)) {
			src := events[ev]
			if src.Type != "HttpApi" {
				continue
			}
			var e serverless.Function_HttpApiEvent
			if src.Properties != nil && src.Properties.HttpApiEvent != nil {
				e = *src.Properties.HttpApiEvent
			}
			r, err := route(id, e, apis)
			if err != nil {
				return nil, fmt.Errorf("function %s event %s: %w", id, ev, err)
			}
			if other, ok := seen[r.Key()]; ok {
				return nil, fmt.Errorf("route %s is declared by both %s and %s", r.Key(), other, id)
			}
			seen[r.Key()] = id
			app.Routes = append(app.Routes, r)
		}
	}
	for _, a := range app.LambdaAuthorizers {
		if _, ok := app.Functions[a.Function]; !ok {
			return nil, fmt.Errorf("authorizer %s: no function %q in the template", a.Name, a.Function)
		}
	}
	return app, nil
}

// withoutResourceConditions returns the YAML template as JSON without the Condition of its
// resources and outputs: goformation, evaluating conditions for Fn::If, would put the
// condition's value in place of each whole resource. The local run serves every function
// whatever the conditions; only the values Fn::If picks depend on them.
func withoutResourceConditions(data []byte) ([]byte, error) {
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	for _, section := range []string{"Resources", "Outputs"} {
		entries, _ := doc[section].(map[string]any)
		for _, e := range entries {
			if m, ok := e.(map[string]any); ok {
				delete(m, "Condition")
			}
		}
	}
	return json.Marshal(doc)
}

// route turns an HttpApi event into a route. An event without ApiId belongs to SAM's implicit
// API, which has no authorizer.
func route(fn string, e serverless.Function_HttpApiEvent, apis map[string]*serverless.HttpApi) (Route, error) {
	r := Route{Method: "ANY", Path: DefaultRoute, Function: fn}
	if e.Method != nil {
		r.Method = strings.ToUpper(*e.Method)
	}
	if e.Path != nil {
		r.Path = *e.Path
	}
	if e.ApiId != nil {
		api, ok := apis[*e.ApiId]
		if !ok {
			return Route{}, fmt.Errorf("ApiId %q is not an AWS::Serverless::HttpApi of the template", *e.ApiId)
		}
		if api.Auth != nil && api.Auth.DefaultAuthorizer != nil {
			r.Authorizer = *api.Auth.DefaultAuthorizer
		}
	}
	if e.Auth != nil {
		if e.Auth.Authorizer != nil {
			r.Authorizer = *e.Auth.Authorizer
		}
		r.AuthorizationScopes = e.Auth.AuthorizationScopes
	}
	if r.Authorizer == "NONE" {
		r.Authorizer = ""
	}
	return r, nil
}

// authorizerDoc is one entry of an HttpApi's Auth.Authorizers, which goformation leaves untyped.
type authorizerDoc struct {
	IdentitySource   string `json:"IdentitySource"`
	JwtConfiguration *struct {
		Issuer   string `json:"issuer"`
		Audience any    `json:"audience"`
	} `json:"JwtConfiguration"`
	FunctionArn                    string `json:"FunctionArn"`
	AuthorizerPayloadFormatVersion any    `json:"AuthorizerPayloadFormatVersion"`
	EnableSimpleResponses          bool   `json:"EnableSimpleResponses"`
	Identity                       *struct {
		Headers          []string `json:"Headers"`
		Context          []string `json:"Context"`
		ReauthorizeEvery any      `json:"ReauthorizeEvery"`
	} `json:"Identity"`
}

func (app *App) addAuthorizers(api *serverless.HttpApi) error {
	if api.Auth == nil || api.Auth.Authorizers == nil {
		return nil
	}
	raw, err := json.Marshal(api.Auth.Authorizers)
	if err != nil {
		return fmt.Errorf("authorizers: %w", err)
	}
	var docs map[string]authorizerDoc
	if err := json.Unmarshal(raw, &docs); err != nil {
		return fmt.Errorf("authorizers: %w", err)
	}
	for name, d := range docs {
		switch {
		case d.JwtConfiguration != nil:
			a := &JWTAuthorizer{Name: name, IdentitySource: d.IdentitySource, Issuer: d.JwtConfiguration.Issuer}
			if a.IdentitySource == "" {
				a.IdentitySource = "$request.header.Authorization"
			}
			a.Audience = stringList(d.JwtConfiguration.Audience)
			app.JWTAuthorizers[name] = a
		case d.FunctionArn != "":
			fn, ok := functionOfARN(d.FunctionArn)
			if !ok {
				return fmt.Errorf("authorizer %s: FunctionArn %q does not name a function of the template", name, d.FunctionArn)
			}
			a := &LambdaAuthorizer{
				Name: name, Function: fn,
				PayloadFormatVersion:  scalar(d.AuthorizerPayloadFormatVersion),
				EnableSimpleResponses: d.EnableSimpleResponses,
			}
			if a.PayloadFormatVersion != "2.0" || !a.EnableSimpleResponses {
				return fmt.Errorf("authorizer %s: the local run supports payload format 2.0 with simple responses only", name)
			}
			ttl := 300 // SAM's default ReauthorizeEvery
			if d.Identity != nil {
				a.IdentityHeaders, a.IdentityContext = d.Identity.Headers, d.Identity.Context
				if d.Identity.ReauthorizeEvery != nil {
					if ttl, err = strconv.Atoi(scalar(d.Identity.ReauthorizeEvery)); err != nil {
						return fmt.Errorf("authorizer %s: ReauthorizeEvery: %w", name, err)
					}
				}
			}
			if len(a.IdentityHeaders) == 0 {
				a.IdentityHeaders = []string{"Authorization"}
			}
			a.ResultTTL = time.Duration(ttl) * time.Second
			app.LambdaAuthorizers[name] = a
		default:
			return fmt.Errorf("authorizer %s: neither a JWT nor a Lambda authorizer", name)
		}
	}
	return nil
}

// merge applies Globals.Function to a function the way SAM does: the function's own value wins,
// and maps (Environment.Variables, LoggingConfig) are merged key by key.
func merge(id string, f *serverless.Function, g *global.Function, logging loggingDoc, dir string) (*Function, error) {
	out := &Function{LogicalID: id, Environment: map[string]string{}, MemorySize: 128, Timeout: 3 * time.Second}
	code := ""
	if g.CodeUri != nil && g.CodeUri.String != nil {
		code = *g.CodeUri.String
	}
	if f.CodeUri != nil && f.CodeUri.String != nil {
		code = *f.CodeUri.String
	}
	if code == "" {
		return nil, fmt.Errorf("function %s: CodeUri must name a local folder", id)
	}
	out.CodeDir = filepath.Join(dir, code)

	out.Runtime = first(f.Runtime, g.Runtime)
	out.Handler = first(f.Handler, g.Handler)
	if v := firstInt(f.Timeout, g.Timeout); v > 0 {
		out.Timeout = time.Duration(v) * time.Second
	}
	if v := firstInt(f.MemorySize, g.MemorySize); v > 0 {
		out.MemorySize = v
	}
	if g.Environment != nil {
		maps.Copy(out.Environment, g.Environment.Variables)
	}
	if f.Environment != nil {
		maps.Copy(out.Environment, f.Environment.Variables)
	}
	lc := map[string]string{}
	maps.Copy(lc, logging.Globals.Function.LoggingConfig)
	maps.Copy(lc, logging.Resources[id].Properties.LoggingConfig)
	out.LogFormat = lc["LogFormat"]
	out.ApplicationLogLevel = lc["ApplicationLogLevel"]
	out.SystemLogLevel = lc["SystemLogLevel"]
	return out, nil
}

type loggingDoc struct {
	Globals struct {
		Function struct {
			LoggingConfig map[string]string `json:"LoggingConfig"`
		} `json:"Function"`
	} `json:"Globals"`
	Resources map[string]struct {
		Properties struct {
			LoggingConfig map[string]string `json:"LoggingConfig"`
		} `json:"Properties"`
	} `json:"Resources"`
}

type paramsDoc struct {
	Parameters map[string]struct {
		Default any `json:"Default"`
	} `json:"Parameters"`
}

// refHandler resolves Ref as CloudFormation would for the local run: pseudo parameters and parameters
// (a CommaDelimitedList becomes a list), the given resources, and any other resource's logical id.
func refHandler(refs map[string]string) intrinsics.IntrinsicHandler {
	return func(name string, input, template any) any {
		id, ok := input.(string)
		if !ok {
			return nil
		}
		if v, ok := refs[id]; ok {
			return v
		}
		if p, ok := parameter(template, id); ok {
			def := p["Default"]
			if p["Type"] == "CommaDelimitedList" {
				if s, ok := def.(string); ok {
					return splitList(s)
				}
			}
			return def
		}
		if strings.HasPrefix(id, "AWS::") {
			return intrinsics.Ref(name, input, template)
		}
		return id
	}
}

// getAttHandler resolves Fn::GetAtt for Arn attributes with the ARN the resource would have.
func getAttHandler(refs map[string]string) intrinsics.IntrinsicHandler {
	return func(_ string, input, template any) any {
		var id, attr string
		switch v := input.(type) {
		case string:
			id, attr, _ = strings.Cut(v, ".")
		case []any:
			if len(v) == 2 {
				id, _ = v[0].(string)
				attr, _ = v[1].(string)
			}
		}
		if attr != "Arn" {
			return nil
		}
		switch resourceType(template, id) {
		case "AWS::Serverless::Function", "AWS::Lambda::Function":
			return "arn:aws:lambda:" + Region + ":" + AccountID + ":function:" + id
		case "AWS::DynamoDB::Table":
			name := id
			if v, ok := refs[id]; ok {
				name = v
			}
			return "arn:aws:dynamodb:" + Region + ":" + AccountID + ":table/" + name
		}
		return nil
	}
}

// functionOfARN returns the logical id in an ARN getAttHandler made for a function.
func functionOfARN(arn string) (string, bool) {
	prefix := "arn:aws:lambda:" + Region + ":" + AccountID + ":function:"
	id, ok := strings.CutPrefix(arn, prefix)
	return id, ok && id != ""
}

func parameter(template any, name string) (map[string]any, bool) {
	t, _ := template.(map[string]any)
	params, _ := t["Parameters"].(map[string]any)
	p, ok := params[name].(map[string]any)
	return p, ok
}

func resourceType(template any, id string) string {
	t, _ := template.(map[string]any)
	res, _ := t["Resources"].(map[string]any)
	r, _ := res[id].(map[string]any)
	s, _ := r["Type"].(string)
	return s
}

func first(vals ...*string) string {
	for _, v := range vals {
		if v != nil && *v != "" {
			return *v
		}
	}
	return ""
}

func firstInt(vals ...*int) int {
	for _, v := range vals {
		if v != nil {
			return *v
		}
	}
	return 0
}

// scalar renders a resolved scalar as CloudFormation would pass it on: numbers without a
// fraction as integers.
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = scalar(p)
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(v)
	}
}

// stringList returns a resolved list, or a comma-separated string, as strings.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return splitList(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, p := range v {
			out = append(out, scalar(p))
		}
		return out
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

package samtemplate

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
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
	doc, err := t.resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("%s template %s: %w", doc.step, t.path, err)
	}
	app := &App{
		Functions:         map[string]*Function{},
		JWTAuthorizers:    map[string]*JWTAuthorizer{},
		LambdaAuthorizers: map[string]*LambdaAuthorizer{},
		Parameters:        map[string]string{},
	}
	for name, p := range doc.params.Parameters {
		app.Parameters[name] = scalar(p.Default)
	}
	fns := doc.tmpl.GetAllServerlessFunctionResources()
	if err := app.addFunctions(fns, doc, filepath.Dir(t.path)); err != nil {
		return nil, err
	}
	apis := doc.tmpl.GetAllServerlessHttpApiResources()
	for _, id := range slices.Sorted(maps.Keys(apis)) {
		if err := app.addAuthorizers(apis[id]); err != nil {
			return nil, fmt.Errorf("HttpApi %s: %w", id, err)
		}
	}
	if err := app.addRoutes(fns, apis); err != nil {
		return nil, err
	}
	return app, app.checkAuthorizers()
}

package samtemplate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

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

// addRoutes adds the route of every HttpApi event, in the order of the functions' logical ids,
// then the events' names; two events of one route key are an error.
func (app *App) addRoutes(fns map[string]*serverless.Function, apis map[string]*serverless.HttpApi) error {
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
				return fmt.Errorf("function %s event %s: %w", id, ev, err)
			}
			if other, ok := seen[r.Key()]; ok {
				return fmt.Errorf("route %s is declared by both %s and %s", r.Key(), other, id)
			}
			seen[r.Key()] = id
			app.Routes = append(app.Routes, r)
		}
	}
	return nil
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

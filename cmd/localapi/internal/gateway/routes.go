package gateway

import (
	"net/url"
	"strings"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// segment kinds, in the order API Gateway prefers them when several routes match.
const (
	literal = iota
	variable
	greedy
)

type segment struct {
	kind int
	text string // the literal, or the variable's name
}

type route struct {
	samtemplate.Route
	segments []segment
}

func compile(r samtemplate.Route) route {
	c := route{Route: r}
	if r.Path == samtemplate.DefaultRoute {
		return c
	}
	for _, s := range strings.Split(strings.TrimPrefix(r.Path, "/"), "/") {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}"):
			c.segments = append(c.segments, segment{greedy, s[1 : len(s)-2]})
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			c.segments = append(c.segments, segment{variable, s[1 : len(s)-1]})
		default:
			c.segments = append(c.segments, segment{literal, s})
		}
	}
	return c
}

// match reports whether the route serves method and the escaped path, and with which path
// parameters.
func (r route) match(method, rawPath string) (map[string]string, bool) {
	if r.Path == samtemplate.DefaultRoute {
		return nil, true
	}
	if r.Method != "ANY" && r.Method != method {
		return nil, false
	}
	parts := strings.Split(strings.TrimPrefix(rawPath, "/"), "/")
	params := map[string]string{}
	for i, s := range r.segments {
		if i >= len(parts) {
			return nil, false
		}
		switch s.kind {
		case greedy:
			v, err := url.PathUnescape(strings.Join(parts[i:], "/"))
			if err != nil || v == "" {
				return nil, false
			}
			params[s.text] = v
			return params, true
		case variable:
			v, err := url.PathUnescape(parts[i])
			if err != nil || v == "" {
				return nil, false
			}
			params[s.text] = v
		default:
			if v, err := url.PathUnescape(parts[i]); err != nil || v != s.text {
				return nil, false
			}
		}
	}
	if len(parts) != len(r.segments) {
		return nil, false
	}
	if len(params) == 0 {
		params = nil
	}
	return params, true
}

// moreSpecific reports whether a should win over b when both match a request: segment by
// segment a literal beats a variable beats a greedy variable, a route for the method beats
// ANY, and $default comes last.
func moreSpecific(a, b route) bool {
	if (a.Path == samtemplate.DefaultRoute) != (b.Path == samtemplate.DefaultRoute) {
		return b.Path == samtemplate.DefaultRoute
	}
	for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
		if a.segments[i].kind != b.segments[i].kind {
			return a.segments[i].kind < b.segments[i].kind
		}
	}
	if len(a.segments) != len(b.segments) {
		return len(a.segments) > len(b.segments)
	}
	return a.Method != "ANY" && b.Method == "ANY"
}

// find returns the route API Gateway would pick for a request.
func find(routes []route, method, rawPath string) (route, map[string]string, bool) {
	var best route
	var bestParams map[string]string
	found := false
	for _, r := range routes {
		params, ok := r.match(method, rawPath)
		if !ok {
			continue
		}
		if !found || moreSpecific(r, best) {
			best, bestParams, found = r, params, true
		}
	}
	return best, bestParams, found
}

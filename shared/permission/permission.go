package permission

import (
	"net/http"
	"slices"
	"strings"

	"github.com/apitokens/apitokens/shared/fault"
)

// Entry is one permission of the catalogue.
type Entry struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// MaxListed bounds the names a request may list: the catalogue, repeated, would be refused anyway.
const MaxListed = 100

// ErrInvalid refuses a list with a name the catalogue does not hold.
var ErrInvalid = fault.Domain("invalid permission", http.StatusBadRequest, "invalid_permission",
	"permissions must be null (full access) or a list of permissions of the catalogue, such as hooks:read or hooks:write.")

// Catalogue returns every permission a key may hold, by name. The caller must not change it.
func Catalogue() []Entry { return catalogue }

// Names returns the names of the catalogue, sorted.
func Names() []string {
	out := make([]string, len(catalogue))
	for i, e := range catalogue {
		out[i] = e.Name
	}
	return out
}

// Known reports whether name is a permission of the catalogue.
func Known(name string) bool {
	return slices.ContainsFunc(catalogue, func(e Entry) bool { return e.Name == name })
}

// Required returns the permission the key authorizer's route routeKey ("GET /v1/hooks/events")
// needs, "" for none, and whether the route is one the catalogue knows.
func Required(routeKey string) (string, bool) {
	need, ok := routes[routeKey]
	return need, ok
}

// Parse checks a token's permissions as a request gives them and returns them in their stored
// form: nil (full access) stays nil; a list, each name of the catalogue, comes back sorted
// without repeats, never nil (an empty list reaches only the routes that need no permission).
func Parse(names []string) ([]string, error) {
	if names == nil {
		return nil, nil
	}
	if len(names) > MaxListed {
		return nil, ErrInvalid
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !Known(n) {
			return nil, ErrInvalid
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Grants reports whether held (nil for full access) grants need ("" needs nothing). A write
// permission grants the read permission of its resource.
func Grants(held []string, need string) bool {
	if held == nil || need == "" {
		return true
	}
	for _, h := range held {
		if h == need {
			return true
		}
	}
	if resource, ok := strings.CutSuffix(need, ":read"); ok {
		for _, h := range held {
			if len(h) == len(resource)+len(":write") && strings.HasPrefix(h, resource) && strings.HasSuffix(h, ":write") {
				return true
			}
		}
	}
	return false
}

// Within reports whether every permission of held is granted by allowed: held nil (full
// access) is within allowed only when allowed is nil too.
func Within(held, allowed []string) bool {
	if allowed == nil {
		return true
	}
	if held == nil {
		return false
	}
	for _, h := range held {
		if !Grants(allowed, h) {
			return false
		}
	}
	return true
}

package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestAccessMatrix is the access rules of docs/api.md, end to end through the local run's
// gateway and authorizers: every caller (an agent's and an admin's session, a User and an Admin key) on
// every route, aimed (where the route names a token or a user) at the caller's own, another
// user's of the same environment, and a user's of another environment. Keys never reach a management route
// (401 from the JWT authorizer), sessions never reach an integration route (403 from the key
// authorizer), and what a caller may not see answers 404 like what does not exist.
func TestAccessMatrix(t *testing.T) {
	srv, out := startServer(t, "")
	defer func() {
		if t.Failed() {
			t.Logf("output:\n%s", out)
		}
	}()
	session := func(user, env string, admin bool) string {
		s, err := srv.Mint(user, env, admin)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	ann, carl, adam := session("ann", "env-1", false), session("carl", "env-1", false), session("adam", "env-1", true)
	olga := session("olga", "env-2", false)
	create := func(auth, body string) (id, key string) {
		t.Helper()
		return createToken(t, srv.URL, auth, body)
	}
	_, userKey := create(ann, `{"name":"Zapier"}`)
	_, adminKey := create(adam, `{"name":"Brokerage sync","type":"admin"}`)
	create(olga, `{"name":"Zapier"}`) // olga is known in env-2, so her user id is real there

	// Whose token or user each caller aims at, by target.
	type caller struct {
		name, auth, user string
		key              bool
	}
	callers := []caller{
		{"agent session", ann, "ann", false},
		{"admin session", adam, "adam", false},
		{"User key", "Bearer " + userKey, "ann", true},
		{"Admin key", "Bearer " + adminKey, "adam", true},
	}
	// other is a user of the caller's environment; foreign a user of another environment.
	owners := map[string]map[string]string{ // caller user → target → owner's session
		"ann":  {"own": ann, "other": carl, "foreign": olga},
		"adam": {"own": adam, "other": ann, "foreign": olga},
	}
	users := map[string]map[string]string{ // caller user → target → user id
		"ann":  {"own": "ann", "other": "carl", "foreign": "olga"},
		"adam": {"own": "adam", "other": "ann", "foreign": "olga"},
	}
	targets := []string{"own", "other", "foreign"}

	// want is the status for a session on a management route; keys get 401 there.
	type route struct {
		method, path, body string // path: {id} for the target's token, {user} for its user id
		agent, admin       map[string]int
		userKey, adminKey  map[string]int // integration routes; sessions get 403 there
	}
	all := func(own, other, foreign int) map[string]int {
		return map[string]int{"own": own, "other": other, "foreign": foreign}
	}
	routes := []route{
		{method: "POST", path: "/v1/tokens", body: `{"name":"Matrix"}`, agent: all(201, 201, 201), admin: all(201, 201, 201)},
		{method: "POST", path: "/v1/tokens", body: `{"name":"Matrix","type":"admin"}`, agent: all(403, 403, 403), admin: all(201, 201, 201)},
		{method: "GET", path: "/v1/tokens?owner={user}", agent: all(200, 403, 403), admin: all(200, 200, 200)},
		{method: "GET", path: "/v1/tokens/{id}", agent: all(200, 404, 404), admin: all(200, 200, 404)},
		{method: "PATCH", path: "/v1/tokens/{id}", body: `{"name":"Renamed"}`, agent: all(200, 404, 404), admin: all(200, 200, 404)},
		{method: "POST", path: "/v1/tokens/{id}/reveal", agent: all(200, 404, 404), admin: all(200, 403, 404)},
		{method: "POST", path: "/v1/tokens/{id}/deactivate", agent: all(200, 404, 404), admin: all(200, 200, 404)},
		{method: "POST", path: "/v1/tokens/{id}/activate", agent: all(200, 404, 404), admin: all(200, 200, 404)},
		{method: "GET", path: "/v1/tokens/{id}/audit", agent: all(200, 404, 404), admin: all(200, 200, 404)},
		{method: "GET", path: "/v1/tokens/{id}/usage", agent: all(200, 404, 404), admin: all(200, 200, 404)},
		{method: "POST", path: "/v1/tokens/{id}/roll", body: `{"gracePeriodSeconds":60}`, agent: all(200, 404, 404), admin: all(200, 403, 404)},
		{method: "POST", path: "/v1/tokens/{id}/previous-key/revoke", agent: all(200, 404, 404), admin: all(200, 200, 404)},
		{method: "DELETE", path: "/v1/tokens/{id}", agent: all(204, 404, 404), admin: all(204, 204, 404)},
		{method: "GET", path: "/v1/me", userKey: all(200, 200, 200), adminKey: all(200, 200, 200)},
		{method: "POST", path: "/v1/hooks/zapier?userId={user}", body: `{"event":"contact.created"}`, userKey: all(202, 403, 403), adminKey: all(202, 202, 404)},
		{method: "GET", path: "/v1/hooks/events?userId={user}", userKey: all(200, 403, 403), adminKey: all(200, 200, 404)},
		{method: "POST", path: "/v1/tokens/{id}/transfer", body: `{"userId":"carl"}`, agent: all(403, 404, 404), admin: all(200, 200, 404)},
		{method: "GET", path: "/v1/policy", agent: all(200, 200, 200), admin: all(200, 200, 200)},
		{method: "PUT", path: "/v1/policy", body: `{}`, agent: all(403, 403, 403), admin: all(200, 200, 200)},
		// Subscriptions belong to the key's token: any key may make and list its own, and reaches
		// no other token's (sub_0… names none, so it answers 404 as another's would).
		{method: "POST", path: "/v1/subscriptions", body: `{"targetUrl":"http://127.0.0.1:9/hook","event":"key.leaked"}`, userKey: all(201, 201, 201), adminKey: all(201, 201, 201)},
		{method: "GET", path: "/v1/subscriptions", userKey: all(200, 200, 200), adminKey: all(200, 200, 200)},
		{method: "DELETE", path: "/v1/subscriptions/sub_00000000000000000000000000", userKey: all(404, 404, 404), adminKey: all(404, 404, 404)},
		{method: "GET", path: "/v1/subscriptions/sub_00000000000000000000000000/attempts", userKey: all(404, 404, 404), adminKey: all(404, 404, 404)},
		// Last: it suspends the tokens of the user it names, the keys above among them. A user of
		// another environment has none in the caller's: 0 suspended, nothing crosses.
		{method: "POST", path: "/v1/users/{user}/tokens/deactivate", agent: all(403, 403, 403), admin: all(200, 200, 200)},
	}

	planned := 0
	for _, rt := range routes {
		planned += len(callers) * len(aimedAt(rt.path, targets))
	}
	if want := fmt.Sprintf("(%d cases)", planned); !strings.Contains(docText(t, "docs/developing.md"), want) {
		t.Errorf("docs/developing.md does not give the access matrix as %s", want)
	}
	cases := 0
	for _, rt := range routes {
		integration := rt.userKey != nil
		for _, c := range callers {
			for _, target := range aimedAt(rt.path, targets) {
				want := 0
				switch {
				case integration && !c.key:
					want = 403 // the key authorizer refuses a session
				case !integration && c.key:
					want = 401 // the JWT authorizer refuses a key
				case integration && c.name == "User key":
					want = rt.userKey[target]
				case integration:
					want = rt.adminKey[target]
				case c.name == "agent session":
					want = rt.agent[target]
				default:
					want = rt.admin[target]
				}
				path := strings.ReplaceAll(rt.path, "{user}", users[c.user][target])
				if strings.Contains(path, "{id}") {
					// A token of its own for each case, so a delete or rename leaves the others as
					// they were.
					id, _ := create(owners[c.user][target], `{"name":"Target"}`)
					path = strings.ReplaceAll(path, "{id}", id)
				}
				name := fmt.Sprintf("%s %s/%s/%s", rt.method, rt.path, c.name, target)
				t.Run(name, func(t *testing.T) {
					cases++
					r := call(t, rt.method, srv.URL+path, c.auth, rt.body)
					if r.status != want {
						t.Fatalf("got %d %s, want %d", r.status, r.shown(), want)
					}
					// A list or a delivery log never shows what lies outside the caller's reach.
					if r.status == 200 && target == "foreign" && strings.Contains(r.body, `"olga"`) {
						t.Errorf("got olga's data across environments: %s", r.shown())
					}
				})
			}
		}
	}
	t.Logf("access matrix: %d cases (%d routes × %d callers, × %d targets where the route aims at a token or user)", cases, len(routes), len(callers), len(targets))
	if t.Failed() {
		t.Logf("output:\n%s", out)
	} else if cases != planned {
		t.Errorf("ran %d cases, planned %d", cases, planned)
	}
}

// aimedAt is the targets a route of the matrix is called on: each of them when its path names a
// token or a user, else (create, /v1/me) the caller's own only.
func aimedAt(path string, targets []string) []string {
	if !strings.Contains(path, "{") {
		return targets[:1]
	}
	return targets
}

package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitokens/apitokens/cmd/internal/lambdas"
)

// environments reads GET /local/environments, by function.
func environments(t *testing.T, url string) map[string]lambdas.Count {
	t.Helper()
	r := do(t, "GET", url+environmentsPath, "", "")
	var got struct{ Functions []lambdas.Count }
	if err := json.Unmarshal([]byte(r.body), &got); r.status != 200 || err != nil {
		t.Fatalf("environments: %d %s (%v)", r.status, r.body, err)
	}
	out := map[string]lambdas.Count{}
	for _, c := range got.Functions {
		out[c.Function] = c
	}
	return out
}

// testScaleOutThroughTheGateway sends one call more than the echo function's maximum at once,
// each a second of work: every other call runs in an environment of its own, and the one over
// is answered as API Gateway answers a throttled Lambda integration.
func testScaleOutThroughTheGateway(t *testing.T, srv *Server, out *buffer) {
	limit := srv.concurrency
	replies := make([]reply, limit+1)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Go(func() { replies[i] = do(t, "GET", srv.URL+"/open/x/second", "", "") })
	}
	wg.Wait()
	var served []struct{ PID, Start, End int64 }
	throttled := 0
	for _, r := range replies {
		switch {
		case r.status == 200:
			var s struct{ PID, Start, End int64 }
			if err := json.Unmarshal([]byte(r.body), &s); err != nil {
				t.Fatalf("answer %s: %v", r.body, err)
			}
			served = append(served, s)
		case r.status == 500 && r.body == internalBody:
			throttled++
		default:
			t.Errorf("got %d %s, want 200 or the gateway's 500", r.status, r.shown())
		}
	}
	// Calls that each found every other environment busy ran in environments of their own; the
	// one that found the maximum reached was throttled (a cold start may take longer than a
	// call on a loaded machine, so the work itself need not overlap).
	pids := map[int64]bool{}
	for _, a := range served {
		pids[a.PID] = true
	}
	if len(served) != limit || throttled != 1 || len(pids) != limit {
		t.Errorf("%d overlapping calls: %d served in %d environments, %d throttled; want %d, %d, 1", limit+1, len(served), len(pids), throttled, limit, limit)
	}
	if !strings.Contains(out.String(), "→ EchoFunction (function EchoFunction: TooManyRequestsException: Rate Exceeded.") {
		t.Errorf("the log does not say the call was throttled:\n%s", out)
	}
	envs := environments(t, srv.URL)
	if c := envs["EchoFunction"]; c.Environments != limit || c.Max != limit || c.Reserved {
		t.Errorf("EchoFunction: %+v, want %d environments at most %d", c, limit, limit)
	}
	if c := envs["AuthorizerFunction"]; c.Max != 2 || !c.Reserved {
		t.Errorf("AuthorizerFunction: %+v, want at most 2, reserved by the template", c)
	}
	text := do(t, "GET", srv.URL+environmentsPath+"?format=text", "", "")
	if !strings.Contains(text.body, "FUNCTION") || !strings.Contains(text.body, "2 (reserved)") {
		t.Errorf("the text listing:\n%s", text.body)
	}
}

// authorizerEvent is the Lambda authorizer's event for a call to GET /v1/me with key.
func authorizerEvent(key string) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "2.0", "type": "REQUEST", "routeKey": "GET /v1/me", "rawPath": "/v1/me",
		"routeArn":       "arn:aws:execute-api:us-east-1:123456789012:" + apiID + "/$default/GET/v1/me",
		"identitySource": []string{"Bearer " + key},
		"headers":        map[string]string{"authorization": "Bearer " + key},
	})
	return b
}

// authorizedEverywhere asks every environment of the authorizer about key and counts the
// environments and the ones that allow it.
func authorizedEverywhere(t *testing.T, srv *Server, key string) (envs, allowed int) {
	t.Helper()
	pool, err := srv.functions.pool(context.Background(), "AuthorizerFunction")
	if err != nil {
		t.Fatal(err)
	}
	answers, err := pool.InvokeEach(context.Background(), authorizerEvent(key))
	if err != nil {
		t.Fatalf("authorizer: %v", err)
	}
	for _, a := range answers {
		var r struct{ IsAuthorized bool }
		if err := json.Unmarshal(a, &r); err != nil {
			t.Fatalf("authorizer answer: %v", err)
		}
		if r.IsAuthorized {
			allowed++
		}
	}
	return len(answers), allowed
}

// testDeactivateAcrossAuthorizerEnvironments spreads uncached key checks over several
// authorizer environments, has each one remember the key as allowed, deactivates the token,
// and wants every environment, and the gateway, to refuse it within the revocation bound.
func testDeactivateAcrossAuthorizerEnvironments(t *testing.T, srv *Server, agent string) {
	// Keys the gateway has not cached, checked at once, reach the authorizer at once.
	var keys []string
	var ids []string
	for range 6 {
		r := call(t, "POST", srv.URL+"/v1/tokens", "Bearer "+agent, `{"name":"Spread"}`)
		var tok struct{ ID, Key string }
		if err := json.Unmarshal([]byte(r.body), &tok); r.status != 201 || err != nil {
			t.Fatalf("create: %d %s", r.status, r.shown())
		}
		keys, ids = append(keys, tok.Key), append(ids, tok.ID)
	}
	deadline := time.Now().Add(20 * time.Second)
	for environments(t, srv.URL)["AuthorizerFunction"].Environments < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the authorizer did not scale out: %+v", environments(t, srv.URL)["AuthorizerFunction"])
		}
		var wg sync.WaitGroup
		for _, k := range keys {
			wg.Go(func() { do(t, "GET", srv.URL+"/v1/me", "Bearer "+k, "") })
		}
		wg.Wait()
		time.Sleep(srv.app.LambdaAuthorizers["ApiKey"].ResultTTL + 100*time.Millisecond)
	}
	key, id := keys[0], ids[0]
	if envs, allowed := authorizedEverywhere(t, srv, key); envs < 2 || allowed != envs {
		t.Fatalf("before deactivating: %d of %d authorizer environments allow the key, want every one of at least 2", allowed, envs)
	}
	if r := call(t, "GET", srv.URL+"/v1/me", "Bearer "+key, ""); r.status != 200 {
		t.Fatalf("me before deactivating: %d", r.status)
	}
	if r := call(t, "POST", srv.URL+"/v1/tokens/"+id+"/deactivate", "Bearer "+agent, ""); r.status != 200 {
		t.Fatalf("deactivate: %d %s", r.status, r.shown())
	}
	since := time.Now()
	for {
		envs, allowed := authorizedEverywhere(t, srv, key)
		if allowed == 0 {
			t.Logf("all %d authorizer environments refuse the key %s after deactivating it", envs, time.Since(since).Round(100*time.Millisecond))
			break
		}
		if time.Since(since) > revocationBound {
			t.Fatalf("%d of %d authorizer environments still allow the key %s after deactivating it, past the bound %s", allowed, envs, time.Since(since).Round(time.Second), revocationBound)
		}
		time.Sleep(250 * time.Millisecond)
	}
	refusedWithin(t, srv.URL, key, since)
}

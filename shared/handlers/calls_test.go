package handlers_test

import (
	"testing"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/keyring"
)

// TestAWSCallsPerAction pins the AWS calls each action makes, cold (a new container: no key ring
// in memory) and warm. A change that adds a call fails here; the README's table shows the same
// numbers.
func TestAWSCallsPerAction(t *testing.T) {
	a := newAPI(t, 50)
	cold := func() {
		a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN).WithClock(a.clock)
		a.auth = authorizer.New(a.deps.Format, a.deps.Keys, a.deps.Store, 5e9).WithClock(a.clock)
	}
	// coldRoute starts the routes afresh but not the key authorizer, a function of its own.
	coldRoute := func() {
		a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN).WithClock(a.clock)
	}
	var id, key, adminKey string
	steps := []struct {
		name string
		cold func()
		run  func() int
		want string
	}{
		{"create", cold, func() int {
			c := a.do(ann, "POST", "/v1/tokens", `{"name":"x"}`)
			id, key = c.str("id"), c.str("key")
			return c.status
		}, "DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"},
		{"create", nil, func() int {
			c := a.do(adam, "POST", "/v1/tokens", `{"name":"office","type":"admin"}`)
			adminKey = c.str("key")
			return c.status
		}, "DynamoDB.TransactWriteItems=1"},
		{"create, idempotent", nil, func() int {
			return a.doWith(ann, "POST", "/v1/tokens", `{"name":"z"}`, "idempotency-key", "k").status
		}, "DynamoDB.TransactWriteItems=1"},
		{"create, repeat", nil, func() int {
			r := a.doWith(ann, "POST", "/v1/tokens", `{"name":"z"}`, "idempotency-key", "k")
			if r.headers["idempotent-replayed"] != "true" {
				return 500
			}
			return r.status
		}, "DynamoDB.GetItem=2 DynamoDB.PutItem=1 DynamoDB.TransactWriteItems=1"},
		{"list", cold, func() int { return a.do(ann, "GET", "/v1/tokens", "").status }, "DynamoDB.Query=1"},
		{"list, a next page", cold, func() int { return a.do(adam, "GET", "/v1/tokens?owner=all&limit=1", "").status }, "DynamoDB.Query=1 SecretsManager.GetSecretValue=1"},
		{"get", cold, func() int { return a.do(ann, "GET", "/v1/tokens/"+id, "").status }, "DynamoDB.GetItem=1"},
		{"rename", cold, func() int { return a.do(ann, "PATCH", "/v1/tokens/"+id, `{"name":"y"}`).status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"reveal", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", "").status }, "DynamoDB.GetItem=1 DynamoDB.PutItem=1 SecretsManager.GetSecretValue=1"},
		{"reveal", nil, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", "").status }, "DynamoDB.GetItem=1 DynamoDB.PutItem=1"},
		{"deactivate", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/deactivate", "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"deactivate again", nil, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/deactivate", "").status }, "DynamoDB.GetItem=1"},
		{"activate", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/activate", "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"audit", cold, func() int { return a.do(ann, "GET", "/v1/tokens/"+id+"/audit", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=1"},
		{"audit, a next page", cold, func() int { return a.do(ann, "GET", "/v1/tokens/"+id+"/audit?limit=1", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=1 SecretsManager.GetSecretValue=1"},
		{"authorize", cold, func() int { return a.keyDo(key, "GET", "/v1/me", "").status }, "DynamoDB.GetItem=1 DynamoDB.UpdateItem=1 SecretsManager.GetSecretValue=1"},
		{"authorize, cached", nil, func() int { return a.keyDo(key, "GET", "/v1/me", "").status }, ""},
		{"authorize, malformed (refused)", nil, func() int {
			if r := a.keyDo(key[:len(key)-1]+"0", "GET", "/v1/me", ""); r.status != 403 {
				return 500
			}
			return 200
		}, ""},
		{"receive hook", nil, func() int { return a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`).status }, "DynamoDB.PutItem=1"},
		{"receive hook, idempotent", nil, func() int {
			return a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`, "idempotency-key", "k").status
		}, "DynamoDB.TransactWriteItems=1"},
		{"receive hook, repeat", nil, func() int {
			return a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`, "idempotency-key", "k").status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"receive hook, an admin key's first call, for a user", nil, func() int {
			return a.keyDo(adminKey, "POST", "/v1/hooks/zapier?userId=ann", `{"a":1}`).status
		}, "DynamoDB.GetItem=2 DynamoDB.PutItem=1 DynamoDB.UpdateItem=1"},
		{"list hooks", nil, func() int { return a.keyDo(key, "GET", "/v1/hooks/events", "").status }, "DynamoDB.Query=1"},
		{"list hooks, a next page", coldRoute, func() int { return a.keyDo(key, "GET", "/v1/hooks/events?limit=1", "").status }, "DynamoDB.Query=1 SecretsManager.GetSecretValue=1"},
		{"roll", cold, func() int {
			r := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":60}`)
			key = r.str("key")
			return r.status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"},
		{"revoke previous key", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/previous-key/revoke", "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"report a leak, malformed", cold, func() int { return a.signed(reportOf("cbk_short")).status }, ""},
		{"report a leak", cold, func() int { return a.signed(reportOf(key)).status }, "DynamoDB.GetItem=2 DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"},
		{"report a leak again", nil, func() int { return a.signed(reportOf(key)).status }, "DynamoDB.GetItem=2"},
		{"delete", cold, func() int { return a.do(ann, "DELETE", "/v1/tokens/"+id, "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
	}
	for _, s := range steps {
		if s.cold != nil {
			s.cold()
		}
		a.calls.Reset()
		if status := s.run(); status >= 400 {
			t.Fatalf("%s: status %d", s.name, status)
		}
		if got := a.calls.String(); got != s.want {
			t.Errorf("%s (cold %v): calls %q, want %q", s.name, s.cold != nil, got, s.want)
		}
	}
}

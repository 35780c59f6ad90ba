package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/testkit/secretscan"
)

// TestAWSCallsPerAction pins the AWS calls each action makes, cold (a new container: no key ring
// in memory) and warm, with a key ring of 1, 2 and 4 versions: a key check costs one GetItem
// whatever the ring holds and whichever version made the key. A change that adds a call fails
// here; docs/api.md's table shows the same numbers.
func TestAWSCallsPerAction(t *testing.T) {
	for _, versions := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("ring of %d", versions), func(t *testing.T) { testAWSCallsPerAction(t, versions) })
	}
}

// putRing makes the key ring hold versions k1 … kN, keeping the material of those it holds, with
// current as its current version.
func putRing(t *testing.T, a *api, versions int, current string) {
	t.Helper()
	out, err := a.env.Secrets.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: &a.env.SecretARN})
	if err != nil {
		t.Fatal(err)
	}
	var ring map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &ring); err != nil {
		t.Fatal(err)
	}
	ring["current"] = current
	for i := 1; i <= versions; i++ {
		if id := fmt.Sprintf("k%d", i); ring[id] == "" {
			ring[id] = strings.Repeat(fmt.Sprintf("material-of-%s-", id), 4)
		}
	}
	b, _ := json.Marshal(ring)
	if _, err := a.env.Secrets.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: &a.env.SecretARN, SecretString: aws.String(string(b)),
	}); err != nil {
		t.Fatal(err)
	}
	secretscan.Shared().AddKeyRing(string(b))
}

// wrongChecksum changes a key's last character, part of its checksum, to another.
func wrongChecksum(key string) string {
	last := "0"
	if strings.HasSuffix(key, last) {
		last = "1"
	}
	return key[:len(key)-1] + last
}

func testAWSCallsPerAction(t *testing.T, versions int) {
	a := newAPI(t, 50)
	// A key made under the oldest version, before the ring moved on to the newest.
	putRing(t, a, versions, "k1")
	a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN, a.clock)
	oldKey := a.create(ann, `{"name":"made under k1"}`).str("key")
	putRing(t, a, versions, fmt.Sprintf("k%d", versions))
	unknownKey, _ := a.deps.Format.Generate()
	cold := func() {
		a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN, a.clock)
		a.auth = authorizer.New(a.deps.Format, a.deps.Keys, a.deps.Store, 5e9, a.clock)
	}
	// coldRoute starts the routes afresh but not the key authorizer, a function of its own.
	coldRoute := func() {
		a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN, a.clock)
	}
	var id, key, adminKey, restricted, handedOver string
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
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"}, // +1: the policy
		{"create", nil, func() int {
			c := a.do(adam, "POST", "/v1/tokens", `{"name":"office","type":"admin"}`)
			adminKey = c.str("key")
			return c.status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"create, idempotent", nil, func() int {
			return a.doWith(ann, "POST", "/v1/tokens", `{"name":"z"}`, "idempotency-key", "k").status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"create, repeat", nil, func() int {
			r := a.doWith(ann, "POST", "/v1/tokens", `{"name":"z"}`, "idempotency-key", "k")
			if r.headers["idempotent-replayed"] != "true" {
				return 500
			}
			return r.status
		}, "DynamoDB.GetItem=3 DynamoDB.PutItem=1 DynamoDB.TransactWriteItems=1"},
		// +1 Query: the environment's calls of the last 24 hours, for every token of the page.
		{"list", cold, func() int { return a.do(ann, "GET", "/v1/tokens", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=2"},
		{"list, a next page", cold, func() int { return a.do(adam, "GET", "/v1/tokens?owner=all&limit=1", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=2 SecretsManager.GetSecretValue=1"},
		{"get", cold, func() int { return a.do(ann, "GET", "/v1/tokens/"+id, "").status }, "DynamoDB.GetItem=2"},
		{"rename", cold, func() int { return a.do(ann, "PATCH", "/v1/tokens/"+id, `{"name":"y"}`).status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"reveal", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", "").status }, "DynamoDB.GetItem=1 DynamoDB.PutItem=1 SecretsManager.GetSecretValue=1"},
		{"reveal", nil, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", "").status }, "DynamoDB.GetItem=1 DynamoDB.PutItem=1"},
		{"deactivate", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/deactivate", "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1 SQS.SendMessage=1"},
		{"deactivate again", nil, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/deactivate", "").status }, "DynamoDB.GetItem=1"},
		{"activate", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/activate", "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"audit", cold, func() int { return a.do(ann, "GET", "/v1/tokens/"+id+"/audit", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=1"},
		// The token, then its hours of the range in one Query (a month of hours fits one page).
		{"usage", func() {
			for h := range 30 {
				seedUsage(t, a, "env-1", id, a.clock().Add(-time.Duration(h)*time.Hour), tokenstore.UsageCounts{Allowed: 1})
			}
			coldRoute()
		}, func() int { return a.do(ann, "GET", "/v1/tokens/"+id+"/usage", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=1"},
		{"usage, 31 days by hour", nil, func() int {
			return a.do(ann, "GET", "/v1/tokens/"+id+"/usage?from="+a.clock().Add(-30*24*time.Hour).Format(time.RFC3339), "").status
		}, "DynamoDB.GetItem=1 DynamoDB.Query=1"},
		{"audit, a next page", cold, func() int { return a.do(ann, "GET", "/v1/tokens/"+id+"/audit?limit=1", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=1 SecretsManager.GetSecretValue=1"},
		// A key's check: one GetItem of its lookup item; the first key of an environment in a
		// copy of the authorizer also reads the environment's policy, once per PolicyTTL.
		{"authorize (the key, and the environment's policy)", cold, func() int { return a.keyDo(key, "GET", "/v1/me", "").status }, "DynamoDB.GetItem=2 DynamoDB.UpdateItem=1 SecretsManager.GetSecretValue=1"},
		{"authorize, cached", nil, func() int { return a.keyDo(key, "GET", "/v1/me", "").status }, ""},
		{"receive hook", nil, func() int { return a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`).status }, "DynamoDB.TransactWriteItems=1 SQS.SendMessage=1"},
		{"receive hook, idempotent", nil, func() int {
			return a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`, "idempotency-key", "k").status
		}, "DynamoDB.TransactWriteItems=1 SQS.SendMessage=1"},
		{"receive hook, repeat", nil, func() int {
			return a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`, "idempotency-key", "k").status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"receive hook, an admin key's first call, for a user", nil, func() int {
			return a.keyDo(adminKey, "POST", "/v1/hooks/zapier?userId=ann", `{"a":1}`).status
		}, "DynamoDB.GetItem=2 DynamoDB.TransactWriteItems=1 DynamoDB.UpdateItem=1 SQS.SendMessage=1"},
		{"list hooks", nil, func() int { return a.keyDo(key, "GET", "/v1/hooks/events", "").status }, "DynamoDB.Query=1"},
		{"list hooks, a next page", coldRoute, func() int { return a.keyDo(key, "GET", "/v1/hooks/events?limit=1", "").status }, "DynamoDB.Query=1 SecretsManager.GetSecretValue=1"},
		{"authorize, a key of the oldest version (and the policy)", cold, func() int { return a.keyDo(oldKey, "GET", "/v1/me", "").status }, "DynamoDB.GetItem=2 DynamoDB.UpdateItem=1 SecretsManager.GetSecretValue=1"},
		{"authorize, a key nobody made (refused)", cold, func() int {
			if r := a.keyDo(unknownKey, "GET", "/v1/me", ""); r.status != 403 {
				return 500
			}
			return 200
		}, "DynamoDB.GetItem=1"},
		{"authorize, malformed (refused)", nil, func() int {
			if r := a.keyDo(wrongChecksum(key), "GET", "/v1/me", ""); r.status != 403 {
				return 500
			}
			return 200
		}, ""},
		{"authorize, a restricted key (and the policy: no key before it was allowed here)", func() {
			restricted = a.create(ann, `{"name":"r","permissions":["hooks:read"],"allowedCidrs":["54.86.9.0/24"]}`).str("key")
		}, func() int { return a.keyDo(restricted, "GET", "/v1/me", "").status }, "DynamoDB.GetItem=2 DynamoDB.UpdateItem=1"},
		{"authorize, a restricted key refused for its permission", nil, func() int {
			if r := a.keyDo(restricted, "POST", "/v1/hooks/zapier", `{"a":1}`); r.status != 403 {
				return 500
			}
			return 200
		}, ""},
		{"authorize, the policy due again", func() { a.advance(authorizer.DefaultPolicyTTL) }, func() int {
			return a.keyDo(restricted, "GET", "/v1/me", "").status
		}, "DynamoDB.GetItem=2"},
		{"authorize, the policy still in memory", func() { a.advance(authorizer.DefaultPolicyTTL - time.Second) }, func() int {
			a.keyDo(restricted, "GET", "/v1/me", "") // reads the key again, the policy not yet
			return a.keyDo(restricted, "GET", "/v1/me", "").status
		}, "DynamoDB.GetItem=1"},
		{"roll", cold, func() int {
			r := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":60}`)
			key = r.str("key")
			return r.status
		}, "DynamoDB.GetItem=2 DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"},
		{"revoke previous key", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/previous-key/revoke", "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"report a leak, malformed", cold, func() int { return a.signed(reportOf("cbk_short")).status }, ""},
		{"report a leak", cold, func() int { return a.signed(reportOf(key)).status }, "DynamoDB.GetItem=2 DynamoDB.TransactWriteItems=1 SQS.SendMessage=1 SecretsManager.GetSecretValue=1"},
		{"report a leak again", nil, func() int { return a.signed(reportOf(key)).status }, "DynamoDB.GetItem=2"},
		{"transfer", func() { handedOver = a.create(ann, `{"name":"t"}`).str("id"); coldRoute() }, func() int {
			return a.do(adam, "POST", "/v1/tokens/"+handedOver+"/transfer", `{"userId":"carl"}`).status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"},
		{"deactivate a user's tokens", nil, func() int { return a.do(adam, "POST", "/v1/users/carl/tokens/deactivate", "").status }, "DynamoDB.Query=1 DynamoDB.TransactWriteItems=1"},
		{"get the policy", nil, func() int { return a.do(ann, "GET", "/v1/policy", "").status }, "DynamoDB.GetItem=1"},
		{"set the policy", nil, func() int { return a.do(adam, "PUT", "/v1/policy", `{}`).status }, "DynamoDB.PutItem=1"},
		{"delete", cold, func() int { return a.do(ann, "DELETE", "/v1/tokens/"+id, "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1 SQS.SendMessage=1"},
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

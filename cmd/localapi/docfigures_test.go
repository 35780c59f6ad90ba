package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apitokens/apitokens/cmd/localapi/internal/gateway"
	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/httpapi"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/leakreport"
	"github.com/apitokens/apitokens/shared/meter"
	"github.com/apitokens/apitokens/shared/policy"
	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// docText is a document of the repository with every run of white space made one space, so a
// phrase is found wherever its lines wrap.
func docText(t *testing.T, name string) string {
	t.Helper()
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// bytesText writes a number of bytes as the documents do: 16,384.
func bytesText(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// minutes writes a duration of whole minutes as the documents do: "5 minutes".
func minutes(d time.Duration) string { return fmt.Sprintf("%d minutes", int(d/time.Minute)) }

// TestDocumentFigures holds the counts and limits the documents quote to the code and the
// template they come from: a change of either fails here until the documents say it too.
func TestDocumentFigures(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	app, err := samtemplate.Load(filepath.Join(root, "template.yaml"), samtemplate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	param := func(name string) int {
		n, err := strconv.Atoi(app.Parameters[name])
		if err != nil {
			t.Fatalf("template parameter %s: default %q is not a number", name, app.Parameters[name])
		}
		return n
	}
	limit, memoryTTL, resultTTL := param("TokenLimit"), param("AuthorizerMemoryTtl"), param("AuthorizerResultTtl")
	bound := memoryTTL + resultTTL
	if time.Duration(bound)*time.Second != revocationBound {
		t.Errorf("the tests' revocationBound is %s, the template's defaults make %d s", revocationBound, bound)
	}
	session, _, err := sessionFor(app, "u", "e", false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	figures := []struct{ doc, phrase string }{
		// Body and name limits.
		{"docs/api.md", fmt.Sprintf("`body_too_large` (413, bodies over %s bytes)", bytesText(httpapi.MaxBody))},
		{"docs/api.md", fmt.Sprintf("over %d characters", handlers.MaxNameLen)},
		{"docs/api.md", fmt.Sprintf("a JSON object up to %s bytes", bytesText(handlers.MaxDelivery))},
		{"docs/api.md", fmt.Sprintf("413 `body_too_large` (over %s bytes), `too_many_items` (over %s)", bytesText(leakreport.MaxBody), bytesText(leakreport.MaxItems))},
		{"docs/key-lifecycle.md", fmt.Sprintf("a body over %s bytes (413 `body_too_large`), over %s items", bytesText(leakreport.MaxBody), bytesText(leakreport.MaxItems))},
		{"docs/operating.md", fmt.Sprintf("%s bytes for the token routes, %s bytes (100 levels deep) for a webhook delivery, %s bytes for a secret scanning report",
			bytesText(httpapi.MaxBody), bytesText(handlers.MaxDelivery), bytesText(leakreport.MaxBody))},
		// The gateway's limits.
		{"docs/api.md", fmt.Sprintf("payload quota (%s bytes)", bytesText(gateway.MaxBody))},
		{"docs/api.md", fmt.Sprintf("request limit (%s bytes", bytesText(gateway.MaxPayload))},
		{"docs/local-run.md", fmt.Sprintf("A body over %s bytes (API Gateway's payload quota), or whose event is over %s bytes", bytesText(gateway.MaxBody), bytesText(gateway.MaxPayload))},
		{"docs/operating.md", fmt.Sprintf("over %s bytes, or whose event is over Lambda's %s", bytesText(gateway.MaxBody), bytesText(gateway.MaxPayload))},
		// The token limit.
		{"docs/operating.md", fmt.Sprintf("Tokens per user: `TokenLimit` (%d)", limit)},
		{"docs/storage.md", fmt.Sprintf("at most the token limit (default %d)", limit)},
		{"docs/deploying.md", fmt.Sprintf("| `TokenLimit` | %d |", limit)},
		// Cache times and the revocation bound.
		{"docs/keys.md", fmt.Sprintf("`AuthorizerMemoryTtl` seconds (default %d)", memoryTTL)},
		{"docs/keys.md", fmt.Sprintf("`AuthorizerResultTtl` seconds (default %d)", resultTTL)},
		{"docs/keys.md", fmt.Sprintf("`AuthorizerMemoryTtl + AuthorizerResultTtl` = %d s with the defaults", bound)},
		{"docs/keys.md", fmt.Sprintf("cache the ring for %s", minutes(keyring.DefaultTTL))},
		{"docs/keys.md", fmt.Sprintf("at most once per %s per token", minutes(authorizer.LastUsedEvery))},
		{"docs/key-lifecycle.md", fmt.Sprintf("`AuthorizerMemoryTtl + AuthorizerResultTtl` seconds: %d s with the defaults", bound)},
		{"docs/operating.md", fmt.Sprintf("`AuthorizerMemoryTtl` s (default %d)", memoryTTL)},
		{"docs/operating.md", fmt.Sprintf("`AuthorizerResultTtl` s (default %d)", resultTTL)},
		{"docs/operating.md", fmt.Sprintf("`AuthorizerMemoryTtl + AuthorizerResultTtl` (%d s by default)", bound)},
		{"docs/operating.md", fmt.Sprintf("| %s, read again at once", minutes(keyring.DefaultTTL))},
		{"docs/operating.md", fmt.Sprintf("at most once per %s per token (a conditional update)", minutes(authorizer.LastUsedEvery))},
		{"docs/deploying.md", fmt.Sprintf("(%d s with the defaults)", bound)},
		{"docs/dashboard.md", fmt.Sprintf("revocation bound (%d s by default)", bound)},
		// Metering.
		{"docs/metering.md", fmt.Sprintf("divided by %d, twice its own last block (it starts at 1, so an instance that serves few calls holds few), and %s", meter.FillDivisor, bytesText(meter.MaxBlock))},
		{"docs/metering.md", fmt.Sprintf("when its oldest unwritten count is %s old", map[time.Duration]string{time.Minute: "a minute"}[meter.FlushAge])},
		{"docs/api.md", fmt.Sprintf("requests 1–%s, window 1–%d s", bytesText(policy.MaxRequests), policy.MaxWindowSeconds)},
		// What a local session carries.
		{"docs/local-run.md", fmt.Sprintf("whose logical id `%s` stands in locally for the client id", session.Audience)},
		{"docs/dashboard.md", fmt.Sprintf(`"clientId":"%s"`, session.Audience)},
	}
	for _, f := range figures {
		if !strings.Contains(docText(t, f.doc), f.phrase) {
			t.Errorf("%s does not say %q, which the code and template make true", f.doc, f.phrase)
		}
	}
}

// dashboard/config.example.json has every key docs/dashboard.md's config.json table names, and
// no other.
func TestConfigExampleHasEveryKey(t *testing.T) {
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs/dashboard.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(doc), "### config.json\n")
	var documented []string
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		for _, k := range strings.Split(cells[1], ",") {
			documented = append(documented, strings.Trim(strings.TrimSpace(k), "`"))
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "dashboard/config.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	var example map[string]any
	if err := json.Unmarshal(b, &example); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range example {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Sort(documented)
	if len(documented) == 0 || !slices.Equal(keys, documented) {
		t.Errorf("config.example.json has %v, docs/dashboard.md's table names %v", keys, documented)
	}
}

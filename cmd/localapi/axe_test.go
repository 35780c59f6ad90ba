package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitokens/apitokens/testkit/samtemplate"
)

// axeScript is axe-core as testkit/browser installs it (`npm ci`, which `make test` runs when
// Node is present): the accessibility engine the browser tests load into the page.
var axeScript = filepath.Join("testkit", "browser", "node_modules", "axe-core", "axe.min.js")

// axeSource reads axe-core. Without it the check skips, except under CI=true, where it is
// mandatory as Chromium is.
func axeSource(t *testing.T) string {
	t.Helper()
	root, err := samtemplate.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, axeScript))
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no %s: the accessibility check is mandatory in CI (make test installs it with npm ci; it needs Node)", axeScript)
		}
		t.Skipf("SKIPPED: no %s (install Node and run make test, or npm ci in testkit/browser): the accessibility check did not run", axeScript)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// axeViolation is one rule axe found broken, with the elements that break it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []string `json:"target"`
	} `json:"nodes"`
}

func (v axeViolation) String() string {
	var targets []string
	for _, n := range v.Nodes {
		targets = append(targets, strings.Join(n.Target, " "))
	}
	return v.ID + " (" + v.Impact + ", " + v.Help + "): " + strings.Join(targets, ", ")
}

// axeResult is what axe found: the rules broken, and the ids of the rules it checked and found
// kept (so a test can tell a rule passed from a rule that did not run).
type axeResult struct {
	Violations []axeViolation `json:"violations"`
	Passes     []string       `json:"passes"`
}

// axe loads axe-core (src, from axeSource) into the tab's page, as it stands, and runs it:
// WCAG 2.x A and AA, and axe's best practices, which hold the landmark rule `region`.
func (b *tab) axe(t *testing.T, src string) axeResult {
	t.Helper()
	if !eval[bool](t, b, `typeof window.axe === "object"`) {
		// DevTools evaluation is not the page's script, so the page's CSP does not refuse it.
		b.run(t, "load axe-core", js(src))
	}
	return eval[axeResult](t, b, `axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
		resultTypes: ["violations"],
	}).then(r => ({
		violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => ({target: n.target.map(String)}))})),
		passes: r.passes.map(p => p.id),
	}))`)
}
